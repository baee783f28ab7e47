"""Rubric judges: any :class:`~agentgym.policies.base.Policy` grades the agent's work against
weighted criteria, and the weighted mean of its parsed scores is the reward component.

::

    judge = RubricJudge(policy, [Criterion("correctness", "The final answer names the right condition.", 2.0),
                                 Criterion("efficiency", "No question was asked twice.")])
    judge(trajectories)            # or: await judge.acall(trajectories) inside an event loop

**The component.** Criterion ``i`` gets a score ``s_i ∈ [0, 1]`` (the judge's ``k/scale``,
see :func:`parse_scores`) and weight ``w_i ≥ 0``; the component is

    r = Σ_i w_i s_i / Σ_i w_i

With ``scope="episode"`` (the default) one judgement per trajectory, on its final turn (``None``
on the others); with ``scope="turn"`` every turn is judged on its own.

**The prompt** (:meth:`RubricJudge.messages`): a system message (``instructions``) and one user
message from ``template``, a :meth:`str.format` string with the fields ``{task}`` (the
trajectory's ``instructions``), ``{transcript}`` (episode scope: every turn's observation and
action; turn scope: the judged turn, after ``history_turns`` earlier ones), ``{reference}``
(``metadata["reference_answer"]`` when present and ``show_reference``), ``{criteria}`` (one
line per criterion with its weight and description) and ``{reply_format}`` (the lines the judge
must end with). A field with nothing to show is the empty string; every non-empty one ends with
a blank line. Each observation and action is clipped to ``max_chars`` (head and tail kept). The
reference answer goes to the judge only, never to the agent being judged.

**What is recorded.** Each judgement, on the turn that carries it, in
``turn.info[name]`` (``name`` is the provider's, ``"judge"`` by default; episode scope: the final
turn)::

    {"judge": "gpt-4o-mini", "scope": "episode", "text": "<the judge's reply>",
     "scores": {"correctness": 0.7}, "score": 0.7, "error": None}

**Failures never crash.** A reply that does not score every criterion, a generation with an
error, a policy that raises: the turn gets ``failure_value`` (``None`` by default, so no
component: a broken judge is no evidence against the agent) and the record says why in
``error`` (with whatever was parsed in ``scores``). All judgements of a call go to the policy as
one batch (one ``agenerate`` call).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import math
import numbers
import re
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from agentgym.core import ConfigError
from agentgym.event_loops import run_sync
from agentgym.rewards.base import RewardProvider, TurnValues, write_component
from agentgym.trajectory import Trajectory, Turn

if TYPE_CHECKING:  # policies import torch lazily; the rewards core must not import them
    from agentgym.policies.base import Generation, Policy, SamplingParams

REFERENCE_KEY = "reference_answer"

DEFAULT_INSTRUCTIONS = (
    "You are a careful, impartial judge of an AI agent's work. Grade it on each criterion below, "
    "from 0 (not met at all) to {scale} (fully met), judging only what the transcript shows. "
    "Be brief."
)

DEFAULT_TEMPLATE = "{task}{transcript}{reference}Criteria:\n{criteria}\n\n{reply_format}"

TEMPLATE_FIELDS = ("task", "transcript", "reference", "criteria", "reply_format")

#: A reply longer than this is parsed from its end (scores come last).
MAX_PARSED_CHARS = 20_000
_MAX_JSON_STARTS = 64


# ------------------------------------------------------------------ criteria

@dataclass(frozen=True)
class Criterion:
    """One thing the judge grades.

    Attributes:
        name: how the judge names it in its reply (``"correctness"``); letters, digits, spaces,
            ``_`` and ``-``, starting with a letter.
        description: what earns a full score, in the judge's prompt.
        weight: its share of the component (``≥ 0``; a weight of 0 is graded and recorded
            but does not count).
    """

    name: str
    description: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9 _\-]*", self.name.strip()):
            raise ConfigError(f"Criterion.name must start with a letter and hold only letters, digits, spaces, "
                              f"'_' and '-', got {self.name!r}")
        if not isinstance(self.description, str):
            raise ConfigError(f"Criterion {self.name!r}: description must be a string, got {self.description!r}")
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not (math.isfinite(weight)
                                                                                   and weight >= 0):
            raise ConfigError(f"Criterion {self.name!r}: weight must be a finite number >= 0, got {weight!r}")
        object.__setattr__(self, "name", self.name.strip())
        object.__setattr__(self, "weight", float(weight))


def _criteria_from(criteria: Iterable[Criterion | tuple]) -> tuple[Criterion, ...]:
    if isinstance(criteria, (str, Criterion)):
        criteria = [criteria]
    out = []
    for item in criteria:
        if isinstance(item, Criterion):
            out.append(item)
        elif isinstance(item, tuple) and 2 <= len(item) <= 3:
            out.append(Criterion(*item))
        else:
            raise ConfigError(f"criteria must be Criterion objects or (name, description[, weight]) tuples, "
                              f"got {item!r}")
    if not out:
        raise ConfigError("a rubric needs at least one criterion")
    keys = [_key(c.name) for c in out]
    duplicates = sorted({c.name for c, k in zip(out, keys) if keys.count(k) > 1})
    if duplicates:
        raise ConfigError(f"criteria names must differ (ignoring case, spaces, '_' and '-'): {duplicates}")
    if sum(c.weight for c in out) <= 0:
        raise ConfigError("at least one criterion needs a weight > 0")
    return tuple(out)


def _key(name: str) -> str:
    """``"Final_Answer"``, ``"final answer"`` and ``"final-answer"`` are one name."""
    return " ".join(re.split(r"[\s_\-]+", name.strip().lower())).strip()


# ------------------------------------------------------------------ parsing a reply

@dataclass(frozen=True)
class ParsedScores:
    """What :func:`parse_scores` read from one reply.

    Attributes:
        scores: the criteria it found a valid score for, normalised to ``[0, 1]``.
        missing: the criteria without a valid score, in rubric order.
        problems: why a score that was there was refused (``"style: 12/10 is outside [0, 1]"``).
        source: where the scores came from: ``"json"``, ``"lines"``, ``"json+lines"`` (some from
            each) or ``""`` (nothing found).
    """

    scores: dict[str, float]
    missing: tuple[str, ...]
    problems: tuple[str, ...] = ()
    source: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def error(self) -> str | None:
        """``None`` when every criterion was scored, else one line saying what went wrong."""
        if self.ok:
            return None
        parts = [f"no valid score for {', '.join(repr(m) for m in self.missing)}", *self.problems]
        return "; ".join(parts)

    def weighted_mean(self, criteria: Sequence[Criterion]) -> float | None:
        """``Σ w_i s_i / Σ w_i``; ``None`` unless every criterion was scored."""
        if not self.ok:
            return None
        total = sum(c.weight for c in criteria)
        return sum(c.weight * self.scores[c.name] for c in criteria) / total


class _Refused(ValueError):
    """A score that is there but not valid (out of range, a zero denominator)."""


_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
# A number followed by more of one ("0,8", "1,000", "1e3", "8.5.1") is captured whole in ``more``
# and refused: reading its first part would take 0 or 1 for it.
_VALUE = (rf"(?P<neg>[-\u2212])?(?P<num>{_NUMBER})(?!\d)(?P<more>(?:[.,]\d|[eE][+\-]?\d)[\d.,eE+\-]*)?"
          rf"(?:\s*(?:/|out\s+of\b|of\b)\s*(?P<den>{_NUMBER}))?(?:\s*(?P<pct>%))?")
# Between a name and its value: a parenthesised or bracketed aside without a score in it
# ("(weight 2)"), the criterion's weight echoed from the prompt without brackets ("weight 2",
# "weight: 1.5"), an opening bracket right before a score ("[7/10]"), or characters that are
# neither digits nor '/' nor line ends (so an echoed "name: <score>/10" reads as nothing), nor a
# '-' right before a digit (that is a sign).
_FILLER = (r"(?:\([^()\n/%]{0,60}\)|\[[^\[\]\n/%]{0,60}\]"
           rf"|(?<![A-Za-z])weight\s*[:=]?\s*(?:{_NUMBER})(?!\d|\.\d|\s*/)"
           r"|[(\[](?=\s*\d)|[^\d\n/\-(\[]|-(?!\d)){0,60}?")
_BULLETS = re.compile(r"[\s\-*#>•·_.)(\d]*")
_GENERIC_NAMES = ("final score", "overall score", "total score", "score", "rating", "grade", "overall")
_MARKUP = str.maketrans("", "", "*`#")


def _name_pattern(name: str) -> str:
    return r"[\s_\-]+".join(re.escape(token) for token in re.split(r"[\s_\-]+", name.strip()) if token)


def _to_unit(raw: str, number: float, denominator: float | None, percent: bool, decimal: bool,
             scale: float) -> float:
    """A score as a fraction of the maximum: ``k/d`` and ``p%`` as written; a bare integer on the
    judge's ``scale``; a bare decimal as a fraction when ``≤ 1``, else on the scale."""
    if percent:
        unit = number / 100
    elif denominator is not None:
        if denominator <= 0:
            raise _Refused(f"{_shown(raw)} divides by {denominator:g}")
        unit = number / denominator
    elif decimal and number <= 1:
        unit = number
    else:
        unit = number / scale
    if not (math.isfinite(unit) and 0 <= unit <= 1):
        raise _Refused(f"{_shown(raw)} is outside [0, 1] once normalised")
    return unit


