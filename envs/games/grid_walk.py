"""What the walking games (FrozenLake, CliffWalking, Taxi) share: reading a move word out of the
agent's text, move tables for rectangular grids, and breadth-first distances; and the strict
four-direction reading of the sliding games (2048, Sokoban: :func:`parse_direction`).

Cells are numbered row by row (``row * cols + col``, row 0 at the top), as in Gymnasium's
toy-text environments, so a position is one small int and a move is one table lookup.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from agentgym.core import InvalidAction

#: The four compass moves as (row change, column change), by their canonical word.
COMPASS = {"left": (0, -1), "down": (1, 0), "right": (0, 1), "up": (-1, 0)}
#: Words the agent may use for each compass move.
COMPASS_SYNONYMS = {"west": "left", "south": "down", "east": "right", "north": "up"}
#: For each move word, the cell each cell leads to.
MoveTables = dict[str, tuple[int, ...]]
#: For each cell, the cells one move away.
Adjacency = tuple[tuple[int, ...], ...]


class WordParser:
    """Finds the last recognised move word in free text, case-insensitively.

    ``words`` maps every accepted spelling (plain text such as ``"pick up"``) to the move it
    stands for; spellings are matched as whole words and the last one in the text wins, so
    "not left but right" means right.
    """

    def __init__(self, words: dict[str, str]) -> None:
        self._moves = {spelling.lower(): move for spelling, move in words.items()}
        # Longer spellings first so that "pick up" is read as one word, not as "up".
        spellings = sorted(self._moves, key=len, reverse=True)
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, spellings)) + r")\b",
                                   re.IGNORECASE | re.ASCII)

    def last_move(self, text: str) -> str | None:
        """The move named last in ``text``, or ``None`` when it names none."""
        found = self._pattern.findall(text)
        return self._moves[found[-1].lower()] if found else None


#: The four directions of the sliding games, in the order they list them.
DIRECTIONS = ("up", "down", "left", "right")
_DIRECTION_WORD = re.compile(r"\b(up|down|left|right)\b", re.IGNORECASE)
_DIRECTION_LETTER = re.compile(r"\W*([udlr])\W*", re.IGNORECASE)
_LETTER_TO_DIRECTION = {"u": "up", "d": "down", "l": "left", "r": "right"}


def parse_direction(action: str) -> str:
    """The direction an action of 2048 or Sokoban names: the last of ``up``, ``down``, ``left``,
    ``right`` in the text (whole words, any case), else a lone letter ``u``/``d``/``l``/``r``
    (punctuation around it allowed). No synonyms, unlike :class:`WordParser` over
    :func:`compass_words`.

    Raises:
        InvalidAction: the action names no direction.
    """
    words = _DIRECTION_WORD.findall(action)
    if words:
        return words[-1].lower()
    letter = _DIRECTION_LETTER.fullmatch(action)
    if letter:
        return _LETTER_TO_DIRECTION[letter.group(1).lower()]
    raise InvalidAction("reply with one direction: up, down, left or right.")


def compass_words(**extra: str) -> dict[str, str]:
    """The compass words and their synonyms (each standing for its canonical word), plus
    ``extra`` spellings."""
    words = {word: word for word in COMPASS}
    words.update(COMPASS_SYNONYMS)
    words.update(extra)
    return words


def move_table(rows: int, cols: int) -> MoveTables:
    """For each compass word, the cell each cell leads to; a move off the grid stays put
    (Gymnasium's toy-text grids clamp at the edges)."""
    table = {}
    for word, (dr, dc) in COMPASS.items():
        targets = []
        for row in range(rows):
            for col in range(cols):
                r, c = row + dr, col + dc
                inside = 0 <= r < rows and 0 <= c < cols
                targets.append(r * cols + c if inside else row * cols + col)
        table[word] = tuple(targets)
    return table


def neighbours(moves: MoveTables) -> Adjacency:
    """For each cell, the other cells one move away (from move tables like :func:`move_table`)."""
    tables = list(moves.values())
    return tuple(tuple(sorted({table[cell] for table in tables} - {cell}))
                 for cell in range(len(tables[0])))


def distances_to(goals: Iterable[int], adjacent: Sequence[Sequence[int]],
                 passable: Sequence[bool]) -> list[int]:
    """Fewest moves from every cell to the nearest of ``goals`` (``-1`` where none can be
    reached), walking only through cells with ``passable[cell]`` true.

    ``adjacent`` lists each cell's neighbours (see :func:`neighbours`). Moves are assumed
    reversible (true for every grid here), so a search backwards from the goals gives forward
    distances.
    """
    dist = [-1] * len(passable)
    frontier = list(goals)
    for goal in frontier:
        dist[goal] = 0
    for cell in frontier:  # the list grows while it is read: a breadth-first queue
        step = dist[cell] + 1
        for neighbour in adjacent[cell]:
            if dist[neighbour] < 0 and passable[neighbour]:
                dist[neighbour] = step
                frontier.append(neighbour)
    return dist


def first_step_closer(cell: int, dist: Sequence[int], moves: MoveTables) -> str:
    """A move word that takes ``cell`` one step closer to the goal of ``dist``."""
    want = dist[cell] - 1
    for word, table in moves.items():
        if dist[table[cell]] == want:
            return word
    raise ValueError(f"cell {cell} has no move towards the goal")
