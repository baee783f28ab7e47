"""Bring your own questions: NQ-style and HotpotQA-style files as :class:`SearchTask`\\ s.

:func:`read_tasks` reads JSON / JSONL / Parquet files and Hugging Face datasets (whatever
:func:`agentgym.retrieval.sources.iter_records` reads) in one of two shapes:

* **NQ** (also Search-R1's ``nq_search`` / ``nq_hotpotqa_train`` parquet files): a
  ``question`` and the answers in ``answer`` (a string or a list), ``answers``,
  ``golden_answers`` or ``reward_model.ground_truth.target``. The first answer is the
  reference, the others its aliases. No gold documents; one hop; ``kind`` is the row's
  ``data_source`` (Search-R1's name of the source dataset, e.g. ``nq``) or ``"open"``. The
  id is ``id`` | ``_id`` | ``qid``, else ``"{split}-{row number}"``.
* **HotpotQA** (the original JSON files and the Hugging Face ``hotpot_qa`` rows alike):
  ``_id``, ``question``, ``answer``, ``type`` (-> ``kind``: bridge / comparison), ``level``
  (easy / medium / hard -> ``difficulty`` 1 / 2 / 3), ``supporting_facts`` (``[[title,
  sentence index], ...]`` or ``{"title": [...], "sent_id": [...]}``) and ``context``
  (``[[title, [sentences]], ...]`` or ``{"title": [...], "sentences": [...]}``). The gold
  documents are the supporting titles in order of first appearance, ``hops`` their number,
  and each hop's query its title.

``shape="auto"`` looks at the first row: HotpotQA when it has ``supporting_facts`` or a
HotpotQA ``context`` (a list of ``[title, [sentences]]`` paragraphs, or the datasets dict of
``title`` and ``sentences``), NQ when it has an answer field (beside a ``context`` of another
shape, a passage string or a list of them, as in many RAG sets). :func:`hotpotqa_documents`
yields the context paragraphs of a HotpotQA source as documents whose ids are their titles (the
ids the gold documents name), each title once, so one HotpotQA file gives a corpus and its
questions.

Errors: a row without a question or an answer, or of the wrong shape, raises ``ValueError``
naming the source and the row. An answer that exact match cannot compare (only articles or
punctuation, such as ``"A"``: SQuAD's normalisation empties it, so no prediction matches it) is
dropped; a row left without another answer is skipped, with one ``UserWarning`` for the source
(one such row in a large file does not refuse the file).
"""

from __future__ import annotations

import warnings
from typing import Any, Iterator, Sequence

from agentgym.retrieval.base import Document
from agentgym.retrieval.sources import describe_source, iter_records
from agentgym.rewards.search import normalise_answer

from .tasks import SearchTask

SHAPES = ("auto", "nq", "hotpotqa")
HOTPOTQA_LEVELS = {"easy": 1, "medium": 2, "hard": 3}
_NQ_ID_FIELDS = ("id", "_id", "qid")


def read_tasks(source: Any, *, shape: str = "auto", split: str = "train") -> list[SearchTask]:
    """Every question of ``source`` as a :class:`SearchTask` of ``split`` (module docstring)."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty string, got {split!r}")
    where = describe_source(source)
    tasks: list[SearchTask] = []
    skipped: list[tuple[int, str]] = []
    for row_number, row in enumerate(iter_records(source)):
        if shape == "auto":
            shape = detect_shape(row, where)
        convert = _hotpotqa_task if shape == "hotpotqa" else _nq_task
        try:
            tasks.append(convert(row, row_number, split))
        except _Ungradable as exc:
            skipped.append((row_number, exc.answer))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: row {row_number}: {exc}") from None
    if skipped:
        row_number, answer = skipped[0]
        warnings.warn(f"{where}: skipped {len(skipped)} question(s) whose answers exact match cannot compare (only "
                      f"articles or punctuation, which SQuAD's normalisation empties), e.g. row {row_number}: "
                      f"{answer!r:.60}", UserWarning, stacklevel=2)
    return tasks


class _Ungradable(Exception):
    """A row whose every answer normalises to nothing (see the module docstring)."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