def _shown(raw: str, limit: int = 40) -> str:
    """``raw`` quoted for a problem message, cut to ``limit`` characters (a judge may write a
    number of hundreds of digits, which every record would otherwise carry whole)."""
    return repr(raw) if len(raw) <= limit else repr(raw[:limit]) + f"... ({len(raw)} characters)"


def _read_value(match: re.Match[str], scale: float) -> float:
    raw = match.string[match.start("neg") if match.group("neg") else match.start("num"):match.end()].strip()
    if match.group("more"):
        raise _Refused(f"{_shown(raw)} is not a score (a decimal comma, a thousands separator or an exponent)")
    number = float(match.group("num")) * (-1 if match.group("neg") else 1)
    denominator = float(match.group("den")) if match.group("den") else None
    return _to_unit(raw, number, denominator, bool(match.group("pct")), "." in match.group("num"), scale)


def _from_lines(text: str, names: Sequence[str], scale: float,
                generic: bool) -> tuple[dict[str, float], list[str]]:
    """The last score written after each name; a match at the start of a line with ':' or '='
    before its value beats one inside prose. A match that reaches its value across another
    criterion's name is that criterion's score, not this one's: ``style`` does not read
    ``style consistency: 8/10``, nor ``accuracy`` the 8 of ``accuracy: not graded; clarity: 8/10``."""
    scores: dict[str, float] = {}
    problems: list[str] = []
    mentions = {name: _mentions(text, name) for name in names}
    for name in names:
        others = sorted(span for other in names if other != name for span in mentions[other])
        longest = max((e - s for s, e in others), default=0)
        patterns = [_name_pattern(name)] + ([_name_pattern(g) for g in _GENERIC_NAMES] if generic else [])
        best = None
        for pattern in patterns:
            matches = [m for m in _score_regex(pattern).finditer(text) if not _crosses(m, others, longest)]
            if not matches:
                continue
            strong = [m for m in matches if _starts_line(text, m) and re.search(r"[:=]", m.group("fill"))]
            best = (strong or matches)[-1]
            break
        if best is None and generic:
            bare = re.fullmatch(rf"\s*{_VALUE}\s*\.?\s*", text)
            best = bare
        if best is None:
            continue
        try:
            scores[name] = _read_value(best, scale)
        except _Refused as exc:
            problems.append(f"{name}: {exc}")
    return scores, problems


