"""Tower of Hanoi: move every disk to the last peg, never putting a larger disk on a smaller."""

from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import GameEnv, ascii_digits

_PEG_NAMES = "ABC"
_TARGET = 2  # every disk must end on peg C
# A peg is A/B/C or 1/2/3, optionally preceded by "peg"; two pegs separated by an arrow,
# "to", a comma or spaces make a move ("A->C", "move a to c", "1 3", "peg 1 to peg 3"); blanks
# alone are one alternative (blanks around optional blanks take quadratic time on a long run).
_PEG = r"(?:peg\s*)?([abc123])"
_MOVE = re.compile(
    rf"(?<![a-z0-9]){_PEG}(?:\s*(?:->|→|=>|>|\bto\b|,)\s*|\s+){_PEG}(?![a-z0-9])", re.IGNORECASE
)
# A number after "disk" names a disk, not a peg ("move disk 1 to C", "disk #2", "disk no. 2",
# "disk number 2"): dropped before the pegs are searched, so it is no move from peg 1 or 2. The
# optional mark is tried only where the blanks end (no two blank runs meet: linear time).
_DISK_NUMBER = re.compile(r"\b(dis[ck]s?)\s*(?:(?:#|no\b\.?|nr\b\.?|number\b)\s*)?\d+", re.IGNORECASE)
_PEG_INDEX = {"a": 0, "b": 1, "c": 2, "1": 0, "2": 1, "3": 2, "A": 0, "B": 1, "C": 2}
# The usual spellings of each move ("move A C", "A->C", "1 3"...), looked up before the search:
# what ``_MOVE`` finds in them, found once here.
_SPELLED = {text: _MOVE.findall(text)[-1]
            for s in "ABCabc123" for t in "ABCabc123"
            for text in (f"move {s} {t}", f"{s} {t}", f"{s}->{t}", f"{s} -> {t}", f"{s} to {t}")}
_MOVES = tuple((s, t) for s in range(3) for t in range(3) if s != t)
_MOVE_TEXT = {move: f"move {_PEG_NAMES[move[0]]} {_PEG_NAMES[move[1]]}" for move in _MOVES}
_LEVELS = {"easy": 3, "medium": 4, "hard": 5}  # difficulty -> number of disks
_DISK_TEXT = [str(disk + 1) for disk in range(max(_LEVELS.values()))]
_NO_DISK = len(_DISK_TEXT)  # the "top" of an empty peg: larger than every disk


@lru_cache(maxsize=None)
def _peg_text(peg: int, disks: tuple[int, ...]) -> str:
    """One peg's line, e.g. ``A: 3 1`` (bottom to top); cached: there are few distinct pegs."""
    return f"{_PEG_NAMES[peg]}: {' '.join([_DISK_TEXT[d] for d in disks]) or '-'}"


@lru_cache(maxsize=None)
def _legal_moves(tops: tuple[int, int, int]) -> tuple[str, ...]:
    """The legal moves, as text, given the top disk of each peg (``_NO_DISK`` when empty)."""
    return tuple(_MOVE_TEXT[move] for move in _MOVES if tops[move[0]] < tops[move[1]])


def distance_to_goal(position: list[int]) -> int:
    """The fewest moves that bring every disk to peg C from ``position``.

    ``position[d]`` is the peg (0..2) of disk ``d`` (0 is the smallest). Going from the largest
    disk down: a disk already on its target peg costs nothing and leaves the target unchanged;
    a disk on another peg costs ``2**d`` (park the ``d`` smaller disks on the third peg, move
    it, then bring them back, which is counted by the smaller disks) and the smaller disks must
    first gather on that third peg. This is the optimal distance from any legal configuration.
    """
    target, moves = _TARGET, 0
    for disk in range(len(position) - 1, -1, -1):
        peg = position[disk]
        if peg != target:
            moves += 1 << disk
            target = 3 - peg - target
    return moves