def detect_shape(row: dict[str, Any], where: str = "the source") -> str:
    """``"hotpotqa"`` or ``"nq"`` for a first row (module docstring); ``ValueError`` naming its
    fields otherwise."""
    if "question" in row and ("supporting_facts" in row or _is_hotpotqa_context(row.get("context"))):
        return "hotpotqa"
    if "question" in row and (any(k in row for k in ("answer", "answers", "golden_answers"))
                              or _ground_truth_target(row) is not None):
        return "nq"
    raise ValueError(f"{where}: cannot tell the shape of the first row (fields: {sorted(row)}): NQ rows have a "
                     "question and answer / answers / golden_answers, HotpotQA rows a question, answer, "
                     "supporting_facts and context")


def _is_hotpotqa_context(value: Any) -> bool:
    """Whether ``value`` is shaped like a HotpotQA ``context``: paragraphs ``[title, [sentences]]``
    or the datasets dict of ``title`` and ``sentences`` (a RAG set's list of passage strings is
    not: such rows are NQ rows)."""
    if isinstance(value, dict):
        return "title" in value and "sentences" in value
    if isinstance(value, (list, tuple)) and value:
        first = value[0]
        return isinstance(first, (list, tuple)) and len(first) == 2 and isinstance(first[1], (list, tuple))
    return False


def hotpotqa_documents(source: Any) -> Iterator[Document]:
    """The context paragraphs of a HotpotQA ``source`` as documents (id and title: the paragraph's
    title; text: its sentences joined), each title once (its first paragraph), in order."""
    where = describe_source(source)
    seen: set[str] = set()
    for row_number, row in enumerate(iter_records(source)):
        try:
            paragraphs = _context(row.get("context"))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: row {row_number}: {exc}") from None
        for title, sentences in paragraphs:
            if title in seen:
                continue
            text = _join_sentences(sentences)
            if not text:
                continue
            seen.add(title)
            yield Document(id=title, title=title, text=text)


# -- NQ ------------------------------------------------------------------------------------------

def _nq_task(row: dict[str, Any], row_number: int, split: str) -> SearchTask:
    answers = _answers(row)
    if not answers:
        raise ValueError(f"no answer (looked for answer, answers, golden_answers, reward_model.ground_truth.target; "
                         f"fields: {sorted(row)})")
    gradable = [answer for answer in answers if normalise_answer(answer)]
    if not gradable:
        raise _Ungradable(answers[0])
    answers = gradable
    qid = next((str(row[k]) for k in _NQ_ID_FIELDS if row.get(k) not in (None, "")), f"{split}-{row_number}")
    source_name = row.get("data_source")
    kind = source_name if isinstance(source_name, str) and source_name else "open"
    return SearchTask(qid=qid, question=_question(row), answer=answers[0], aliases=tuple(answers[1:]), kind=kind,
                      hops=1, split=split)


def _answers(row: dict[str, Any]) -> list[str]:
    for key in ("answer", "answers", "golden_answers"):
        if row.get(key) is not None:
            return _strings(row[key], key)
    target = _ground_truth_target(row)
    return _strings(target, "reward_model.ground_truth.target") if target is not None else []


def _ground_truth_target(row: dict[str, Any]) -> Any:
    reward_model = row.get("reward_model")
    if not isinstance(reward_model, dict):
        return None
    truth = reward_model.get("ground_truth")
    return truth.get("target") if isinstance(truth, dict) else None


def _strings(value: Any, key: str) -> list[str]:
    """Non-empty answer strings of ``value`` (a string or a sequence of them), stripped, in order."""
    if isinstance(value, str):
        items: Sequence[Any] = [value]
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        items = list(value)
    else:
        raise ValueError(f"{key} must be a string or a list of strings, got {type(value).__name__}")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{key} holds {item!r:.60}, not a string")
        if item.strip():
            out.append(item.strip())
    return list(dict.fromkeys(out))


def _question(row: dict[str, Any]) -> str:
    question = row.get("question")
    if question is not None and not isinstance(question, str):
        raise ValueError(f"the question must be a non-empty string, got {type(question).__name__} {question!r:.60}")
    if question is None or not question.strip():
        raise ValueError(f"no question (fields: {sorted(row)})")
    return question.strip()


