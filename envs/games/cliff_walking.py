"""CliffWalking: a text version of Gymnasium's toy-text CliffWalking (non-slippery).

The rules are Gymnasium's: a grid four rows high with the start ``S`` and the goal ``G`` on the
bottom row and a cliff ``C`` on the bottom row between them; stepping onto the cliff sends the
walker back to the start (Gymnasium's -100 becomes a negative ``progress`` under dense rewards and
lost steps); a move off the grid leaves the walker in place; reaching the goal ends the episode.

What each seed changes, so that episodes differ: the start and goal columns (near opposite ends,
start on the left or the right) and, at medium and hard, a ragged cliff edge: extra cliff cells
on the row above the bottom one, between start and goal. The rows above stay clear, so every map is
solvable. Gymnasium's map is the hard level's width (12) with the start at the far left, the goal
at the far right and no ragged edge: ``reset(options={"start_column": 0, "goal_column": 11,
"ragged_columns": []})`` at hard plays exactly it (columns count from 0 here, as in Gymnasium).
A hand-made layout needs both ``start_column`` and ``goal_column`` (``ragged_columns`` defaults
to none); one given in part is a ``ConfigError``.
"""

from __future__ import annotations

from typing import Any

from agentgym.core import ConfigError, Feedback, InvalidAction
from agentgym.envs.games.base import whole_number
from agentgym.envs.games.grid_walk import (
    WordParser,
    compass_words,
    distances_to,
    move_table,
    neighbours,
)
from agentgym.envs.games.grid_walk_game import GridWalkGame

_ROWS = 4
# difficulty -> (columns, extra cliff cells on the ragged edge, steps allowed)
_LEVELS = {"easy": (6, 0, 25), "medium": (9, 1, 40), "hard": (12, 3, 50)}
_PARSER = WordParser(compass_words())
_TABLES = {cols: move_table(_ROWS, cols) for cols, _, _ in _LEVELS.values()}
#: The reset options of a hand-made layout: any of them asks for one (start and goal required).
_LAYOUT_OPTIONS = frozenset({"start_column", "goal_column", "ragged_columns"})
_NEIGHBOURS = {cols: neighbours(tables) for cols, tables in _TABLES.items()}


