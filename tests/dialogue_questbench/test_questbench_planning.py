"""Planning-Q: the one-missing-fact property, re-derived from the statement's words by an
independent Blocks World (states as towers, all optimal plans enumerated); plans are read from
text and judged by simulation, any optimal plan accepted."""

from __future__ import annotations

import functools
import random
import re
from collections import deque

import pytest

from agentgym.core import InvalidAction
from agentgym.envs.dialogue.questbench.planning import PlanningQ, PlanningQGenerator, read_plan

SEEDS = {"easy": range(15), "medium": range(10), "hard": range(6)}


# ------------------------------------------------------- an independent Blocks World
# A state is a frozenset of towers, each a tuple of block names from the table up.
def _states(blocks):
    if not blocks:
        return [frozenset()]
    first, rest = blocks[0], blocks[1:]
    found = []
    for state in _states(rest):
        found.append(state | {(first,)})  # a tower of its own
        for tower in state:
            for cut in range(len(tower) + 1):  # slid into a tower at any height
                found.append((state - {tower}) | {tower[:cut] + (first,) + tower[cut:]})
    return found


def _under(state, block):
    for tower in state:
        if block in tower:
            i = tower.index(block)
            return "table" if i == 0 else tower[i - 1]


def _clear(state, block):
    return any(tower[-1] == block for tower in state)


def _moves(state):
    for tower in state:
        top = tower[-1]
        rest = state - {tower}
        if len(tower) > 1:
            yield (top, "table"), rest | {tower[:-1], (top,)}
        for other in rest:
            reduced = (rest - {other}) | ({tower[:-1]} if len(tower) > 1 else set())
            yield (top, other[-1]), frozenset(reduced | {other + (top,)})


def _goal_reached(state, goal):  # goal listed from the table up
    return any(tower[:len(goal)] == goal for tower in state)


@functools.lru_cache(maxsize=None)
def _distances(blocks, goal):
    frontier = deque(s for s in _states(list(blocks)) if _goal_reached(s, goal))
    dist = {s: 0 for s in frontier}
    while frontier:
        state = frontier.popleft()
        for _, after in _moves(state):
            if after not in dist:
                dist[after] = dist[state] + 1
                frontier.append(after)
    return dist


def _optimal_plans(state, blocks, goal):
    dist = _distances(blocks, goal)
    if dist[state] == 0:
        return {()}
    return {(move, *rest) for move, after in _moves(state) if dist[after] == dist[state] - 1
            for rest in _optimal_plans(after, blocks, goal)}


def _decided(states, blocks, goal):
    """Some plan is optimal from every state."""
    plans = None
    for state in states:
        mine = _optimal_plans(state, blocks, goal)
        plans = mine if plans is None else plans & mine
    return bool(plans)


def _holds(question, state):
    on = re.match(r"Is the (\w+) block on the (\w+) block\?", question)
    if on:
        return _under(state, on.group(1)) == on.group(2)
    table = re.match(r"Is the (\w+) block on the table\?", question)
    if table:
        return _under(state, table.group(1)) == "table"
    return _clear(state, re.match(r"Is the (\w+) block clear", question).group(1))


def _possible(statement):
    """The blocks, goal (table up) and the states the statement allows, read from its text."""
    blocks = tuple(re.search(r"^Blocks: (.*)\.$", statement, re.M).group(1).split(", "))
    placed = re.findall(r"^The (\w+) block is (not )?on (?:the (\w+) block|(the table))\.$", statement, re.M)
    clears = re.findall(r"^The (\w+) block is (not )?clear\.$", statement, re.M)
    goal_text = re.search(r"^Goal: (.*), with the (\w+) block on the table", statement, re.M)
    goal = tuple(reversed(re.findall(r"the (\w+) block", goal_text.group(1))))
    assert goal[0] == goal_text.group(2)

    def agrees(state):
        for block, negated, other, table in placed:
            where = "table" if table else other
            if (_under(state, block) == where) == bool(negated):
                return False
        return all(_clear(state, block) != bool(negated) for block, negated in clears)

    return blocks, goal, [s for s in _states(list(blocks)) if agrees(s)]


def test_the_independent_world_has_the_known_number_of_states():
    assert [len(_states(list("abcde"[:n]))) for n in range(1, 6)] == [1, 3, 13, 73, 501]


