"""Reward providers of the search (retrieval-augmented QA) family: answer match, R1-Searcher's
staged format reward, StepSearch's per-step information gain and redundancy penalty, and a
SEM-style search cost.

**The data they read** (the contract with the search environment; every provider is a pure
function of the trajectories):

* ``turn.info["retrieved"]``: the list of document ids (strings) the turn's search returned;
  absent or empty when the turn did not search.
* ``turn.info["queries"]`` (optional): the list of queries the turn sent. When present it
  gives the number of searches of the turn; when absent a turn made one search if its
  ``retrieved`` list is non-empty, none otherwise (see :func:`search_count`).
* ``trajectory.metadata["gold_documents"]``: the list of gold document ids (``D*``).
* ``trajectory.metadata["reference_answer"]``: the answer; ``metadata["answer_aliases"]``
  (optional): a list of other accepted answers.
* The final answer (:func:`final_answer`): ``turn.info["answer"]`` of the last turn when
  present, else the text inside the last ``<answer>…</answer>`` of the last turn's action.
* ``turn.info["error_kind"] == "format"`` marks a turn whose markup failed to parse.

A trajectory lacking the metadata a provider needs gets no component from it (``None`` on every
turn), so the providers run on mixed batches; malformed data (a ``retrieved`` that is not a list
of strings, an empty ``gold_documents``) raises ``ValueError``.

Hand-checked (ALGORITHMS.md, "Rewards of the new families"): pred "The Eiffel Tower, Paris",
gold "Eiffel Tower" → EM 0, F1 0.8; ``D* = {d1, d2}``, ``R_1 = {d1, d5}``,
``R_2 = {d1, d2, d7}``, ``λ = 0.5`` → gains 0.5, 0.5 and penalties 0, −0.1667.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from typing import Sequence

from agentgym.info import ErrorKind
from agentgym.rewards.base import RewardProvider, TurnValues, finite_setting
from agentgym.trajectory import Trajectory, Turn

RETRIEVED_KEY = "retrieved"
QUERIES_KEY = "queries"
ANSWER_INFO_KEY = "answer"
GOLD_DOCUMENTS_KEY = "gold_documents"
REFERENCE_KEY = "reference_answer"
ALIASES_KEY = "answer_aliases"

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)
_OPEN, _CLOSE = "<answer>", "</answer>"


# --------------------------------------------------------------------------- answer matching

def normalise_answer(text: str) -> str:
    """SQuAD's normalisation: lower-case, drop ASCII punctuation, drop the articles
    a / an / the, collapse whitespace (in that order, as the SQuAD v1.1 script does), the text
    first composed (NFC: ``"Zu\u0308rich"``, as a model or a file may spell it, is ``"Zürich"``;
    canonically equivalent texts show the same and match the same)."""
    if not isinstance(text, str):
        raise ValueError(f"an answer must be a string, got {type(text).__name__}")
    lowered = "".join(ch for ch in unicodedata.normalize("NFC", text).lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", lowered).split())


def _golds(gold: str | Sequence[str]) -> list[str]:
    golds = [gold] if isinstance(gold, str) else list(gold)
    if not golds or not all(isinstance(g, str) for g in golds):
        raise ValueError(f"gold answers must be a string or a non-empty list of strings, got {gold!r}")
    return golds


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer (or alias), else 0.0.
    A prediction that normalises to nothing ("the", ".") matches nothing: not even a gold alias
    that normalises to nothing too (noisy data), which would pay an answer that says nothing."""
    predicted = normalise_answer(prediction)
    return float(bool(predicted) and any(predicted == normalise_answer(g) for g in _golds(gold)))


def token_f1(prediction: str, gold: str | Sequence[str]) -> float:
    """SQuAD token F1, the maximum over the gold answers: with ``common`` the multiset
    intersection of normalised tokens, ``P = common/|pred|``, ``R = common/|gold|``,
    ``F1 = 2PR/(P+R)``; 0 when nothing is shared (also for an empty prediction)."""
    predicted = normalise_answer(prediction).split()
    best = 0.0
    for g in _golds(gold):
        reference = normalise_answer(g).split()
        common = sum((Counter(predicted) & Counter(reference)).values())
        if common == 0:
            continue
        precision, recall = common / len(predicted), common / len(reference)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def final_answer(trajectory: Trajectory) -> str | None:
    """The episode's final answer: the last turn's ``info["answer"]`` if it is a string, else
    the text inside the last ``<answer>…</answer>`` of its action; ``None`` when there is none."""
    if not trajectory.turns:
        return None
    last = trajectory.turns[-1]
    recorded = last.info.get(ANSWER_INFO_KEY)
    if isinstance(recorded, str):
        return recorded
    block = _last_answer_block(last.action)
    return None if block is None else block.strip()