def optimal_move(position: list[int]) -> tuple[int, int] | None:
    """The first move of an optimal solution from ``position`` (``None`` when solved).

    It moves the smallest disk that is not on its target peg (see :func:`distance_to_goal`):
    every smaller disk already sits on that disk's third peg, so the move is legal and brings
    the distance down by one.
    """
    target, move = _TARGET, None
    for disk in range(len(position) - 1, -1, -1):
        peg = position[disk]
        if peg != target:
            move = (peg, target)
            target = 3 - peg - target
    return move


@lru_cache(maxsize=512)  # every start of the three levels (351) fits
def _start(position: tuple[int, ...]) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...], int, str]:
    """What a start ``position`` gives, worked out once per position (there are at most 3**5),
    all immutable: the pegs (disks bottom to top), their lines, the distance to the goal and
    the first observation."""
    disks = len(position)
    pegs: list[list[int]] = [[], [], []]
    for disk in range(disks - 1, -1, -1):
        pegs[position[disk]].append(disk)
    lines = [_peg_text(peg, tuple(pegs[peg])) for peg in range(3)]
    board = "\n".join(lines)
    distance = distance_to_goal(list(position))
    observation = (f"{board}\nMove all {disks} disks to peg C. The minimum is "
                   f"{distance} moves; you have {2 * distance + disks}.")
    return tuple(map(tuple, pegs)), tuple(lines), distance, observation


# options["start"], upper-cased -> the position it names: every start of every level (3, 4 or 5
# disks) but all on C; a text not in it is refused.
_START_POSITIONS = {
    "".join(_PEG_NAMES[peg] for peg in position): position
    for disks in _LEVELS.values()
    for position in itertools.product(range(3), repeat=disks)
    if position != (_TARGET,) * disks
}