@pytest.mark.parametrize("level", list(SEEDS))
def test_exactly_one_listed_fact_decides_the_plan(level):
    generator = PlanningQGenerator()
    for seed in SEEDS[level]:
        problem = generator.generate(random.Random(seed), level)
        blocks, goal, possible = _possible(problem.statement)
        assert len(blocks) == {"easy": 3, "medium": 4, "hard": 5}[level]
        assert not _decided(possible, blocks, goal), "the plan is decided without asking"
        deciders = []
        for variable in problem.variables:
            halves = [[s for s in possible if _holds(variable.question, s) == v] for v in (False, True)]
            if all(half and _decided(half, blocks, goal) for half in halves):
                deciders.append(variable.key)
            else:  # a distractor's actual answer leaves the plan open
                told = [s for s in possible if _holds(variable.question, s) == variable.value]
                assert told and not _decided(told, blocks, goal), (seed, variable.key)
        assert deciders == [problem.missing], (seed, deciders)
        # the reference plan is optimal from every state the missing answer allows
        missing = problem.variable(problem.missing)
        told = [s for s in possible if _holds(missing.question, s) == missing.value]
        plan = tuple((step[0], "table" if step[1] == "table" else step[1])
                     for step in re.findall(r"move (\w+) onto (?:the )?(\w+)", problem.answer_text))
        assert all(plan in _optimal_plans(s, blocks, goal) for s in told)


def _env(level="medium", seed=0):
    env = PlanningQ(level)
    env.reset(seed=seed)
    return env


def _true_state(env):
    """The hidden state in the test's own representation."""
    names = ("red", "blue", "green", "yellow", "white")
    supports = env.problem.answer
    towers = []
    for block, under in enumerate(supports):
        if under == -1:
            tower, top = [names[block]], block
            while top in supports:
                top = supports.index(top)
                tower.append(names[top])
            towers.append(tuple(tower))
    return frozenset(towers)


def test_any_optimal_plan_is_accepted_and_others_are_not():
    accepted = 0
    for seed in range(6):
        env = _env("medium", seed)
        blocks = tuple(("red", "blue", "green", "yellow")[:env.problem.visible.blocks])
        goal = tuple(blocks[b] for b in reversed(env.problem.visible.goal))
        state = _true_state(env)
        plans = sorted(_optimal_plans(state, blocks, goal))
        for plan in plans[:4]:
            text = "; ".join(f"put the {b} block on {'the table' if d == 'table' else 'the ' + d + ' block'}"
                             for b, d in plan)
            assert env.generator.judge(env.problem, text), text
            accepted += 1
        first = plans[0]
        (top, elsewhere), _ = next(iter(_moves(state)))
        detour = ((top, elsewhere), (top, _under(state, top)))  # a move and its undoing: legal, two too many
        text = "; ".join(f"move {b} onto {d}" for b, d in detour + first)
        assert not env.generator.judge(env.problem, text)
        assert not env.generator.judge(env.problem, "; ".join(f"move {b} onto {d}" for b, d in first[:-1]))
    assert accepted >= 6


@pytest.mark.parametrize("text, moves", [
    ("move red onto the table; move blue onto green", [(0, -1), (1, 2)]),
    ("1. Put the red block on the table\n2. Stack blue on top of green", [(0, -1), (1, 2)]),
    ("The plan is: move red to table, then move blue onto the green block", [(0, -1), (1, 2)]),
    ("MOVE RED FROM BLUE TO THE TABLE and move green on red", [(0, -1), (2, 0)]),
])
def test_plans_are_read_in_several_wordings(text, moves):
    assert read_plan(text, 4) == moves


@pytest.mark.parametrize("text", ["", "do the obvious thing", "move red", "move purple onto blue; move red",
                                  "red blue green", "move white onto red"])
def test_an_unreadable_plan_is_invalid(text):
    with pytest.raises(InvalidAction):
        read_plan(text, 4)


def _all_facts_knowledge(blocks=5):
    from agentgym.envs.dialogue.questbench.planning import BlockFact, _phrases, _question
    from agentgym.responders import Fact, Knowledge

    facts = [BlockFact("on", b, o) for b in range(blocks) for o in range(blocks) if o != b]
    facts += [BlockFact("table", b) for b in range(blocks)] + [BlockFact("clear", b) for b in range(blocks)]
    knowledge = Knowledge([Fact(f.key, f.key, _phrases(f)) for f in facts], max_facts=1)
    return {f.key: _question(f) for f in facts}, knowledge


def test_each_canonical_question_names_its_own_fact_among_all_facts():
    from agentgym.responders import RuleResponder

    questions, knowledge = _all_facts_knowledge()
    assert len(questions) == 30
    for key, question in questions.items():
        assert RuleResponder().answer(question, knowledge).facts == (key,), question


@pytest.mark.parametrize("question, key", [
    ("Is red sitting on top of blue?", "red_on_blue"),
    ("is the green one directly on the yellow block", "green_on_yellow"),
    ("Is there anything on the white block?", "white_clear"),
    ("Is the blue block free?", "blue_clear"),
    ("Is yellow on the table?", "yellow_on_table"),
    ("What's on top of the red block?", "red_clear"),
])
def test_questions_about_blocks_in_other_words(question, key):
    from agentgym.responders import RuleResponder

    _, knowledge = _all_facts_knowledge()
    assert RuleResponder().answer(question, knowledge).facts == (key,)