def _last_answer_block(text: str) -> str | None:
    """The last of the blocks ``re.findall(r"<answer>(.*?)</answer>", text, re.DOTALL)`` finds,
    by ``str.find`` in one pass: each block runs from an opening tag to the first closing tag
    after it, and once an opening tag has no closing tag after it no later one has (the lazy
    regex retried every later start: quadratic on a repeated unclosed tag)."""
    last, position = None, 0
    while (start := text.find(_OPEN, position)) >= 0:
        end = text.find(_CLOSE, start + len(_OPEN))
        if end < 0:
            break
        last, position = text[start + len(_OPEN):end], end + len(_CLOSE)
    return last


def gold_answers(trajectory: Trajectory) -> list[str] | None:
    """``reference_answer`` followed by ``answer_aliases``; ``None`` without a reference answer."""
    reference = trajectory.metadata.get(REFERENCE_KEY)
    if reference is None:
        return None
    aliases = trajectory.metadata.get(ALIASES_KEY) or []
    if not isinstance(aliases, list):
        raise ValueError(f"metadata[{ALIASES_KEY!r}] must be a list of strings, got {aliases!r}")
    return _golds([reference, *aliases])


class AnswerMatchReward(RewardProvider):
    """EM or token F1 of the final answer against the reference and its aliases, on the last
    turn (``None`` on the others). A missing final answer scores 0.

    Args:
        metric: ``"f1"`` (R1-Searcher's stage-2 answer reward) or ``"em"``.
        name: the component's name (default ``"answer_<metric>"``).
    """

    def __init__(self, metric: str = "f1", *, name: str | None = None) -> None:
        if metric not in ("em", "f1"):
            raise ValueError(f"metric must be 'em' or 'f1', got {metric!r}")
        self.metric = metric
        self.name = name or f"answer_{metric}"

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [self._score(trajectory) for trajectory in trajectories]

    def _score(self, trajectory: Trajectory) -> list[float | None]:
        values: list[float | None] = [None] * len(trajectory.turns)
        golds = gold_answers(trajectory)
        if golds is None or not values:
            return values
        answer = final_answer(trajectory)
        match = exact_match if self.metric == "em" else token_f1
        values[-1] = 0.0 if answer is None else match(answer, golds)
        return values


# --------------------------------------------------------------------------- format (R1-Searcher)

def well_formatted(trajectory: Trajectory) -> bool:
    """Our format check: no turn recorded a format error, every action's ``<think>`` and
    ``<answer>`` tags are balanced, and the episode ends with a non-empty final answer."""
    for turn in trajectory.turns:
        if turn.info.get("error_kind") == ErrorKind.FORMAT.value:
            return False
        for tag in ("think", "answer"):
            if turn.action.count(f"<{tag}>") != turn.action.count(f"</{tag}>"):
                return False
    answer = final_answer(trajectory)
    return answer is not None and answer.strip() != ""


class SearchFormatReward(RewardProvider):
    """R1-Searcher's staged format reward (Song et al., 2025, arXiv 2503.05592), on the last turn.

    * Stage 1 (the "retrieve reward"): ``retrieve_reward`` (0.5) when the episode searched at
      least once *and* is well formatted, else 0.
    * Stage 2: 0 when well formatted, ``-format_penalty`` (−2) otherwise; the answer reward
      (F1, :class:`AnswerMatchReward`) is a separate component to combine with it.

    Deviation: R1-Searcher's format check also asks for a short answer, no garbled text and no
    documents written by the model without a retrieval; ours is :func:`well_formatted`
    (format errors recorded by the environment, balanced tags, a non-empty final answer).
    """

    def __init__(self, stage: int = 2, *, retrieve_reward: float = 0.5, format_penalty: float = 2.0,
                 name: str = "search_format") -> None:
        if stage not in (1, 2):
            raise ValueError(f"stage must be 1 or 2, got {stage!r}")
        self.stage = stage
        self.retrieve_reward = finite_setting("SearchFormatReward", "retrieve_reward", retrieve_reward, minimum=0)
        self.format_penalty = finite_setting("SearchFormatReward", "format_penalty (subtracted)", format_penalty,
                                             minimum=0)
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [self._score(trajectory) for trajectory in trajectories]

    def _score(self, trajectory: Trajectory) -> list[float | None]:
        values: list[float | None] = [None] * len(trajectory.turns)
        if not values:
            return values
        ok = well_formatted(trajectory)
        if self.stage == 1:
            searched = any(search_count(turn) > 0 for turn in trajectory.turns)
            values[-1] = self.retrieve_reward if ok and searched else 0.0
        else:
            values[-1] = 0.0 if ok else -self.format_penalty
        return values


