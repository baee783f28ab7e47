"""Logic-Q: propositional Horn rules, some facts known, one goal fact to decide.

Each fact (a word such as ``misty``) is true or false. A rule is a Horn clause written as
"If calm and eager, then rusty." or "If rusty, then not windy."; every rule holds. A fact's
value is *determined* when it is the same in every true/false assignment that satisfies all the
rules and the known values (classical entailment: rules can be used backwards too -- if the
conclusion is false and all conditions but one are true, that one is false).

A problem states the rules, the known values, the facts whose values are not given, and the
goal. The goal is undetermined; of the facts not given, exactly one determines the goal
whichever its value is (the missing one), and no other one does -- not even for its actual
value, so asking a distractor never settles the answer by luck. Every fact not given is truly
open (both of its values are possible). Any fact but the goal may be asked about (a known one
is answered as the statement gives it); the choice format lists the facts not given and, at
medium and hard, one known fact as a distractor that tells nothing new. The answer is ``true``
or ``false``, each half the time (drawn before the problem).

Because the rules are Horn clauses, the models of a problem are closed under intersection, so a
goal that one fact decides both ways always takes that fact's value: finding *which* fact to
ask for is the task (as in QuestBench), and a wrong question leaves a coin flip.

Levels: easy 6 facts and 5 rules; medium 8 facts and 8 rules; hard 10 facts and 11 rules,
conditions of one to three facts.
"""

from __future__ import annotations

import functools
import operator
import random
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from agentgym.core import InvalidAction
from agentgym.envs.dialogue.questbench.base import (
    GenerationFailed,
    Problem,
    QuestEnv,
    QuestGenerator,
    Variable,
)