# -- HotpotQA ------------------------------------------------------------------------------------

def _hotpotqa_task(row: dict[str, Any], row_number: int, split: str) -> SearchTask:
    answer = row.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError(f"no answer (fields: {sorted(row)})")
    if not normalise_answer(answer):
        raise _Ungradable(answer.strip())
    gold = list(dict.fromkeys(title for title, _ in _supporting_facts(row.get("supporting_facts"))))
    kind = row.get("type")
    level = row.get("level")
    qid = row.get("_id", row.get("id"))
    return SearchTask(qid=str(qid) if qid not in (None, "") else f"{split}-{row_number}", question=_question(row),
                      answer=answer.strip(), gold_documents=tuple(gold), hop_queries=tuple(gold),
                      kind=kind if isinstance(kind, str) and kind else "open", hops=max(len(gold), 1),
                      difficulty=HOTPOTQA_LEVELS.get(level, 1) if isinstance(level, str) else 1, split=split)


def _supporting_facts(value: Any) -> list[tuple[str, int]]:
    """``[[title, sent_idx], ...]`` or HF's ``{"title": [...], "sent_id": [...]}`` -> pairs."""
    if value is None:
        return []
    if isinstance(value, dict):
        titles, sent_ids = value.get("title"), value.get("sent_id")
        if not isinstance(titles, (list, tuple)) or not isinstance(sent_ids, (list, tuple)) \
                or len(titles) != len(sent_ids):
            raise ValueError("supporting_facts as a dict needs 'title' and 'sent_id' lists of one length")
        pairs = list(zip(titles, sent_ids))
    elif isinstance(value, (list, tuple)):
        pairs = []
        for fact in value:
            if not isinstance(fact, (list, tuple)) or len(fact) != 2:
                raise ValueError(f"a supporting fact must be [title, sentence index], got {fact!r:.80}")
            pairs.append((fact[0], fact[1]))
    else:
        raise ValueError(f"supporting_facts must be a list or a dict, got {type(value).__name__}")
    for title, _ in pairs:
        if not isinstance(title, str) or not title:
            raise ValueError(f"a supporting fact's title must be a non-empty string, got {title!r:.80}")
    return pairs


def _context(value: Any) -> list[tuple[str, list[str]]]:
    """``[[title, [sentences]], ...]`` or HF's ``{"title": [...], "sentences": [...]}`` -> pairs."""
    if value is None:
        raise ValueError("no context: HotpotQA documents come from the context paragraphs")
    if isinstance(value, dict):
        titles, sentences = value.get("title"), value.get("sentences")
        if not isinstance(titles, (list, tuple)) or not isinstance(sentences, (list, tuple)) \
                or len(titles) != len(sentences):
            raise ValueError("context as a dict needs 'title' and 'sentences' lists of one length")
        pairs = list(zip(titles, sentences))
    elif isinstance(value, (list, tuple)):
        pairs = []
        for paragraph in value:
            if not isinstance(paragraph, (list, tuple)) or len(paragraph) != 2:
                raise ValueError(f"a context paragraph must be [title, [sentences]], got {paragraph!r:.80}")
            pairs.append((paragraph[0], paragraph[1]))
    else:
        raise ValueError(f"context must be a list or a dict, got {type(value).__name__}")
    out = []
    for title, sentences in pairs:
        if not isinstance(title, str) or not title:
            raise ValueError(f"a context paragraph's title must be a non-empty string, got {title!r:.80}")
        if not isinstance(sentences, (list, tuple)) or not all(isinstance(s, str) for s in sentences):
            raise ValueError(f"the sentences of {title!r} must be a list of strings")
        out.append((title, list(sentences)))
    return out


def _join_sentences(sentences: list[str]) -> str:
    """HotpotQA's sentences carry their own leading spaces (" Second one."); join them as they
    are, adding a space only where two would touch."""
    text = ""
    for sentence in sentences:
        if text and sentence and not text[-1].isspace() and not sentence[0].isspace():
            text += " "
        text += sentence
    return text.strip()