class CliffWalking(GridWalkGame):
    """Walk from ``S`` to ``G`` along a cliff edge on a 4 x N grid (N = 6, 9, 12).

    Action: a direction word (``left``, ``down``, ``right``, ``up`` or ``west``, ``south``,
    ``east``, ``north``; the last one in the text counts). Reward: ``outcome`` 1 on reaching the
    goal, 0 when the steps run out. With ``dense_reward``, ``progress`` is the signed reduction
    of the shortest safe distance to the goal, as a fraction of the distance from the start
    (falling off the cliff gives back all progress made since the start).
    """

    strategy_hint = (
        "Step up off the bottom row first, walk along the row above the cliff, then step down onto the goal."
    )
    #: The strategy at levels with a ragged edge: the row just above the bottom one has cliff cells.
    RAGGED_STRATEGY_HINT = (
        "Climb two rows up off the bottom row first (the row just above it has cliff cells too), walk along "
        "that row, then come back down onto the goal."
    )

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.cols, self.ragged_cells, self.max_steps = _LEVELS[self.difficulty]
        self._moves = _TABLES[self.cols]
        self.instructions = (
            f"CliffWalking: walk on a grid of {_ROWS} rows and {self.cols} columns from the start "
            "S to the goal G, both on the bottom row. C is the cliff: stepping onto it throws "
            "you back to the start. o is safe ground and @ marks where you stand. Walking off "
            f"the edge of the grid leaves you in place (the step still counts). You have "
            f"{self.max_steps} steps. Reply with one direction: left, down, right or up (west, "
            "south, east, north also work), e.g. \"up\". If you name several directions, the "
            "last one counts."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        if not _LAYOUT_OPTIONS.isdisjoint(options):
            start_col, goal_col, ragged = _layout_columns(options)
            self._check_layout(start_col, goal_col, ragged)
        else:
            start_col, goal_col, ragged = self._random_layout()
        self._lay_out(start_col, goal_col, ragged)
        self.position = self.start
        self.steps = self.falls = 0
        return (f"You stand on the start S. Reach the goal G in at most {self.max_steps} steps "
                f"without stepping onto the cliff C.\n{self._grid()}")

    def _random_layout(self) -> tuple[int, int, list[int]]:
        """Start and goal near opposite ends (either way round) and the ragged edge's columns."""
        cols, rng = self.cols, self.rng
        margin = cols // 4
        start_col, goal_col = rng.randint(0, margin), rng.randint(cols - 1 - margin, cols - 1)
        if rng.random() < 0.5:  # mirror: walk from right to left
            start_col, goal_col = cols - 1 - start_col, cols - 1 - goal_col
        low, high = sorted((start_col, goal_col))
        return start_col, goal_col, rng.sample(range(low + 1, high), self.ragged_cells)

    def _check_layout(self, start_col: Any, goal_col: Any, ragged: list[Any]) -> None:
        columns = range(self.cols)
        if start_col not in columns or goal_col not in columns or start_col == goal_col:
            raise ValueError(f"start_column and goal_column must be two different columns in "
                             f"0..{self.cols - 1}, got {start_col!r} and {goal_col!r}")
        low, high = sorted((start_col, goal_col))
        if any(col not in range(low + 1, high) for col in ragged):
            raise ValueError(f"ragged_columns must lie strictly between start and goal, "
                             f"got {ragged!r}")

    def _lay_out(self, start_col: int, goal_col: int, ragged: list[int]) -> None:
        cols = self.cols
        bottom = (_ROWS - 1) * cols
        low, high = sorted((start_col, goal_col))
        tiles = ["o"] * (_ROWS * cols)
        for col in range(low + 1, high):
            tiles[bottom + col] = "C"
        for col in ragged:
            tiles[bottom - cols + col] = "C"
        self.start, self.goal = bottom + start_col, bottom + goal_col
        tiles[self.start], tiles[self.goal] = "S", "G"
        self.tiles = tiles
        # the episode's strategy (hint level 2): one row up is safe only without a ragged edge
        self.strategy_hint = self.RAGGED_STRATEGY_HINT if ragged else type(self).strategy_hint
        self.dist = distances_to([self.goal], _NEIGHBOURS[cols], [t != "C" for t in tiles])
        self._rows = [" ".join(tiles[r * cols:(r + 1) * cols]) for r in range(_ROWS)]

    def play(self, action: str) -> Feedback:
        move = _PARSER.last_move(action)
        if move is None:
            raise InvalidAction("reply with a direction: left, down, right or up.")
        before = self.position
        after = self._moves[move][before]
        fell = self.tiles[after] == "C"
        if fell:
            self.falls += 1
            after = self.start
        self.position = after
        self.steps += 1
        rewards = {}
        if self.dense_reward:
            rewards["progress"] = (self.dist[before] - self.dist[after]) / self.dist[self.start]
        if after == self.goal:
            rewards["outcome"] = 1.0
            return Feedback(f"You moved {move} and reached the goal in {self.steps} steps. "
                            f"You win!\n{self._grid()}", rewards, terminated=True, success=True)
        if fell:
            what = f"You moved {move}, fell off the cliff and are back at the start."
        elif after == before:
            what = f"You cannot go {move}: that is the edge."
        else:
            what = f"You moved {move}."
        return self._after_move(what, rewards)

    def render_text(self) -> str:
        return (f"CliffWalking {_ROWS}x{self.cols}, step {self.steps}/{self.max_steps}, "
                f"{self.falls} falls\n{self._grid()}")


def _layout_columns(options: dict[str, Any]) -> tuple[int, int, list[int]]:
    """``options``' ``start_column``, ``goal_column`` and ``ragged_columns`` as integers.

    Raises:
        ConfigError: naming the option that is missing (``start_column`` or ``goal_column``:
            a layout given in part is refused, not replaced by a random one) or not an integer
            (or, for ``ragged_columns``, not a list of integers); a float such as ``1.0``
            passed the range check and indexed the grid.
    """
    for name in ("start_column", "goal_column"):
        if name not in options:
            raise ConfigError(f"options[{name!r}] is missing: a hand-made layout gives start_column and "
                              f"goal_column (ragged_columns is optional), got {options!r}")

    def column(name: str, value: Any) -> int:
        try:
            return whole_number(value)
        except TypeError:
            raise ConfigError(f"options[{name!r}] must be a column number (an integer), got {value!r}") from None

    start, goal = (column(name, options.get(name)) for name in ("start_column", "goal_column"))
    ragged = options.get("ragged_columns", ())
    if isinstance(ragged, (str, bytes)) or not hasattr(ragged, "__iter__"):
        raise ConfigError(f"options['ragged_columns'] must be a list of column numbers, got {ragged!r}")
    return start, goal, [column("ragged_columns", col) for col in ragged]