_TABLE_ROW = re.compile(r"\s*\|(.*)\|\s*")
_TABLE_RULE = re.compile(r"\s*:?-+:?\s*")
_SCORE_HEADER = re.compile(r"\s*(?:final\s+|overall\s+)?(?:score|rating|grade)\b", re.IGNORECASE)
_ASIDES = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def _from_tables(text: str, names: Sequence[str], scale: float) -> tuple[dict[str, float], list[str]]:
    """Scores from markdown tables with a score column (a header cell ``Score``, ``Rating`` or
    ``Grade``): the row whose cell before that column names a criterion (asides in brackets
    aside) has its score in that column, whatever other numbers the row holds (a ``Weight``
    column's ``2`` is not a score of 2). The last such row per criterion counts."""
    scores: dict[str, float] = {}
    problems: list[str] = []
    keys = {_key(name): name for name in names}
    column: int | None = None
    for line in text.splitlines():
        row = _TABLE_ROW.fullmatch(line)
        if row is None:
            column = None  # the table ended
            continue
        cells = row.group(1).split("|")
        if all(_TABLE_RULE.fullmatch(cell) for cell in cells):
            continue
        named = [keys[_key(_ASIDES.sub("", cell))] for cell in cells if _key(_ASIDES.sub("", cell)) in keys]
        if not named:
            headers = [i for i, cell in enumerate(cells) if _SCORE_HEADER.match(cell)]
            column = headers[-1] if headers else column
            continue
        if column is None or column >= len(cells) or len(named) != 1 or _key(_ASIDES.sub("", cells[column])) in keys:
            continue
        value = re.fullmatch(rf"\s*{_VALUE}\s*", cells[column])
        if value is None:
            continue
        try:
            scores[named[0]] = _read_value(value, scale)
        except _Refused as exc:
            problems.append(f"{named[0]}: {exc}")
    return scores, problems


