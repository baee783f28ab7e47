"""The clinical table: conditions, findings and tests with their probabilities, read from JSON
and checked when loaded.

The bundled table (``data/clinical_table.json``) is simplified, invented teaching data for an
agent benchmark: plausible, but **not medical knowledge and not medical advice**. It holds:

* ``conditions``: ``name`` (the identifier, lower case: ``"strep throat"``), ``aliases`` (other
  names a diagnosis may use), ``prevalence`` (the prior weight; renormalised over the
  candidates of a level), ``findings`` and ``tests``: sparse maps ``key -> P(present | condition)``
  and ``key -> P(positive | condition)``;
* ``findings``: ``key``, ``kind`` (``symptom``, ``history`` or ``exam``), ``phrases`` (the words a
  question about it contains: synonyms, lay terms), ``question`` (a question that asks about it
  and nothing else), ``present`` / ``absent`` (the patient's reply, or the examiner's for exam
  signs), ``default`` (P(present) for a condition that does not list it) and, for symptoms a
  patient may come in with, ``complaint`` (``"a sore throat"``);
* ``tests``: ``key``, ``name``, ``aliases``, ``cost`` (in reward units), ``positive`` /
  ``negative`` (the result as shown) and ``default`` (P(positive) for a condition that does not
  list it: the false-positive rate);
* ``difficulties``: for each level its candidate ``conditions`` (names, or ``"all"``) and its
  ``turn_budget``.

:func:`load_table` reads and checks a table (the bundled one, or your own file of the same
shape); every problem is a :class:`ClinicalTableError` naming the file, the entry and what is
wrong. Findings and tests together are the *observables*, keyed by ``key`` (one namespace).
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from agentgym.core import ConfigError
from agentgym.responders import Fact, Knowledge, normalize

KINDS = ("symptom", "history", "exam")
BUNDLED = "bundled clinical_table.json"


class ClinicalTableError(ConfigError):
    """A clinical table that cannot be used: the message names the file, the entry and the
    problem."""


@dataclass(frozen=True)
class Finding:
    """A symptom, a piece of history or an examination sign (see the module docstring)."""

    key: str
    kind: str
    phrases: tuple[str, ...]
    question: str
    present: str
    absent: str
    default: float
    complaint: str | None = None


@dataclass(frozen=True)
class Test:
    """A test the agent may order, at a cost."""

    key: str
    name: str
    aliases: tuple[str, ...]
    cost: float
    positive: str
    negative: str
    default: float

    def result(self, positive: bool) -> str:
        return self.positive if positive else self.negative


@dataclass(frozen=True)
class Condition:
    """A diagnosis: its prior weight and the probabilities of the observables it changes."""

    name: str
    aliases: tuple[str, ...]
    prevalence: float
    findings: Mapping[str, float]
    tests: Mapping[str, float]


@dataclass(frozen=True)
class Level:
    """A difficulty: the candidate conditions (names, in table order) and the turn budget."""

    conditions: tuple[str, ...]
    turn_budget: int


@dataclass(frozen=True, eq=False)
class Table:
    """A checked clinical table, with the probability matrix the Bayes model reads.

    ``probability[i, j]`` is P(observable ``keys[i]`` is present / positive | condition
    ``names[j]``); ``prior[j]`` the condition's prevalence.
    """

    conditions: tuple[Condition, ...]
    findings: tuple[Finding, ...]
    tests: tuple[Test, ...]
    levels: Mapping[str, Level]
    source: str = BUNDLED
    notice: str = ""
    keys: tuple[str, ...] = field(init=False)
    names: tuple[str, ...] = field(init=False)
    probability: np.ndarray = field(init=False, repr=False)
    prior: np.ndarray = field(init=False, repr=False)
    _row: dict[str, int] = field(init=False, repr=False)
    _column: dict[str, int] = field(init=False, repr=False)
    _finding: dict[str, Finding] = field(init=False, repr=False)
    _test: dict[str, Test] = field(init=False, repr=False)
    _condition_names: dict[str, str] = field(init=False, repr=False)
    _test_names: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        keys = tuple(f.key for f in self.findings) + tuple(t.key for t in self.tests)
        names = tuple(c.name for c in self.conditions)
        probability = np.empty((len(keys), len(names)))
        for j, condition in enumerate(self.conditions):
            for i, finding in enumerate(self.findings):
                probability[i, j] = condition.findings.get(finding.key, finding.default)
            for i, test in enumerate(self.tests, start=len(self.findings)):
                probability[i, j] = condition.tests.get(test.key, test.default)
        probability.setflags(write=False)
        prior = np.array([c.prevalence for c in self.conditions])
        prior.setflags(write=False)
        condition_names = {normalize(alias): c.name for c in self.conditions for alias in (c.name, *c.aliases)}
        test_names = {normalize(alias): t.key for t in self.tests for alias in (t.name, *t.aliases, t.key)}
        for name, value in (("keys", keys), ("names", names), ("probability", probability), ("prior", prior),
                            ("_row", {k: i for i, k in enumerate(keys)}),
                            ("_column", {n: j for j, n in enumerate(names)}),
                            ("_finding", {f.key: f for f in self.findings}), ("_test", {t.key: t for t in self.tests}),
                            ("_condition_names", condition_names), ("_test_names", test_names)):
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ look-ups
    def finding(self, key: str) -> Finding:
        return self._finding[key]

    def test(self, key: str) -> Test:
        return self._test[key]

    def is_finding(self, key: str) -> bool:
        return key in self._finding

    def is_test(self, key: str) -> bool:
        return key in self._test

    def row(self, key: str) -> int:
        """The matrix row of an observable; ``KeyError`` naming it when the table lacks it."""
        try:
            return self._row[key]
        except KeyError:
            raise KeyError(f"no finding or test is called {key!r} in the clinical table ({self.source})") from None

    def column(self, name: str) -> int:
        return self._column[name]

    def candidates(self, difficulty: str) -> tuple[str, ...]:
        """The condition names a level draws from (table order)."""
        return self.levels[difficulty].conditions

    def condition_named(self, text: str) -> str | None:
        """The condition ``text`` names exactly (name or alias, any case and punctuation)."""
        return self._condition_names.get(normalize(text))

    def conditions_in(self, text: str) -> list[str]:
        """The distinct conditions named anywhere in ``text``, in order (the longest name wins
        where names overlap: "kidney stone" is not read as a "stone")."""
        pattern = _alternatives(tuple(self._condition_names))
        found = [self._condition_names[m.group(0)] for m in pattern.finditer(normalize(text))]
        return list(dict.fromkeys(found))

    def test_named(self, text: str) -> str | None:
        """The test ``text`` names exactly (name, alias or key)."""
        return self._test_names.get(normalize(text))

    def tests_in(self, text: str) -> list[str]:
        """The distinct tests named anywhere in ``text``, in order."""
        pattern = _alternatives(tuple(self._test_names))
        found = [self._test_names[m.group(0)] for m in pattern.finditer(normalize(text))]
        return list(dict.fromkeys(found))

    def tests_asked_about(self, text: str) -> list[str]:
        """:meth:`tests_in`, less the tests named only inside a condition's name ("had strep
        throat?" names the condition, not the rapid strep test; "strep" alone names both)."""
        blanked = _alternatives(tuple(self._condition_names)).sub(
            lambda m: m.group(0) if m.group(0) in self._test_names else " ", normalize(text))
        return self.tests_in(blanked)

    def knowledge_facts(self, findings: Mapping[str, bool]) -> list[Fact]:
        """One :class:`~agentgym.responders.Fact` per finding: its phrases, and the statement
        and value the case gives it."""
        return [Fact(f.key, f.present if findings[f.key] else f.absent, f.phrases, findings[f.key])
                for f in self.findings]