class TowerOfHanoi(GameEnv):
    """Move N disks (3, 4 or 5) from a random legal start onto peg C, one disk at a time.

    The start spreads the disks over the three pegs at random, with at least the largest disk
    off peg C. The agent has ``2 * optimal + N`` moves; running out is a loss.

    Action: ``move A C`` (also ``A->C``, ``1 3``, ``from peg 1 to peg 3``; the last move in the
    text counts; other scripts' decimal digits are read too, e.g. fullwidth ``１ ３``; a number
    after "disk" is a disk, not a peg: "disk 2", "disk #2", "disk no. 2").
    Reward: ``outcome`` 1 on a win, 0 when the moves run out; with ``dense_reward``, ``progress``
    is the change in optimal distance to the goal divided by the starting distance (positive when
    the move gets closer, negative when it backs away; the oracle collects exactly 1).
    """

    # Not the textbook cycle of the smallest disk: that solves a full tower, and from most of
    # these random starts it never reaches one on C.
    strategy_hint = (
        "Take the largest disk not yet on C: first gather every smaller disk on the peg that is neither its "
        "own nor C (the same way, one disk smaller at a time), then move it onto C; repeat."
    )

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.disks = _LEVELS[self.difficulty]
        self.instructions = (
            f"Tower of Hanoi with {self.disks} disks (1 is the smallest, {self.disks} the "
            "largest) on three pegs A, B and C. Move every disk onto peg C. Each move takes the "
            "top disk of one peg and puts it on top of another peg; a disk may never sit on a "
            "smaller disk. Pegs are listed bottom to top. You have a limited number of moves "
            "(twice the minimum plus a little slack). Reply with one move: the source and "
            "destination peg, e.g. 'move A C' (also 'A->C' or '1 3')."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        """Draw a start, or take ``options["start"]``: the peg of each disk, smallest first,
        e.g. ``"AAB"`` (disks 1 and 2 on A, disk 3 on B)."""
        disks, rng = self.disks, self.rng
        if "start" in options:
            start = str(options["start"]).upper()
            position = _START_POSITIONS.get(start)
            if position is None and len(start) == disks and set(start) <= set(_PEG_NAMES) and start != "C" * disks:
                position = tuple(_PEG_NAMES.index(peg) for peg in start)  # a disk count of no level
            if position is None or len(position) != disks:
                raise ValueError(f"options['start'] must name the peg (A, B or C) of each of the "
                                 f"{disks} disks, smallest first, not all on C; got {start!r}")
        else:
            drawn = [rng.randrange(3) for _ in range(disks - 1)]
            drawn.append(rng.randrange(2))  # the largest disk starts off peg C: never trivial
            position = tuple(drawn)
        (a, b, c), lines, self.distance, observation = _start(position)
        self.position = [*position]  # the game's own copies of what the cache shares
        self.pegs = [[*a], [*b], [*c]]
        self._peg_lines = [*lines]
        self.start_distance = self.distance
        self.max_moves = 2 * self.distance + disks
        self.moves = 0
        return observation

    def play(self, action: str) -> Feedback:
        move = _SPELLED.get(action)
        if move is None:
            found = _MOVE.findall(_DISK_NUMBER.sub(r"\1", ascii_digits(action)))
            if not found:
                raise InvalidAction("reply with a move such as 'move A C' (from peg A to peg C).")
            move = found[-1]
        source_name, dest_name = move
        source, dest = _PEG_INDEX[source_name], _PEG_INDEX[dest_name]
        if source == dest:
            raise InvalidAction("the source and destination pegs must differ.")
        from_peg, to_peg = self.pegs[source], self.pegs[dest]
        if not from_peg:
            raise InvalidAction(f"peg {_PEG_NAMES[source]} is empty; move a disk from another peg.")
        disk = from_peg[-1]
        if to_peg and to_peg[-1] < disk:
            raise InvalidAction(
                f"disk {disk + 1} cannot go on the smaller disk {to_peg[-1] + 1} on peg "
                f"{_PEG_NAMES[dest]}.")
        to_peg.append(from_peg.pop())
        self._peg_lines[source] = self._peg_line(source)
        self._peg_lines[dest] = self._peg_line(dest)
        self.position[disk] = dest
        self.moves += 1
        old_distance, self.distance = self.distance, distance_to_goal(self.position)
        rewards = {}
        if self.dense_reward:
            rewards["progress"] = (old_distance - self.distance) / self.start_distance
        moved = f"Moved disk {disk + 1} from {_PEG_NAMES[source]} to {_PEG_NAMES[dest]}."
        if self.distance == 0:
            rewards["outcome"] = 1.0
            return Feedback(f"{moved} All disks are on peg C in {self.moves} moves. You win!",
                            rewards, terminated=True, success=True)
        left = self.max_moves - self.moves
        if left == 0:
            rewards["outcome"] = 0.0
            return Feedback(f"{moved}\n{self._describe()}\nNo moves left. You lose.", rewards,
                            terminated=True)
        return Feedback(f"{moved}\n{self._describe()}\n{left} moves left.", rewards)

    def _peg_line(self, peg: int) -> str:
        return _peg_text(peg, tuple(self.pegs[peg]))

    def _describe(self) -> str:
        return "\n".join(self._peg_lines)

    def random_action(self, rng: random.Random) -> str:
        """A random legal move (there are always two or three)."""
        a, b, c = self.pegs
        legal = _legal_moves((a[-1] if a else _NO_DISK, b[-1] if b else _NO_DISK, c[-1] if c else _NO_DISK))
        return legal[int(rng.random() * len(legal))]

    def oracle_action(self) -> str:
        """The optimal move from the current configuration (see :func:`optimal_move`)."""
        move = optimal_move(self.position)
        return _MOVE_TEXT[move] if move else "move A C"

    def render_text(self) -> str:
        width = 2 * self.disks + 1
        rows = []
        for level in range(self.disks - 1, -1, -1):
            cells = []
            for peg in self.pegs:
                if level < len(peg):
                    size = peg[level] + 1
                    cells.append(("=" * (2 * size - 1)).center(width))
                else:
                    cells.append("|".center(width))
            rows.append(" ".join(cells))
        rows.append(" ".join(name.center(width) for name in _PEG_NAMES))
        rows.append(f"moves {self.moves}/{self.max_moves}, {self.distance} from the goal")
        return "\n".join(rows)