def _mentions(text: str, name: str) -> list[tuple[int, int]]:
    """Where ``name`` stands in ``text`` as a whole name, as ``(start, end)`` spans."""
    pattern = rf"(?<![A-Za-z0-9]){_name_pattern(name)}(?![A-Za-z0-9])"
    return [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]


def _crosses(match: re.Match[str], others: Sequence[tuple[int, int]], longest: int) -> bool:
    """Whether another criterion's name (``others``: sorted spans, none longer than ``longest``)
    overlaps the match's name or filler without lying inside the match's own name (``style``
    inside ``style consistency`` belongs to the longer name)."""
    start, end = match.start("name"), match.end("name")
    first = bisect.bisect_left(others, (start - longest, 0))
    last = bisect.bisect_left(others, (match.end("fill"), 0))
    return any(e > start and not (start <= s and e <= end) for s, e in others[first:last])


@functools.lru_cache(maxsize=256)
def _score_regex(name_pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9])(?P<name>{name_pattern})(?![A-Za-z0-9])(?P<fill>{_FILLER}){_VALUE}",
                      re.IGNORECASE)


def _starts_line(text: str, match: re.Match[str]) -> bool:
    line_start = text.rfind("\n", 0, match.start()) + 1
    return _BULLETS.fullmatch(text[line_start:match.start()]) is not None


