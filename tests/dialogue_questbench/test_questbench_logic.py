"""Logic-Q: the one-missing-fact property, re-derived from the statement's own words by an
independent truth-table check; the rules are Horn clauses; answers are read leniently."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from agentgym.core import InvalidAction
from agentgym.envs.dialogue.questbench.logic import LogicQ, LogicQGenerator

SEEDS = {"easy": range(20), "medium": range(15), "hard": range(10)}


def _parse(statement: str):
    """The facts, rules (conditions, conclusion, positive), known values, facts not given and
    goal, read from the text alone."""
    facts = re.search(r"^Facts: (.*)\.$", statement, re.M).group(1).split(", ")
    rules = []
    for body, negated, head in re.findall(r"^- If (.*), then (not )?(\w+)\.$", statement, re.M):
        rules.append((tuple(body.split(" and ")), head, not negated))
    known_text = re.search(r"^Known: (.*)\.$", statement, re.M).group(1)
    known = {fact: value == "true" for fact, value in re.findall(r"(\w+) is (true|false)", known_text)}
    not_given = re.search(r"^Not given: (.*)\.$", statement, re.M).group(1).split(", ")
    goal = re.search(r"^Question: is (\w+) true or false\?$", statement, re.M).group(1)
    return facts, rules, known, not_given, goal


def _worlds(facts, rules, known):
    """Every assignment (a dict) in which all rules and known values hold."""
    for values in itertools.product((False, True), repeat=len(facts)):
        world = dict(zip(facts, values))
        if any(world[f] != v for f, v in known.items()):
            continue
        if all(not all(world[b] for b in body) or world[head] == positive for body, head, positive in rules):
            yield world


def _goal_values(worlds, goal, **given):
    return {w[goal] for w in worlds if all(w[f] == v for f, v in given.items())}


@pytest.mark.parametrize("level", list(SEEDS))
def test_exactly_one_fact_decides_the_goal(level):
    generator = LogicQGenerator()
    for seed in SEEDS[level]:
        problem = generator.generate(random.Random(seed), level)
        facts, rules, known, not_given, goal = _parse(problem.statement)
        assert sorted(facts) == sorted(problem.visible.facts) and goal not in not_given
        assert set(not_given) == set(facts) - set(known) - {goal}
        worlds = list(_worlds(facts, rules, known))
        assert _goal_values(worlds, goal) == {True, False}, "the goal is decided without asking"
        deciders = []
        for fact in not_given:
            assert {w[fact] for w in worlds} == {True, False}, f"{fact} is implied, not open"
            if all(len(_goal_values(worlds, goal, **{fact: v})) == 1 for v in (False, True)):
                deciders.append(fact)
        assert deciders == [problem.missing], (seed, deciders)
        hidden = problem.variable(problem.missing).value
        assert _goal_values(worlds, goal, **{problem.missing: hidden}) == {problem.answer}
        assert problem.answer_text == ("true" if problem.answer else "false")
        for variable in problem.variables:
            if variable.key not in (problem.missing, *known):
                # a distractor's actual value leaves the goal open
                assert len(_goal_values(worlds, goal, **{variable.key: variable.value})) == 2
            if variable.key in known:
                assert known[variable.key] == variable.value


def test_rules_are_horn_clauses_over_words_and_levels_grow():
    generator = LogicQGenerator()
    sizes = {}
    for level in ("easy", "medium", "hard"):
        problem = generator.generate(random.Random(3), level)
        facts, rules, *_ = _parse(problem.statement)
        assert all(f.isalpha() and len(f) > 2 for f in facts)  # words, not x1
        # each rule is one clause with at most one positive literal: "not a or not b or c" / "... or not c"
        assert all(len(set(body)) == len(body) and head not in body for body, head, _ in rules)
        assert len(rules) == len({(frozenset(body), head) for body, head, _ in rules})
        sizes[level] = (len(facts), len(rules))
    assert sizes["easy"] < sizes["medium"] < sizes["hard"]


def test_answers_are_balanced_and_the_generator_is_deterministic():
    generator = LogicQGenerator()
    answers = [generator.generate(random.Random(seed), "easy").answer for seed in range(24)]
    assert 6 <= sum(answers) <= 18
    first, again = (generator.generate(random.Random(5), "medium") for _ in range(2))
    assert first == again


@pytest.mark.parametrize("text, verdict", [
    ("true", True), ("TRUE.", True), ("yes, it is true", True), ("It is true", True),
    ("false", False), ("no", False),
])
def test_final_answers_are_read_as_true_or_false(text, verdict):
    env = LogicQ("easy")
    env.reset(seed=0)
    assert env.generator.judge(env.problem, text) == (verdict == env.problem.answer)


@pytest.mark.parametrize("text", ["maybe", "true or false", "???", "\U0001f642", "truthy"])
def test_an_unreadable_answer_is_invalid(text):
    env = LogicQ("easy")
    env.reset(seed=0)
    with pytest.raises(InvalidAction):
        env.generator.judge(env.problem, text)