@functools.lru_cache(maxsize=64)
def _alternatives(names: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-word alternatives over normalised names, longest first."""
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b")


# ---------------------------------------------------------------------- loading and checking
def load_table(path: str | Path | None = None) -> Table:
    """The bundled table (``path=None``) or the one in ``path``, read once and checked."""
    if path is None:
        return _bundled()
    if not isinstance(path, (str, Path)):
        raise ClinicalTableError(f"clinical table: table must be a path to a JSON file or None, got {path!r}")
    return _from_file(str(Path(path).resolve()))


@functools.cache
def _bundled() -> Table:
    text = (files("agentgym.envs.dialogue.clinical") / "data" / "clinical_table.json").read_text(encoding="utf-8")
    return table_from_dict(json.loads(text), BUNDLED)


@functools.lru_cache(maxsize=16)
def _from_file(path: str) -> Table:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ClinicalTableError(f"clinical table {path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ClinicalTableError(f"clinical table {path}: not valid JSON ({exc})") from None
    return table_from_dict(raw, path)


def table_from_dict(raw: Any, source: str = "clinical table") -> Table:
    """A :class:`Table` from its JSON data, checked (see the module docstring for the shape);
    :class:`ClinicalTableError` on the first problem found."""
    check = _Checker(source)
    check.mapping(raw, "the table", required=("conditions", "findings", "tests", "difficulties"))
    findings = tuple(check.finding(i, item) for i, item in enumerate(check.items(raw["findings"], "findings")))
    tests = tuple(check.test(i, item) for i, item in enumerate(check.items(raw["tests"], "tests")))
    check.unique([f.key for f in findings] + [t.key for t in tests], "finding and test keys")
    check.unique([normalize(p) for f in findings for p in f.phrases], "finding phrases (each belongs to one finding)")
    check.unique([a for t in tests for a in dict.fromkeys(normalize(n) for n in (t.name, *t.aliases, t.key))],
                 "test names and aliases")
    findings_by_key = {f.key: f for f in findings}
    conditions = tuple(check.condition(i, item, findings_by_key, {t.key for t in tests})
                       for i, item in enumerate(check.items(raw["conditions"], "conditions")))
    check.unique([c.name for c in conditions], "condition names")
    check.unique([a for c in conditions for a in dict.fromkeys(normalize(n) for n in (c.name, *c.aliases))],
                 "condition names and aliases")
    if len(conditions) < 2:
        raise check.error("conditions", "a table needs at least two conditions")
    check.questions(findings)
    levels = check.levels(raw["difficulties"], [c.name for c in conditions])
    notice = raw.get("notice", "")
    return Table(conditions, findings, tests, levels, source, notice if isinstance(notice, str) else "")


class _Checker:
    """The checks of :func:`table_from_dict`, each raising a :class:`ClinicalTableError` that
    names the source and the entry."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, problem: str) -> ClinicalTableError:
        return ClinicalTableError(f"clinical table {self.source}: {where}: {problem}")

    def mapping(self, value: Any, where: str, *, required: Sequence[str] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"must be a JSON object, got {type(value).__name__}")
        missing = [key for key in required if key not in value]
        if missing:
            raise self.error(where, f"lacks {', '.join(repr(m) for m in missing)}")
        return value

    def items(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.error(where, "must be a non-empty JSON list")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, f"must be a non-empty string, got {value!r}")
        return value

    def key(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise self.error(where, f"must be a lower-case identifier such as 'sore_throat', got {value!r}")
        return value

    def names(self, value: Any, where: str, *, allow_empty: bool = True) -> tuple[str, ...]:
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.error(where, f"must be a list of strings, got {value!r}")
        for i, item in enumerate(value):
            self.text(item, f"{where}[{i}]")
            if not normalize(item):
                raise self.error(f"{where}[{i}]", f"{item!r} has no letter or digit")
        return tuple(value)

    def probability(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
            raise self.error(where, f"must be a probability strictly between 0 and 1, got {value!r}")
        return float(value)

    def unique(self, values: list[str], what: str) -> None:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise self.error(what, f"{value!r} appears twice")
            seen.add(value)

    def finding(self, i: int, item: Any) -> Finding:
        where = f"findings[{i}]"
        self.mapping(item, where, required=("key", "kind", "phrases", "question", "present", "absent", "default"))
        key = self.key(item["key"], f"{where}.key")
        where = f"finding {key!r}"
        if item["kind"] not in KINDS:
            raise self.error(f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {item['kind']!r}")
        complaint = item.get("complaint")
        if complaint is not None:
            self.text(complaint, f"{where}.complaint")
            if item["kind"] != "symptom":
                raise self.error(f"{where}.complaint", "only a symptom can be what a patient comes in with")
        return Finding(key, item["kind"], self.names(item["phrases"], f"{where}.phrases", allow_empty=False),
                       self.text(item["question"], f"{where}.question"), self.text(item["present"], f"{where}.present"),
                       self.text(item["absent"], f"{where}.absent"),
                       self.probability(item["default"], f"{where}.default"), complaint)

    def test(self, i: int, item: Any) -> Test:
        where = f"tests[{i}]"
        self.mapping(item, where, required=("key", "name", "cost", "positive", "negative", "default"))
        key = self.key(item["key"], f"{where}.key")
        where = f"test {key!r}"
        cost = item["cost"]
        if isinstance(cost, bool) or not isinstance(cost, numbers.Real) or not math.isfinite(cost) or cost < 0:
            raise self.error(f"{where}.cost", f"must be a finite number >= 0, got {cost!r}")
        return Test(key, self.text(item["name"], f"{where}.name"),
                    self.names(item.get("aliases", []), f"{where}.aliases"), float(cost),
                    self.text(item["positive"], f"{where}.positive"), self.text(item["negative"], f"{where}.negative"),
                    self.probability(item["default"], f"{where}.default"))

    def condition(self, i: int, item: Any, findings: Mapping[str, Finding], tests: set[str]) -> Condition:
        where = f"conditions[{i}]"
        self.mapping(item, where, required=("name", "prevalence", "findings"))
        name = self.text(item["name"], f"{where}.name")
        if name != normalize(name):
            raise self.error(f"{where}.name", f"must be lower-case words separated by single spaces, got {name!r}")
        where = f"condition {name!r}"
        prevalence = item["prevalence"]
        if isinstance(prevalence, bool) or not isinstance(prevalence, numbers.Real) or not 0 < prevalence <= 1:
            raise self.error(f"{where}.prevalence", f"must be a number in (0, 1], got {prevalence!r}")
        probabilities = {}
        for part, known in (("findings", findings), ("tests", tests)):
            given = self.mapping(item.get(part, {}), f"{where}.{part}")
            for key, value in given.items():
                if key not in known:
                    raise self.error(f"{where}.{part}", f"{key!r} is not one of the table's {part}")
                self.probability(value, f"{where}.{part}.{key}")
            probabilities[part] = {key: float(value) for key, value in given.items()}
        complaints = [key for key, p in probabilities["findings"].items() if findings[key].complaint and p >= 0.5]
        if not complaints:
            raise self.error(where, "needs a symptom with a 'complaint' and a probability of at least 0.5 "
                                    "(what a patient comes in with)")
        return Condition(name, self.names(item.get("aliases", []), f"{where}.aliases"), float(prevalence),
                         probabilities["findings"], probabilities["tests"])

    def questions(self, findings: Sequence[Finding]) -> None:
        """Each finding's question must ask about that finding and no other (the oracle asks it)."""
        knowledge = Knowledge([Fact(f.key, f.present, f.phrases) for f in findings], max_facts=len(findings))
        for finding in findings:
            asked = [fact.key for fact in knowledge.asked(finding.question)]
            if asked != [finding.key]:
                raise self.error(f"finding {finding.key!r}.question",
                                 f"{finding.question!r} must ask about {finding.key!r} alone; its words name {asked}")

    def levels(self, value: Any, names: list[str]) -> dict[str, Level]:
        levels = {}
        for level, spec in self.mapping(value, "difficulties").items():
            where = f"difficulties.{level}"
            self.mapping(spec, where, required=("conditions", "turn_budget"))
            chosen = spec["conditions"]
            if chosen == "all":
                chosen = list(names)
            elif not isinstance(chosen, list) or len(chosen) < 2 or any(c not in names for c in chosen):
                unknown = [c for c in chosen if c not in names] if isinstance(chosen, list) else chosen
                raise self.error(f"{where}.conditions", f"must be 'all' or a list of two or more condition names "
                                                        f"of the table (unknown: {unknown!r})")
            self.unique(list(chosen), f"{where}.conditions")
            budget = spec["turn_budget"]
            if isinstance(budget, bool) or not isinstance(budget, int) or budget < 2:
                raise self.error(f"{where}.turn_budget", f"must be an integer of at least 2, got {budget!r}")
            levels[level] = Level(tuple(n for n in names if n in chosen), budget)
        if not levels:
            raise self.error("difficulties", "names no level")
        return levels