# --------------------------------------------------------------------------- retrieval (StepSearch)

def retrieved_documents(turn: Turn) -> list[str]:
    """The turn's ``info["retrieved"]`` (empty when absent), checked to be a list of strings."""
    retrieved = turn.info.get(RETRIEVED_KEY)
    if retrieved is None:
        return []
    if not isinstance(retrieved, list) or not all(isinstance(doc, str) for doc in retrieved):
        raise ValueError(f"turn {turn.index}: info[{RETRIEVED_KEY!r}] must be a list of document ids "
                         f"(strings), got {retrieved!r}")
    return retrieved


def search_count(turn: Turn) -> int:
    """How many searches the turn made: ``len(info["queries"])`` when recorded, else 1 when
    it retrieved anything, else 0."""
    queries = turn.info.get(QUERIES_KEY)
    if queries is not None:
        if not isinstance(queries, list):
            raise ValueError(f"turn {turn.index}: info[{QUERIES_KEY!r}] must be a list, got {queries!r}")
        return len(queries)
    return 1 if retrieved_documents(turn) else 0


def _gold_documents(trajectory: Trajectory) -> set[str] | None:
    gold = trajectory.metadata.get(GOLD_DOCUMENTS_KEY)
    if gold is None:
        return None
    if not isinstance(gold, list) or not gold or not all(isinstance(doc, str) for doc in gold):
        raise ValueError(f"metadata[{GOLD_DOCUMENTS_KEY!r}] must be a non-empty list of document ids, got {gold!r}")
    return set(gold)


class StepInformationGain(RewardProvider):
    """StepSearch's per-step information gain (our definition, ALGORITHMS.md): on each turn
    that retrieved documents ``R_t``, ``r_t = |(R_t ∖ R_<t) ∩ D*| / |D*|`` with ``R_<t`` every
    document retrieved on earlier turns; ``None`` on turns that retrieved nothing. The gains of
    an episode sum to the fraction of the gold documents it found.

    Deviation: StepSearch (arXiv 2505.15107) rewards the information gained about the gold
    documents by each search step (as we read it, through a graded similarity between retrieved
    and gold documents; not checked against its code); we count exact gold-id hits, which the
    search environment can record, so a step's gain is a fraction of ``D*``.
    """

    def __init__(self, *, name: str = "info_gain") -> None:
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [self._score(trajectory) for trajectory in trajectories]

    def _score(self, trajectory: Trajectory) -> list[float | None]:
        gold = _gold_documents(trajectory)
        values: list[float | None] = [None] * len(trajectory.turns)
        if gold is None:
            return values
        seen: set[str] = set()
        for index, turn in enumerate(trajectory.turns):
            retrieved = set(retrieved_documents(turn))
            if retrieved:
                values[index] = len((retrieved - seen) & gold) / len(gold)
                seen |= retrieved
        return values


class RetrievalRedundancyPenalty(RewardProvider):
    """StepSearch-style redundancy penalty: ``−λ |R_t ∩ R_<t| / |R_t|`` on each turn that
    retrieved documents (``R_t`` as a set), ``None`` on turns that retrieved nothing. Needs no
    gold documents.

    Why not :class:`~agentgym.rewards.RedundancyPenalty`: it charges a fixed amount per
    repeated key (a count), while this penalty is the *fraction* of the turn's documents already
    seen, so a turn's penalty stays in ``[−λ, 0]`` whatever ``k`` the retriever uses. A count
    penalty on documents is ``RedundancyPenalty(p, key=retrieved_documents, name=...)``.
    """

    def __init__(self, weight: float = 0.5, *, name: str = "retrieval_redundancy") -> None:
        self.weight = finite_setting("RetrievalRedundancyPenalty", "weight (λ, subtracted)", weight, minimum=0)
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [self._score(trajectory) for trajectory in trajectories]

    def _score(self, trajectory: Trajectory) -> list[float | None]:
        seen: set[str] = set()
        values: list[float | None] = []
        for turn in trajectory.turns:
            retrieved = set(retrieved_documents(turn))
            if not retrieved:
                values.append(None)
                continue
            values.append(-self.weight * len(retrieved & seen) / len(retrieved))
            seen |= retrieved
        return values


