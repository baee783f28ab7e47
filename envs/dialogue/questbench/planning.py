"""Planning-Q: Blocks World with a partly known initial state.

Blocks (three to five, named by colour) stand in towers on a table. One move takes a clear
block (nothing on it) and puts it on the table or on another clear block. The goal is a tower
(e.g. red on blue on green, green on the table); blocks outside it may be anywhere.

The statement gives where some blocks are and hides where the others are. The states that
agree with it are the *possible* states. A plan is *determined* when one sequence of moves is
valid and optimal (as short as possible) from every possible state. The problem lists a few
yes/no facts the agent may ask about ("Is the red block on the blue block?", "Is the green
block clear?", "Is the yellow block on the table?"): without an answer no plan is determined;
exactly one of them determines a plan whichever its answer; the others do not -- not even for
their actual answers. The final answer is a plan, checked by simulating it from the true state:
any valid plan of optimal length that builds the goal tower is right (a longer one is not).

Levels: easy 3 blocks (two hidden) and two distractor facts; medium 4 blocks (two hidden) and
three; hard 5 blocks (two or three hidden, one hidden block's partial position stated) and
four, the goal tower of four or five blocks.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping

from agentgym.core import InvalidAction
from agentgym.envs.dialogue.questbench.base import (
    GenerationFailed,
    Problem,
    QuestEnv,
    QuestGenerator,
    Variable,
)
from agentgym.responders import normalize

COLOURS = ("red", "blue", "green", "yellow", "white")
TABLE = -1
# level -> (blocks, hidden blocks choices, distractors)
_LEVELS = {"easy": (3, (2,), 2), "medium": (4, (2,), 3), "hard": (5, (2, 3), 4)}
_ATTEMPTS = 5_000
# steps: semicolons, commas, new lines, "then", "and", and sentence ends ("Move red onto blue. Move ...")
_STEP_SPLIT = re.compile(r"[;\n,]|[.!?](?=\s|\Z)|\bthen\b|\band\b", re.IGNORECASE)
_PREPOSITION = re.compile(r"\b(?:onto|on|to|atop)\b(?:\s+top\s+of)?\s+(?:the\s+)?(\w+)")

# A state: ``state[b]`` is what block ``b`` stands on (a block index or TABLE).
State = tuple[int, ...]
Move = tuple[int, int]  # (block, destination)


# ------------------------------------------------------------------ blocks world
@functools.cache
def all_states(n: int) -> tuple[State, ...]:
    """Every arrangement of ``n`` blocks in towers on the table."""
    found = []
    for supports in itertools.product(range(-1, n), repeat=n):
        if any(s == b for b, s in enumerate(supports)):
            continue
        below = [s for s in supports if s != TABLE]
        if len(below) != len(set(below)):
            continue  # two blocks on one
        if all(_grounded(supports, b) for b in range(n)):
            found.append(supports)
    return tuple(found)


def _grounded(state: State, block: int) -> bool:
    seen = set()
    while block != TABLE:
        if block in seen:
            return False
        seen.add(block)
        block = state[block]
    return True


def clear(state: State, block: int) -> bool:
    return block not in state


def moves(state: State) -> list[Move]:
    """Every legal move: a clear block onto the table (if not there) or another clear block."""
    tops = [b for b in range(len(state)) if clear(state, b)]
    return [(b, d) for b in tops for d in (TABLE, *tops) if d != b and state[b] != d]


def apply(state: State, move: Move) -> State:
    block, destination = move
    return state[:block] + (destination,) + state[block + 1:]


@functools.cache
def distances(n: int, goal: tuple[int, ...]) -> dict[State, int]:
    """Moves from each state to the nearest state where ``goal`` (a tower listed top to
    bottom, its last block on the table) stands (moves are reversible, so a breadth-first
    search from the goal states)."""
    frontier = deque(s for s in all_states(n) if reached(s, goal))
    dist = {s: 0 for s in frontier}
    while frontier:
        state = frontier.popleft()
        for move in moves(state):
            after = apply(state, move)
            if after not in dist:
                dist[after] = dist[state] + 1
                frontier.append(after)
    return dist


def reached(state: State, goal: tuple[int, ...]) -> bool:
    return state[goal[-1]] == TABLE and all(state[a] == b for a, b in zip(goal, goal[1:]))


def common_plan(states: frozenset[State], goal: tuple[int, ...]) -> tuple[Move, ...] | None:
    """A plan that is legal and optimal from every state of ``states``, or ``None``."""
    dist = distances(len(next(iter(states))), goal)
    if len({dist[s] for s in states}) != 1:
        return None
    return _joint(states, goal)


@functools.lru_cache(maxsize=50_000)
def _joint(states: frozenset[State], goal: tuple[int, ...]) -> tuple[Move, ...] | None:
    dist = distances(len(next(iter(states))), goal)
    left = dist[next(iter(states))]
    if left == 0:
        return ()
    shared = set(moves(next(iter(states))))
    for state in states:
        shared &= set(moves(state))
    for move in sorted(shared):
        after = frozenset(apply(s, move) for s in states)
        if all(dist[s] == left - 1 for s in after):
            rest = _joint(after, goal)
            if rest is not None:
                return (move, *rest)
    return None


# ----------------------------------------------------------------------- facts
@dataclass(frozen=True)
class BlockFact:
    """A yes/no fact: ``on`` (block on other), ``table`` (block on the table) or ``clear``."""

    kind: str
    block: int
    other: int = TABLE

    def holds(self, state: State) -> bool:
        if self.kind == "on":
            return state[self.block] == self.other
        if self.kind == "table":
            return state[self.block] == TABLE
        return clear(state, self.block)

    @property
    def key(self) -> str:
        name = COLOURS[self.block]
        if self.kind == "on":
            return f"{name}_on_{COLOURS[self.other]}"
        return f"{name}_on_table" if self.kind == "table" else f"{name}_clear"


def _question(fact: BlockFact) -> str:
    name = COLOURS[fact.block]
    if fact.kind == "on":
        return f"Is the {name} block on the {COLOURS[fact.other]} block?"
    if fact.kind == "table":
        return f"Is the {name} block on the table?"
    return f"Is the {name} block clear (nothing on top of it)?"


def _reply(fact: BlockFact, value: bool) -> str:
    name = COLOURS[fact.block]
    if fact.kind == "on":
        other = COLOURS[fact.other]
        return (f"Yes, the {name} block is on the {other} block." if value
                else f"No, the {name} block is not on the {other} block.")
    if fact.kind == "table":
        return f"Yes, the {name} block is on the table." if value else f"No, the {name} block is not on the table."
    # no leading yes/no: "Is anything on the red block?" asks the same fact the other way round
    return (f"The {name} block is clear: nothing is on top of it." if value
            else f"The {name} block is not clear: something is on top of it.")


def _whether(fact: BlockFact) -> str:
    """The fact as the object of "whether" ("the red block is on the blue block")."""
    sentence = _said(fact, True)
    return sentence[0].lower() + sentence[1:-1]


def _said(fact: BlockFact, value: bool) -> str:
    """The fact as a sentence of the statement ("The red block is not on the table.")."""
    where = "the table" if fact.kind == "table" else f"the {COLOURS[fact.other]} block"
    if fact.kind == "clear":
        return f"The {COLOURS[fact.block]} block is {'' if value else 'not '}clear."
    return f"The {COLOURS[fact.block]} block is {'' if value else 'not '}on {where}."


def _subjects(name: str) -> list[str]:
    return [name, f"{name} block", f"{name} one"]


def _objects(name: str) -> list[str]:
    return [f"{article}{name}{noun}" for article in ("", "the ") for noun in ("", " block", " one")]


_ON = tuple(f"{verb}{place}" for verb in ("", "directly ", "stacked ", "sitting ", "resting ", "placed ",
                                              "standing ", "lying ", "put ", "set ")
            for place in ("on", "on top of"))
_ON_IT = tuple(f"{lead} {place}" for lead in ("anything", "something", "nothing", "what is", "whats", "any block")
               for place in ("on", "on top of"))


def _phrases(fact: BlockFact) -> tuple[str, ...]:
    name = COLOURS[fact.block]
    if fact.kind == "on":
        targets = _objects(COLOURS[fact.other])
    elif fact.kind == "table":
        targets = ["table", "the table"]
    else:
        subjects = _subjects(name)
        return tuple([f"{s} {word}" for s in subjects for word in ("clear", "is clear", "free", "is free")]
                     + [f"{lead} {o}" for lead in _ON_IT for o in _objects(name)])
    return tuple(f"{s} {relation} {t}" for s in _subjects(name) for relation in _ON for t in targets)


@dataclass(frozen=True)
class PlanningVisible:
    """What the statement says: the blocks, where the visible ones stand, partial facts about
    hidden ones, the goal tower (top to bottom), and the askable facts."""

    blocks: int
    placed: tuple[tuple[int, int], ...]  # (block, what it stands on)
    hidden: tuple[int, ...]
    partial: tuple[tuple[BlockFact, bool], ...]
    goal: tuple[int, ...]
    askable: tuple[tuple[str, BlockFact], ...]

    def possible(self, revealed: Mapping[str, bool] | None = None) -> frozenset[State]:
        """The states that agree with the statement and the ``revealed`` answers."""
        facts = dict(self.askable)
        conditions = [*self.partial, *((facts[key], value) for key, value in (revealed or {}).items())]
        return frozenset(
            s for s in all_states(self.blocks)
            if all(s[b] == on for b, on in self.placed) and all(f.holds(s) == v for f, v in conditions))


def _sufficient(visible: PlanningVisible, possible: frozenset[State], fact: BlockFact) -> bool:
    halves = [frozenset(s for s in possible if fact.holds(s) == value) for value in (False, True)]
    return all(half and common_plan(half, visible.goal) is not None for half in halves)


def _name(block: int) -> str:
    return "the table" if block == TABLE else f"the {COLOURS[block]} block"


def plan_text(plan: tuple[Move, ...]) -> str:
    return "; ".join(f"move {COLOURS[b]} onto {'the table' if d == TABLE else COLOURS[d]}" for b, d in plan)


def read_plan(text: str, blocks: int) -> list[Move]:
    """The moves written in ``text`` ("move red onto the table; put blue on green"): steps are
    separated by semicolons, commas, new lines, "then" or "and"; a step names the block moved
    first and its destination after "on", "onto", "to" or "on top of". A step may also end a
    sentence ("Move red onto the table. Move blue onto green."). Raises
    :class:`InvalidAction` for a step it cannot read."""
    names = {colour: i for i, colour in enumerate(COLOURS[:blocks])}
    plan = []
    for piece in _STEP_SPLIT.split(text):
        piece = normalize(piece)
        words = piece.split()
        mentioned = [w for w in words if w in names or w == "table"]
        if not mentioned:
            continue  # words around the plan ("the plan is")
        moved = next((w for w in words if w in names), None)
        target = None
        if moved is not None:
            rest = piece[piece.index(moved) + len(moved):]
            found = _PREPOSITION.search(rest)
            target = found.group(1) if found and (found.group(1) in names or found.group(1) == "table") else None
        if moved is None or target is None:
            raise InvalidAction(f"cannot read the step {piece!r}: write each step as 'move <block> onto "
                                f"<block>' or 'move <block> onto the table', separated by semicolons.")
        plan.append((names[moved], TABLE if target == "table" else names[target]))
    if not plan:
        raise InvalidAction("write the plan as moves separated by semicolons, e.g. 'answer: move red onto "
                            "the table; move blue onto green'.")
    return plan


def plan_builds(state: State, goal: tuple[int, ...], plan: list[Move]) -> bool:
    """Every move of ``plan`` is legal in turn from ``state`` and the goal stands at the end."""
    for move in plan:
        if move not in moves(state):
            return False
        state = apply(state, move)
    return reached(state, goal)


class PlanningQGenerator(QuestGenerator):
    """Random states, goals and hidden blocks, kept when exactly one listed fact decides the
    optimal plan (checked over every possible state)."""

    answer_format = "'answer: move <block> onto <block or the table>; move ...'"
    task = ("Plan the shortest sequence of moves that builds the goal tower in a Blocks World whose "
            "starting state you only partly know. A move takes a clear block (nothing on it) and puts it "
            "on the table or on another clear block.")

    def generate(self, rng: random.Random, difficulty: str) -> Problem:
        blocks, hidden_counts, distractors = _LEVELS[difficulty]
        for _ in range(_ATTEMPTS):
            problem = self._attempt(rng, difficulty, blocks, rng.choice(hidden_counts), distractors)
            if problem is not None:
                return problem
        raise GenerationFailed(f"no Planning-Q problem at {difficulty} in {_ATTEMPTS} attempts")

    def _attempt(self, rng: random.Random, difficulty: str, blocks: int, hidden_count: int,
                 distractors: int) -> Problem | None:
        truth = rng.choice(all_states(blocks))
        tower = blocks if difficulty != "hard" else rng.choice((4, 5))
        goal = tuple(rng.sample(range(blocks), tower))
        if distances(blocks, goal)[truth] < 2:
            return None
        hidden = tuple(sorted(rng.sample(range(blocks), hidden_count)))
        placed = tuple((b, truth[b]) for b in range(blocks) if b not in hidden)
        partial: tuple[tuple[BlockFact, bool], ...] = ()
        if difficulty == "hard":
            block = rng.choice(hidden)
            partial = ((BlockFact("table", block), truth[block] == TABLE),)
        pool = [BlockFact("on", b, o) for b in hidden for o in range(blocks) if o != b]
        pool += [BlockFact("table", b) for b in hidden] + [BlockFact("clear", b) for b in range(blocks)]
        probe = PlanningVisible(blocks, placed, hidden, partial, goal, ())
        possible = probe.possible()
        if common_plan(possible, goal) is not None:
            return None
        open_facts = [f for f in pool if len({f.holds(s) for s in possible}) == 2]
        winners = [f for f in open_facts if _sufficient(probe, possible, f)]
        if not winners:
            return None
        missing = rng.choice(winners)
        losers = []
        for fact in open_facts:
            if fact not in winners:
                told = frozenset(s for s in possible if fact.holds(s) == fact.holds(truth))
                if common_plan(told, goal) is None:
                    losers.append(fact)
        if len(losers) < distractors:
            return None
        chosen = [missing, *rng.sample(losers, distractors)]
        rng.shuffle(chosen)
        visible = PlanningVisible(blocks, placed, hidden, partial, goal, tuple((f.key, f) for f in chosen))
        value = missing.holds(truth)
        plan = common_plan(frozenset(s for s in possible if missing.holds(s) == value), goal)
        return Problem(
            statement=_statement(visible),
            variables=tuple(Variable(f.key, _question(f), _phrases(f), f.holds(truth), _reply(f, f.holds(truth)))
                            for f in chosen),
            missing=missing.key, answer=truth, answer_text=plan_text(plan), visible=visible,
            persona="You can see the whole table of blocks.",
            topics="You may ask whether: " + "; ".join(_whether(f) for f in chosen) + ".",
            unknown_reply="I can only answer the listed yes/no questions about the blocks.",
        )

    def necessary(self, problem: Problem) -> str:
        visible: PlanningVisible = problem.visible
        possible = visible.possible()
        [key] = [key for key, fact in visible.askable if _sufficient(visible, possible, fact)]
        return key

    def solve(self, problem: Problem, revealed: Mapping[str, Any]) -> str:
        visible: PlanningVisible = problem.visible
        plan = common_plan(visible.possible(revealed), visible.goal)
        if plan is None:
            raise ValueError("the revealed facts do not determine a plan")
        return plan_text(plan)

    def judge(self, problem: Problem, answer: str) -> bool:
        visible: PlanningVisible = problem.visible
        plan = read_plan(answer, visible.blocks)
        state: State = problem.answer
        return (len(plan) == distances(visible.blocks, visible.goal)[state]
                and plan_builds(state, visible.goal, plan))

    def random_answer(self, problem: Problem, rng: random.Random) -> str:
        blocks = problem.visible.blocks
        plan = []
        for _ in range(rng.randint(1, 2 * blocks)):
            block = rng.randrange(blocks)
            plan.append((block, rng.choice([TABLE, *(b for b in range(blocks) if b != block)])))
        return plan_text(tuple(plan))


def _statement(visible: PlanningVisible) -> str:
    names = [COLOURS[b] for b in range(visible.blocks)]
    lines = [f"Blocks: {', '.join(names)}."]
    for block, on in visible.placed:
        lines.append(f"The {COLOURS[block]} block is on {_name(on)}.")
    named = [f"the {COLOURS[b]} block" for b in visible.hidden]
    hidden = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    lines.append(f"You cannot see where {hidden} {'is' if len(visible.hidden) == 1 else 'are'}.")
    for fact, value in visible.partial:
        lines.append(_said(fact, value))
    tower = " on ".join(f"the {COLOURS[b]} block" for b in visible.goal)
    others = " (other blocks may be anywhere)" if len(visible.goal) < visible.blocks else ""
    lines.append(f"Goal: {tower}, with the {COLOURS[visible.goal[-1]]} block on the table{others}.")
    lines.append("Give the shortest plan that reaches the goal.")
    return "\n".join(lines)


class PlanningQ(QuestEnv):
    """Planning-Q (see the module docstring): ask for the one fact the optimal plan depends
    on, then give the plan."""

    generator = PlanningQGenerator()