def _json_objects(text: str) -> list[dict]:
    decoder = json.JSONDecoder()
    found = []
    for brace in itertools.islice(re.finditer(r"\{", text), _MAX_JSON_STARTS):
        try:
            value, _ = decoder.raw_decode(text, brace.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _from_json(text: str, names: Sequence[str], scale: float) -> tuple[dict[str, float], list[str]]:
    """Scores from the last JSON object naming any criterion (or holding them under ``scores``)."""
    wanted = {_key(name): name for name in names}
    for obj in reversed(_json_objects(text)):
        if isinstance(obj.get("scores"), dict):
            obj = obj["scores"]
        entries = {wanted[_key(k)]: v for k, v in obj.items() if isinstance(k, str) and _key(k) in wanted}
        if not entries:
            continue
        scores: dict[str, float] = {}
        problems: list[str] = []
        for name, value in entries.items():
            try:
                scores[name] = _json_value(value, scale)
            except _Refused as exc:
                problems.append(f"{name}: {exc}")
        return scores, problems
    return {}, []


def _json_value(value: Any, scale: float) -> float:
    if isinstance(value, dict) and "score" in value:
        value = value["score"]
    if isinstance(value, bool) or value is None:
        raise _Refused(f"{value!r} is not a score")
    if isinstance(value, int):
        # An integer too large for a float (JSON allows any) is infinite, so refused, not raised.
        number = float(value) if abs(value) < 2**1023 else (math.inf if value > 0 else -math.inf)
        return _to_unit(str(value), number, None, False, False, scale)
    if isinstance(value, float):
        return _to_unit(repr(value), value, None, False, True, scale)
    if isinstance(value, str):
        match = re.fullmatch(rf"\s*{_VALUE}\s*", value)
        if match is None:
            raise _Refused(f"{value[:40]!r} is not a score")
        return _read_value(match, scale)
    raise _Refused(f"{str(value)[:40]!r} is not a score")


def parse_scores(text: str, criteria: Sequence[Criterion | str], *, scale: float = 10) -> ParsedScores:
    """Read one score per criterion from a judge's reply. Never raises for any text.

    Accepted shapes (names matched ignoring case, markdown ``*`` `` ` `` ``#``, and ``_`` / ``-``
    / spaces between words):

    * a JSON object anywhere in the reply, ``{"correctness": 7, "style": "8/10"}``, possibly
      under ``"scores"`` or with ``{"score": 7}`` values (the last object naming a criterion);
    * lines ``correctness: 7/10``, ``- **Correctness** (weight 2): 7 / 10``, ``style = 0.8``,
      ``style: 80%``, ``style: 8 out of 10``, ``style score is 8`` (the last one per criterion;
      one at the start of a line with ``:`` or ``=`` is preferred over one in prose; a score
      is never read across another criterion's name, so ``style`` and ``style consistency``
      each read their own line);
    * a markdown table with a ``Score`` (or ``Rating``, ``Grade``) column: each criterion's row
      is read in that column, not at its first number (``| correctness | 2 | 8/10 |`` under
      ``| Criterion | Weight | Score |`` is 8/10); these count as line scores;
    * with a single criterion, also ``Score: 7/10``, ``Rating: 7``, or a reply that is only
      ``7/10``.

    Values: ``k/d`` and ``p%`` as written; a bare integer is on ``scale`` (``7`` → 0.7 with
    ``scale=10``); a bare decimal ``≤ 1`` is a fraction (``0.7``), a larger one is on the scale
    (``7.5`` → 0.75). A value outside ``[0, 1]`` once normalised (``12/10``, ``-1``, ``−1``) is
    refused and the criterion counts as missing, and so is a number written with a decimal comma,
    a thousands separator or an exponent (``0,8``, ``1,000``, ``1e3``): never read in part.
    JSON scores win over line scores for the same criterion.
    """
    names = [c.name if isinstance(c, Criterion) else str(c) for c in criteria]
    if not isinstance(text, str):
        return ParsedScores({}, tuple(names), (f"the reply is {type(text).__name__}, not text",))
    text = text[-MAX_PARSED_CHARS:].translate(_MARKUP)
    line_scores, line_problems = _from_lines(text, names, scale, generic=len(names) == 1)
    table_scores, table_problems = _from_tables(text, names, scale)
    line_scores.update(table_scores)  # a table row read as a line takes its first number
    line_problems = table_problems + [p for p in line_problems if p.split(":", 1)[0] not in table_scores]
    json_scores, json_problems = _from_json(text, names, scale)
    scores = {**line_scores, **json_scores}
    sources = [label for label, found in (("json", json_scores), ("lines", set(line_scores) - set(json_scores)))
               if found]
    problems = [p for p in json_problems + line_problems if p.split(":", 1)[0] not in scores]
    missing = tuple(name for name in names if name not in scores)
    return ParsedScores({name: scores[name] for name in names if name in scores}, missing,
                        tuple(dict.fromkeys(problems)), "+".join(sources))


# ------------------------------------------------------------------ the judge

def _clip(text: Any, limit: int) -> str:
    text = str(text)
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - limit} characters cut ...]\n{text[-tail:]}"


@dataclass
class _Target:
    trajectory: int
    turn: int
    messages: list[dict[str, str]] = field(default_factory=list)