# --------------------------------------------------------------------------- search cost (SEM)

def answer_in_text(answers: Sequence[str], text: str) -> bool:
    """Whether any normalised answer occurs in the normalised text as a whole run of tokens
    ("paris" is in "capital is paris", not in "parisian")."""
    haystack = f" {normalise_answer(text)} "
    return any(needle and f" {needle} " in haystack for needle in (normalise_answer(a) for a in answers))


def answer_in_growing_text(answers: Sequence[str], texts: Sequence[str]) -> list[bool]:
    """``answer_in_text(answers, "\n".join(texts[:k + 1]))`` for every ``k``, in time linear in
    the texts: each text is normalised once (normalising a newline-joined text is joining the
    normalised parts with a space) and searched together with the end of the text before it, as
    long as an answer that spans them can be; once an answer is found it stays found."""
    needles = {f" {needle} " for needle in map(normalise_answer, answers) if needle}
    keep = max(map(len, needles), default=0)
    tail, found, out = " ", False, []
    for text in texts:
        if needles and not found:
            piece = normalise_answer(text if isinstance(text, str) else str(text))
            if piece:
                window = f"{tail}{piece} "
                found = any(needle in window for needle in needles)
                tail = window[-keep:]
        out.append(found)
    return out


class SearchCost(RewardProvider):
    """A SEM-style search cost (after Sha et al., 2025, arXiv 2505.07903): on each turn,
    ``−cost · searches − unnecessary_penalty · [searched and the answer was already in context]``.

    "Already in context" is defined precisely: the reference answer or an alias (normalised as
    :func:`normalise_answer`) occurs as a whole run of tokens in the normalised text the agent had
    seen *before acting on that turn*: ``trajectory.instructions`` and the observations of turns
    ``0..t`` (turn ``t``'s observation is what the agent saw before its action, so it holds the
    earlier searches' results, not this turn's). Turns without a search score 0. Without a
    reference answer only the per-search cost applies.

    Deviation: SEM rewards answering correctly *without* searching on questions the model can
    answer from its own knowledge (its training set mixes MMLU, answerable, and MuSiQue, needing
    retrieval) and penalises redundant searches; the model's own knowledge is not observable
    here, so the penalty uses the observable proxy above, and the accuracy part is left to
    :class:`AnswerMatchReward`.
    """

    def __init__(self, cost: float = 0.05, *, unnecessary_penalty: float = 0.2, name: str = "search_cost") -> None:
        self.cost = finite_setting("SearchCost", "cost (subtracted)", cost, minimum=0)
        self.unnecessary_penalty = finite_setting("SearchCost", "unnecessary_penalty (subtracted)",
                                                  unnecessary_penalty, minimum=0)
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [self._score(trajectory) for trajectory in trajectories]

    def _score(self, trajectory: Trajectory) -> list[float | None]:
        golds = gold_answers(trajectory)
        texts = [trajectory.instructions, *(turn.observation for turn in trajectory.turns)]
        # known[t + 1]: the answer was in the context before turn t's action
        known = answer_in_growing_text(golds, texts) if golds is not None else [False] * len(texts)
        values: list[float | None] = []
        for turn, in_context in zip(trajectory.turns, known[1:]):
            searches = search_count(turn)
            value = -self.cost * searches
            if searches and in_context:
                value -= self.unnecessary_penalty
            values.append(value)
        return values


__all__ = [
    "AnswerMatchReward",
    "RetrievalRedundancyPenalty",
    "SearchCost",
    "SearchFormatReward",
    "StepInformationGain",
    "answer_in_growing_text",
    "answer_in_text",
    "exact_match",
    "final_answer",
    "gold_answers",
    "normalise_answer",
    "retrieved_documents",
    "search_count",
    "token_f1",
    "well_formatted",
]