#: Fact names: adjectives that are not words of the statement's own frame ("true", "if"...).
WORDS = (
    "amber", "bold", "brisk", "calm", "crisp", "dusty", "eager", "fierce", "fuzzy", "gentle",
    "glossy", "hollow", "humid", "icy", "jolly", "keen", "lucky", "lush", "mellow", "misty",
    "noble", "plain", "proud", "quiet", "rapid", "rusty", "shiny", "silky", "sleek", "sturdy",
    "tidy", "vivid", "warm", "windy", "young", "zesty",
)
# level -> (facts, rules, largest condition, known-fact distractors)
_LEVELS = {"easy": (6, 5, 2, 0), "medium": (8, 8, 2, 1), "hard": (10, 11, 3, 1)}
_ATTEMPTS = 20_000
_TRIES_PER_RULE_SET = 8
_DEFINITE = 0.9  # how often a rule that does not fire under the hidden values concludes a fact (not its negation)
_TRUE = re.compile(r"\b(?:true|yes)\b", re.IGNORECASE)
_FALSE = re.compile(r"\b(?:false|no)\b", re.IGNORECASE)
# "not true" says false and "not false" says true; so do "isn't true", "can't/cannot be true", "never true"
_NEGATED = re.compile(r"(?:\bnot|\bcannot|n['\u2019]t|\bnever)\s+(?:be\s+)?(true|false)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """``If body (all true), then head`` (``positive``) or ``then not head``."""

    body: tuple[str, ...]
    head: str
    positive: bool

    def text(self) -> str:
        conclusion = self.head if self.positive else f"not {self.head}"
        return f"If {' and '.join(self.body)}, then {conclusion}."


@dataclass(frozen=True)
class LogicVisible:
    """What the statement says: the facts, rules, known values, the facts not given, the goal."""

    facts: tuple[str, ...]
    rules: tuple[Rule, ...]
    known: tuple[tuple[str, bool], ...]
    open: tuple[str, ...]
    goal: str


def models(facts: tuple[str, ...], rules: tuple[Rule, ...],
           known: Mapping[str, bool]) -> tuple[list[int], dict[str, int]]:
    """Every assignment that satisfies the rules and the known values, and each fact's bit: an
    assignment is an integer whose bit ``column[fact]`` is the fact's value. (The rules are
    checked on all ``2**len(facts)`` assignments at once with numpy; what survives is few.)"""
    column = {fact: i for i, fact in enumerate(facts)}
    rows = _assignments(len(facts))
    keep = np.ones(len(rows), dtype=bool)
    for rule in rules:
        body = sum(1 << column[f] for f in rule.body)
        head = (rows >> column[rule.head]) & 1
        keep &= ((rows & body) != body) | (head == int(rule.positive))
    for fact, value in known.items():
        keep &= ((rows >> column[fact]) & 1) == int(value)
    return rows[keep].tolist(), column


@functools.cache
def _assignments(count: int) -> np.ndarray:
    return np.arange(2 ** count, dtype=np.int64)


def determined(rows: list[int], column: int) -> bool | None:
    """The value a fact takes in every assignment, or ``None`` when it varies (or there are none)."""
    if not rows:
        return None
    every, some = functools.reduce(operator.and_, rows), functools.reduce(operator.or_, rows)
    if (every >> column) & 1:
        return True
    return None if (some >> column) & 1 else False


def restrict(rows: list[int], column: int, value: bool) -> list[int]:
    """The assignments where the fact of ``column`` has ``value``."""
    return [row for row in rows if (row >> column) & 1 == value]


def sufficient(rows: list[int], column: dict[str, int], fact: str, goal: str) -> bool:
    """Knowing ``fact`` determines ``goal`` whichever of its (possible) values it has."""
    halves = [restrict(rows, column[fact], value) for value in (False, True)]
    return all(half and determined(half, column[goal]) is not None for half in halves)


class LogicQGenerator(QuestGenerator):
    """Random Horn rules consistent with a random hidden assignment, kept only when the
    one-missing-fact property holds (checked over every assignment)."""

    answer_format = "'answer: true' or 'answer: false'"
    task = ("Decide whether the goal fact is true or false from rules over true/false facts. Every "
            "rule holds; rules can be used backwards too (if a rule's conclusion is false and all its "
            "conditions but one are true, that one is false).")

    def generate(self, rng: random.Random, difficulty: str) -> Problem:
        count, rule_count, widest, given_distractors = _LEVELS[difficulty]
        answer = rng.random() < 0.5  # drawn first: false goals are rarer among random rule sets
        for _ in range(_ATTEMPTS):
            problem = self._attempt(rng, answer, count, rule_count, widest, given_distractors)
            if problem is not None:
                return problem
        raise GenerationFailed(f"no Logic-Q problem at {difficulty} in {_ATTEMPTS} attempts")

    def _attempt(self, rng: random.Random, answer: bool, count: int, rule_count: int, widest: int,
                 given_distractors: int) -> Problem | None:
        """One random rule set; a few goals and known sets tried on it."""
        facts = tuple(rng.sample(WORDS, count))
        truth = {fact: rng.random() < 0.5 for fact in facts}
        rules: list[Rule] = []
        while len(rules) < rule_count:
            head = rng.choice(facts)
            body = tuple(rng.sample([f for f in facts if f != head], rng.randint(1, widest)))
            fires = all(truth[f] for f in body)
            # a rule whose conditions are false holds either way; mostly definite ("then head")
            rule = Rule(body, head, truth[head] if fires else rng.random() < _DEFINITE)
            if all(set(rule.body) != set(other.body) or rule.head != other.head for other in rules):
                rules.append(rule)
        goals = sorted({rule.head for rule in rules if truth[rule.head] == answer})
        if not goals:
            return None
        consistent, column = models(facts, tuple(rules), {})
        for _ in range(_TRIES_PER_RULE_SET):
            problem = self._pose(rng, facts, truth, tuple(rules), consistent, column, rng.choice(goals),
                                 given_distractors)
            if problem is not None:
                return problem
        return None

    def _pose(self, rng: random.Random, facts: tuple[str, ...], truth: dict[str, bool], rules: tuple[Rule, ...],
              consistent: list[int], column: dict[str, int], goal: str, given_distractors: int) -> Problem | None:
        """The problem asking for ``goal`` with a random set of known facts, if it has the property."""
        others = [f for f in facts if f != goal]
        known_count = rng.randint(len(others) // 3, len(others) - 3)
        known = {f: truth[f] for f in rng.sample(others, known_count)}
        mask = sum(1 << column[f] for f in known)
        bits = sum(1 << column[f] for f, value in known.items() if value)
        rows = [row for row in consistent if row & mask == bits]
        if determined(rows, column[goal]) is not None:
            return None
        open_facts = [f for f in others if f not in known]
        if any(determined(rows, column[f]) is not None for f in open_facts):
            return None  # a fact "not given" would in fact be implied
        winners = [f for f in open_facts if sufficient(rows, column, f, goal)]
        if len(winners) != 1:
            return None
        missing = winners[0]
        for fact in open_facts:
            if fact != missing:
                if determined(restrict(rows, column[fact], truth[fact]), column[goal]) is not None:
                    return None  # this distractor's actual value would settle the goal
        used = {f for rule in rules for f in (*rule.body, rule.head)}
        if not set(open_facts) <= used:
            return None  # a fact no rule mentions is a distractor anyone can dismiss
        visible = LogicVisible(facts, tuple(rules), tuple(sorted(known.items())), tuple(sorted(open_facts)),
                               goal)
        listed = list(open_facts) + rng.sample(sorted(known), given_distractors)
        rng.shuffle(listed)
        answer = truth[goal]
        return Problem(
            statement=_statement(visible),
            variables=tuple(_variable(fact, truth[fact], fact in known) for fact in others),
            choices=tuple(listed),
            missing=missing, answer=answer, answer_text=_word(answer), visible=visible,
            persona="You know the true/false value of every fact in the puzzle.",
            unknown_reply="I can only tell you whether one of the puzzle's facts is true or false.",
        )

    def necessary(self, problem: Problem) -> str:
        visible: LogicVisible = problem.visible
        rows, column = models(visible.facts, visible.rules, dict(visible.known))
        [key] = [v.key for v in problem.variables if sufficient(rows, column, v.key, visible.goal)]
        return key

    def solve(self, problem: Problem, revealed: Mapping[str, Any]) -> str:
        visible: LogicVisible = problem.visible
        rows, column = models(visible.facts, visible.rules, {**dict(visible.known), **revealed})
        value = determined(rows, column[visible.goal])
        if value is None:
            raise ValueError("the revealed facts do not determine the goal")
        return _word(value)

    def judge(self, problem: Problem, answer: str) -> bool:
        answer = _NEGATED.sub(lambda negated: " false" if negated.group(1).lower() == "true" else " true", answer)
        says_true, says_false = bool(_TRUE.search(answer)), bool(_FALSE.search(answer))
        if says_true == says_false:
            raise InvalidAction("answer with one word: 'answer: true' or 'answer: false'.")
        return says_true == problem.answer

    def random_answer(self, problem: Problem, rng: random.Random) -> str:
        return rng.choice(("true", "false"))


def _word(value: bool) -> str:
    return "true" if value else "false"


def _variable(fact: str, value: bool, known: bool) -> Variable:
    said = f"{fact} is {_word(value)}" + (" (as the puzzle says)." if known else ".")
    return Variable(fact, f"Is {fact} true or false?", (fact,), value, said[0].upper() + said[1:])


def _statement(visible: LogicVisible) -> str:
    known = "; ".join(f"{fact} is {_word(value)}" for fact, value in visible.known) or "nothing"
    rules = "\n".join(f"- {rule.text()}" for rule in visible.rules)
    return (f"Facts: {', '.join(visible.facts)}.\nRules (each one holds):\n{rules}\n"
            f"Known: {known}.\nNot given: {', '.join(visible.open)}.\n"
            f"Question: is {visible.goal} true or false?")


class LogicQ(QuestEnv):
    """Logic-Q (see the module docstring): ask for the one fact the goal depends on, then say
    whether the goal is true or false."""

    generator = LogicQGenerator()