class RubricJudge(RewardProvider):
    """A policy grades trajectories on weighted criteria (see the module docstring).

    Args:
        policy: the judge, any :class:`~agentgym.policies.base.Policy`.
        criteria: :class:`Criterion` objects or ``(name, description[, weight])`` tuples.
        sampling: how the judge samples, a ``SamplingParams`` (default: greedy, 256 tokens,
            no log-probs).
        scope: ``"episode"`` (one judgement per trajectory, on its final turn) or ``"turn"``.
        instructions: the system message; ``{scale}`` is replaced by ``scale``.
        template: the user message (fields in the module docstring).
        show_reference: show ``metadata["reference_answer"]`` to the judge when present.
        scale: the maximum score the judge is asked for (``k/scale``).
        history_turns: in turn scope, how many earlier turns are shown before the judged one.
        max_chars: each observation and action in the transcript is clipped to this length.
        failure_value: the component of a turn whose judgement failed (``None``: none).
        name: the component's name, and the ``turn.info`` key of the judgements.
    """

    def __init__(self, policy: "Policy", criteria: Iterable[Criterion | tuple], *,
                 sampling: "SamplingParams | None" = None, scope: Literal["episode", "turn"] = "episode",
                 instructions: str = DEFAULT_INSTRUCTIONS, template: str = DEFAULT_TEMPLATE,
                 show_reference: bool = True, scale: float = 10, history_turns: int = 0,
                 max_chars: int = 2000, failure_value: float | None = None, name: str = "judge") -> None:
        from agentgym.policies.base import Policy, SamplingParams

        if not isinstance(policy, Policy):
            raise ConfigError(f"RubricJudge needs a Policy as its judge, got {type(policy).__name__}")
        if scope not in ("episode", "turn"):
            raise ConfigError(f"scope must be 'episode' or 'turn', got {scope!r}")
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not (math.isfinite(scale) and scale > 0):
            raise ConfigError(f"scale must be a finite number > 0, got {scale!r}")
        for label, value, low in (("history_turns", history_turns, 0), ("max_chars", max_chars, 16)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{label} must be an integer >= {low}, got {value!r}")
        if failure_value is not None and (isinstance(failure_value, bool) or not isinstance(failure_value, numbers.Real)
                                          or not math.isfinite(failure_value)):
            raise ConfigError(f"failure_value must be None or a finite number, got {failure_value!r}")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"name must be a non-empty string, got {name!r}")
        if sampling is not None and not isinstance(sampling, SamplingParams):
            # Taken, it would fail every judgement at generation: recorded, never raised.
            raise ConfigError(f"sampling must be a SamplingParams (or None for greedy, 256 tokens), "
                              f"got {type(sampling).__name__}: write SamplingParams(max_tokens=..., ...)")
        if not isinstance(instructions, str):
            raise ConfigError(f"instructions must be a string (the system message), got {instructions!r:.80}")
        _check_template(template)
        self.policy = policy
        self.criteria = _criteria_from(criteria)
        self.sampling = sampling or SamplingParams(max_tokens=256, temperature=0.0, logprobs=False)
        self.scope = scope
        self.instructions = instructions.replace("{scale}", f"{scale:g}")
        self.template = template
        self.show_reference = show_reference
        self.scale = float(scale)
        self.history_turns = history_turns
        self.max_chars = max_chars
        self.failure_value = None if failure_value is None else float(failure_value)
        self.name = name

    # ---------------------------------------------------------------- prompt
    def messages(self, trajectory: Trajectory, turn: int | None = None) -> list[dict[str, str]]:
        """The judge's conversation for ``trajectory`` (episode scope) or for its turn ``turn``."""
        if turn is None:
            shown = [(t, False) for t in trajectory.turns]
        else:
            first = max(0, turn - self.history_turns)
            shown = [(t, i == turn) for i, t in enumerate(trajectory.turns[first:turn + 1], start=first)]
        task = str(trajectory.instructions or "").strip()
        reference = trajectory.metadata.get(REFERENCE_KEY)
        fields = {
            "task": f"The agent's task:\n{_clip(task, self.max_chars)}\n\n" if task else "",
            "transcript": self._transcript(shown, judged_turn=turn),
            "reference": (f"Reference answer (for you only; the agent never saw it): {reference}\n\n"
                          if self.show_reference and isinstance(reference, str) and reference.strip() else ""),
            "criteria": "\n".join(f"- {c.name} (weight {c.weight:g}): {c.description}" for c in self.criteria),
            "reply_format": ("End your reply with one line per criterion, each a whole number from 0 to "
                             f"{self.scale:g}, exactly like this:\n"
                             + "\n".join(f"{c.name}: <score>/{self.scale:g}" for c in self.criteria)),
        }
        return [{"role": "system", "content": self.instructions},
                {"role": "user", "content": self.template.format(**fields)}]

    def _transcript(self, shown: list[tuple[Turn, bool]], judged_turn: int | None) -> str:
        if not shown:
            return "The agent took no turns.\n\n"
        blocks = []
        for turn, judged in shown:
            label = f"Turn {turn.index + 1}" + (" (the turn to judge)" if judged else "")
            block = (f"## {label}\nThe agent saw:\n{_clip(turn.observation, self.max_chars)}\n"
                     f"The agent did:\n{_clip(turn.action, self.max_chars)}\n")
            if turn.error:
                block += f"(The environment rejected this action: {_clip(turn.error, self.max_chars)})\n"
            blocks.append(block)
        title = "The conversation:" if judged_turn is None else "The turn to judge:"
        return f"{title}\n" + "\n".join(blocks) + "\n"

    # ---------------------------------------------------------------- scoring
    def targets(self, trajectories: Sequence[Trajectory]) -> list[_Target]:
        """Every judgement to make, with its conversation, in batch order."""
        out = []
        for i, trajectory in enumerate(trajectories):
            if not trajectory.turns:
                continue
            if self.scope == "episode":
                out.append(_Target(i, len(trajectory.turns) - 1, self.messages(trajectory)))
            else:
                out.extend(_Target(i, t, self.messages(trajectory, t)) for t in range(len(trajectory.turns)))
        return out

    async def ascore(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        """The component per turn (as :meth:`score`), for callers inside an event loop; records
        every judgement in ``turn.info[name]``."""
        from agentgym.policies.base import Request

        values: TurnValues = [[None] * len(t.turns) for t in trajectories]
        targets = self.targets(trajectories)
        if not targets:
            return values
        failure: str | None = None
        generations: list[Any] = [None] * len(targets)
        try:
            result = await self.policy.agenerate([Request(target.messages) for target in targets], self.sampling)
            if not isinstance(result, list):
                raise RuntimeError(f"the judge returned a {type(result).__name__}, not a list of "
                                   f"{len(targets)} generations")
            if len(result) != len(targets):
                raise RuntimeError(f"the judge returned {len(result)} generations for {len(targets)} requests")
            generations = result
        except Exception as exc:  # noqa: BLE001 - a failing judge must not end training
            failure = f"{type(exc).__name__}: {exc}"
        for target, generation in zip(targets, generations):
            record = self._record(generation, failure)
            trajectories[target.trajectory].turns[target.turn].info[self.name] = record
            score = record["score"]
            values[target.trajectory][target.turn] = score if score is not None else self.failure_value
        return values

    def _record(self, generation: "Generation | None", failure: str | None) -> dict[str, Any]:
        record: dict[str, Any] = {"judge": getattr(self.policy, "name", type(self.policy).__name__),
                                  "scope": self.scope, "text": None, "scores": {}, "score": None, "error": None}
        if failure is not None:
            record["error"] = f"the judge failed: {failure}"
            return record
        if not hasattr(generation, "text"):  # duck-typed: anything with the Generation fields it reads
            record["error"] = f"the judge returned {type(generation).__name__}, not a Generation"
            return record
        text = getattr(generation, "text", None)
        record["text"] = text if isinstance(text, str) else None
        if getattr(generation, "error", None) is not None or getattr(generation, "finish_reason", None) == "error":
            record["error"] = f"the judge failed: {getattr(generation, 'error', None) or 'generation error'}"
            return record
        parsed = parse_scores(record["text"], self.criteria, scale=self.scale)
        record["scores"] = parsed.scores
        record["score"] = parsed.weighted_mean(self.criteria)
        if parsed.error is not None:
            record["error"] = f"unparsable judgement: {parsed.error}"
        return record

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        """Synchronous :meth:`ascore` (``asyncio.run``); inside a running event loop, await
        :meth:`ascore` or :meth:`acall` instead."""
        return run_sync(self.ascore(trajectories), f"{type(self).__name__} was called inside a running event loop: "
                                                   "await judge.acall(trajectories) (or judge.ascore) instead")

    async def acall(self, trajectories: Sequence[Trajectory]) -> None:
        """``provider(trajectories)`` for callers inside an event loop: judge, then write the
        component."""
        write_component(trajectories, self.name, await self.ascore(trajectories))

    def __repr__(self) -> str:
        names = ", ".join(f"{c.name}×{c.weight:g}" for c in self.criteria)
        return f"RubricJudge(name={self.name!r}, scope={self.scope!r}, criteria=[{names}])"


def _check_template(template: str) -> None:
    if not isinstance(template, str):
        raise ConfigError(f"template must be a str.format string, got {type(template).__name__}")
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"template is not a valid str.format string: {exc}") from None
    unknown = sorted(name for name in used if name not in TEMPLATE_FIELDS)
    if unknown:
        raise ConfigError(f"template uses unknown fields {unknown}; the fields are {list(TEMPLATE_FIELDS)} "
                          "(write literal braces as '{{' and '}}')")


__all__ = [
    "Criterion",
    "DEFAULT_INSTRUCTIONS",
    "DEFAULT_TEMPLATE",
    "ParsedScores",
    "RubricJudge",
    "parse_scores",
]
