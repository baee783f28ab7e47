"""TicTacToe against a built-in opponent of adjustable strength.

The opponent plays a perfect minimax move (memoised over all positions, the quickest win or the
slowest loss, ties broken with ``self.rng``) with probability ``opponent_strength`` and a uniformly
random legal move otherwise. A perfect opponent can always force a draw, so the default strengths
are set for an oracle that wins honestly: it knows the opponent's policy (its strength is a public
setting) and plays the move that maximises its exact probability of winning, steering towards the
positions where a random slip loses. Its exact win rates moving first are 99.5% (easy, strength
0.0), 97% (medium, 0.15) and 92% (hard, 0.3); stronger opponents (``opponent_strength`` up to 1.0)
are available but cannot be beaten reliably by anyone.

``reset(options={"moves": "519"})`` starts from the position after those cells were marked (X
first), for analysis and tests; it must leave the agent to move in an unfinished game.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import TwoPlayerGame, ascii_digits

LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
#: For each cell, the pairs of other cells that complete a line with it.
_PARTNERS = tuple(tuple(tuple(x for x in line if x != cell) for line in LINES if cell in line)
                  for cell in range(9))
EMPTY = "."
DEFAULT_STRENGTH = {"easy": 0.0, "medium": 0.15, "hard": 0.3}
THREAT_REWARD = 0.1
# Entries of each memo of the oracle's win chances: keyed by the opponent's strength too, so an
# unbounded memo grew by about 2.8 MB for every strength a process played against; this holds
# the whole game tree of about three strengths (2,400 + 800 positions to move for each).
_CHANCES_MEMO = 1 << 13
# "row 2 column 3" (also "r2c3", "row 2 and col 3", or column first: "column 3, row 2"),
# "2 3" / "2,3" / "(2, 3)", or a cell number 1-9; the last one in the text counts. A full stop
# may end the sentence ("2 3."); a decimal ("2.5") is no cell. The separator is one alternative
# per shape, not blanks around optional blanks (quadratic time on a long run).
_MOVE = re.compile(
    r"\br(?:ow)?\W*(\d+)(?:\W+and\b)?\W*c(?:ol(?:umn)?)?\W*(\d+)"
    r"|\bc(?:ol(?:umn)?)?\W*(\d+)(?:\W+and\b)?\W*r(?:ow)?\W*(\d+)"
    r"|(?<![\d.\-])([1-3])(?:\s*,\s*|\s+)([1-3])(?!\d|\.\d)"
    r"|(?<![\d.\-])([1-9])(?!\d|\.\d)",
    re.IGNORECASE | re.ASCII,
)


def wins_with(board: str, cell: int) -> bool:
    """Whether the mark on ``cell`` completes a line."""
    mark = board[cell]
    return any(board[a] == mark and board[b] == mark for a, b in _PARTNERS[cell])


def threats(board: str, mark: str) -> set[int]:
    """Empty cells where ``mark`` would complete a line."""
    return {cell for cell in range(9) if board[cell] == EMPTY
            and any(board[a] == mark and board[b] == mark for a, b in _PARTNERS[cell])}


def _place(board: str, cell: int, mark: str) -> str:
    return board[:cell] + mark + board[cell + 1:]


def _move_value(board: str, cell: int, mark: str, other: str) -> int:
    """The minimax value for ``mark`` of marking ``cell``: > 0 a win (larger is sooner), 0 a
    draw, < 0 a loss (closer to 0 is later)."""
    after = _place(board, cell, mark)
    if wins_with(after, cell):
        return after.count(EMPTY) + 1
    if EMPTY not in after:
        return 0
    return -_value(after, other, mark)


@lru_cache(maxsize=None)
def _value(board: str, mark: str, other: str) -> int:
    """The minimax value of ``board`` for ``mark``, to move (memoised)."""
    return max(_move_value(board, cell, mark, other) for cell in range(9) if board[cell] == EMPTY)


@lru_cache(maxsize=None)
def best_moves(board: str, mark: str, other: str) -> tuple[int, ...]:
    """The cells of perfect play for ``mark``, to move on ``board`` (memoised)."""
    scored = {cell: _move_value(board, cell, mark, other)
              for cell in range(9) if board[cell] == EMPTY}
    top = max(scored.values())
    return tuple(cell for cell, value in scored.items() if value == top)


@lru_cache(maxsize=_CHANCES_MEMO)
def _chances_to_move(board: str, me: str, other: str, strength: float) -> tuple[float, float]:
    """(P(win), P(draw)) for ``me``, to move, playing for the most wins (then draws) against
    an opponent of ``strength``."""
    best = (-1.0, -1.0)
    for cell in range(9):
        if board[cell] == EMPTY:
            after = _place(board, cell, me)
            if wins_with(after, cell):
                return (1.0, 0.0)
            if EMPTY not in after:
                best = max(best, (0.0, 1.0))
            else:
                best = max(best, _chances_after(after, me, other, strength))
    return best


@lru_cache(maxsize=_CHANCES_MEMO)
def _chances_after(board: str, me: str, other: str, strength: float) -> tuple[float, float]:
    """(P(win), P(draw)) for ``me`` with the opponent to move on ``board``."""
    legal = [cell for cell in range(9) if board[cell] == EMPTY]
    best = best_moves(board, other, me)
    win = draw = 0.0
    for cell in legal:
        p = (1.0 - strength) / len(legal) + (strength / len(best) if cell in best else 0.0)
        after = _place(board, cell, other)
        if wins_with(after, cell):
            continue
        w, d = (0.0, 1.0) if EMPTY not in after else _chances_to_move(after, me, other, strength)
        win += p * w
        draw += p * d
    return win, draw


def _describe(cell: int) -> str:
    return f"{cell + 1} (row {cell // 3 + 1}, column {cell % 3 + 1})"


class TicTacToe(TwoPlayerGame):
    """Get three in a row on a 3x3 board against a built-in opponent.

    Args:
        difficulty: ``easy``, ``medium`` or ``hard``: the default opponent strength.
        opponent_strength: probability in [0, 1] that the opponent plays a perfect move instead
            of a random legal one (default 0.0, 0.15, 0.3 by difficulty).
        agent_first: the agent moves first (as X); otherwise the opponent opens as X.

    Action: ``row column`` (e.g. ``2 3``, ``row 2, column 3``, ``r2c3``) or a cell number 1-9
    counted row by row (other scripts' decimal digits too, e.g. fullwidth ``５``); the last move
    in the text counts. Reward: ``outcome`` 1 for a win, 0.5 for a draw, 0 for a loss (success
    only on a win). With ``dense_reward``, ``progress`` is 0.1 per empty cell the agent's move
    turns into a winning cell for the agent (a new threat: two marks in a line, the third cell
    free) plus 0.1 when the move takes a winning cell of the opponent's (a block).
    """

    strategy_hint = (
        "Win if you can, block the opponent's two-in-a-row otherwise; the centre and corners are the strongest squares."
    )

    default_strength = DEFAULT_STRENGTH

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.instructions = (
            f"TicTacToe: you play {self.mark}, a computer plays {self.opponent_mark}; X moves "
            "first. Take turns marking empty cells of a 3x3 board; three of your marks in a row, "
            "column or diagonal win. The board shows each empty cell's number (1 2 3 on the top "
            "row, 4 5 6 in the middle, 7 8 9 at the bottom). Reply with the cell to mark, as a "
            "number 1-9 or as row and column (each 1-3), e.g. \"5\" or \"2 2\" for the centre. "
            "If you name several moves, the last one counts."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        self.board = EMPTY * 9
        if "moves" in options:
            self.board = self._replay(self._moves_option(options["moves"], "519"))
            return f"You play {self.mark}.\n{self._picture()}\nYour move."
        if self.agent_first:
            return f"You play {self.mark} and move first.\n{self._picture()}\nYour move."
        reply = self._opponent_move()
        return (f"You play {self.mark}. The opponent opened with {_describe(reply)}.\n"
                f"{self._picture()}\nYour move.")

    def play(self, action: str) -> Feedback:
        cell = self._parse(action)
        if self.board[cell] != EMPTY:
            free = ", ".join(str(i + 1) for i in range(9) if self.board[i] == EMPTY)
            raise InvalidAction(f"cell {_describe(cell)} is taken; choose a free cell: {free}.")
        before = self.board
        self.board = _place(before, cell, self.mark)
        rewards = {}
        if self.dense_reward:
            rewards["progress"] = THREAT_REWARD * self._threat_gain(before, cell)
        said = f"You marked {_describe(cell)}."
        if wins_with(self.board, cell):
            rewards["outcome"] = 1.0
            return Feedback(f"{said} Three in a row: you win!\n{self._picture()}", rewards,
                            terminated=True, success=True)
        if EMPTY not in self.board:
            rewards["outcome"] = 0.5
            return Feedback(f"{said} The board is full: a draw.\n{self._picture()}", rewards,
                            terminated=True)
        reply = self._opponent_move()
        said += f" The opponent marked {_describe(reply)}."
        if wins_with(self.board, reply):
            rewards["outcome"] = 0.0
            return Feedback(f"{said} Three in a row for the opponent: you lose.\n"
                            f"{self._picture()}", rewards, terminated=True)
        if EMPTY not in self.board:
            rewards["outcome"] = 0.5
            return Feedback(f"{said} The board is full: a draw.\n{self._picture()}", rewards,
                            terminated=True)
        return Feedback(f"{said}\n{self._picture()}\nYour move.", rewards)

    def _replay(self, moves: str) -> str:
        board = EMPTY * 9
        for turn, char in enumerate(moves):
            cell = int(char) - 1 if char in "123456789" else -1
            if cell < 0 or board[cell] != EMPTY:
                raise ValueError(f"moves {moves!r}: move {turn + 1} is not legal")
            board = _place(board, cell, "XO"[turn % 2])
            if wins_with(board, cell) or EMPTY not in board:
                raise ValueError(f"moves {moves!r} end the game")
        # whose turn is checked last: a move that is not legal is the first thing to name
        if len(moves) % 2 != (0 if self.agent_first else 1):
            raise ValueError(f"moves {moves!r} must leave the agent ({self.mark}) to move")
        return board

    def _parse(self, action: str) -> int:
        found = None
        for found in _MOVE.finditer(ascii_digits(action)):
            pass
        if found is None:
            raise InvalidAction("reply with a free cell: a number 1-9 or \"row column\" such as "
                                "\"2 3\".")
        row, col, col_first, row_second, row2, col2, number = found.groups()
        if number is not None:
            return int(number) - 1
        if row is None:
            row, col = (row_second, col_first) if col_first is not None else (row2, col2)
        if row not in ("1", "2", "3") or col not in ("1", "2", "3"):
            raise InvalidAction("rows and columns go from 1 to 3, e.g. \"row 2, column 3\".")
        return (int(row) - 1) * 3 + int(col) - 1

    def _opponent_move(self) -> int:
        """A perfect move with probability ``opponent_strength``, else a random legal one."""
        board, rng = self.board, self.rng
        if rng.random() < self.opponent_strength:
            cell = rng.choice(best_moves(board, self.opponent_mark, self.mark))
        else:
            cell = rng.choice([i for i in range(9) if board[i] == EMPTY])
        self.board = _place(board, cell, self.opponent_mark)
        return cell

    def _threat_gain(self, before: str, cell: int) -> int:
        created = threats(self.board, self.mark) - threats(before, self.mark)
        blocked = cell in threats(before, self.opponent_mark)
        return len(created) + blocked

    def _picture(self) -> str:
        shown = [mark if mark != EMPTY else str(i + 1) for i, mark in enumerate(self.board)]
        rows = [" | ".join(shown[r:r + 3]) for r in (0, 3, 6)]
        return "\n--+---+--\n".join(rows)

    def random_action(self, rng: random.Random) -> str:
        return str(rng.choice([i for i in range(9) if self.board[i] == EMPTY]) + 1)

    def oracle_action(self) -> str:
        """The move that maximises the exact chance of winning (then of drawing) against this
        opponent's known policy: perfect play with probability ``opponent_strength``, random
        otherwise."""
        board, me, other = self.board, self.mark, self.opponent_mark
        scored = {}
        for cell in range(9):
            if board[cell] == EMPTY:
                after = _place(board, cell, me)
                if wins_with(after, cell):
                    return str(cell + 1)
                scored[cell] = ((0.0, 1.0) if EMPTY not in after
                                else _chances_after(after, me, other, self.opponent_strength))
        return str(max(scored, key=scored.__getitem__) + 1)

    def render_text(self) -> str:
        return (f"TicTacToe: you are {self.mark}, opponent strength {self.opponent_strength}\n"
                f"{self._picture()}")
