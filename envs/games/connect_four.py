"""ConnectFour against a built-in opponent of adjustable strength and search depth.

The opponent plays its best move with probability ``opponent_strength`` and a uniformly random
legal column otherwise; its best move comes from an alpha-beta negamax search a few plies deep
(ties broken with ``self.rng``) with a cheap heuristic: open threats, then centre stones (see
:mod:`~agentgym.envs.games.connect_four_search`). The oracle runs the same search two plies
deeper, and to the end of the game once 16 cells or fewer are empty, so it sees the opponent's
traps, wins the endgame and punishes random slips. Measured over seeds 0-99 it wins 100% at
easy (strength 0.3, depth 2), 99% at medium (0.6, 3) and 97% at hard (0.7, 4), and draws the
rest. A stronger opponent (``opponent_strength`` 1.0) is available, but the oracle then wins only
10% (depth 2) to 50% (depth 4) of its games and draws most others: searching four plies deeper
would win about 85% but costs up to a third of a second per move in pure Python.

``reset(options={"moves": "4435"})`` starts from the position after those columns were played
(X first), for analysis and tests; it must leave the agent to move in an unfinished game.
"""

from __future__ import annotations

import random
import re
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import TwoPlayerGame, ascii_digits
from agentgym.envs.games.connect_four_search import (
    COLS,
    ROWS,
    best_columns,
    drop,
    is_win,
    threats,
)

# difficulty -> (default opponent strength, opponent search depth in plies)
_LEVELS = {"easy": (0.3, 2), "medium": (0.6, 3), "hard": (0.7, 4)}
ORACLE_EXTRA_DEPTH = 2
ORACLE_ENDGAME = 16  # with this few empty cells left the oracle searches to the end of the game
THREAT_REWARD = 0.1
# A full stop after the number ends a sentence; followed by a digit it makes a decimal (no move).
_COLUMN_NUMBER = re.compile(r"(?<![\d.\-])([1-7])(?!\d|\.\d)")
_HEADER = " ".join(str(c + 1) for c in range(COLS))


class ConnectFour(TwoPlayerGame):
    """Connect four discs in a row on a 6x7 board against a built-in opponent.

    Args:
        difficulty: ``easy``, ``medium`` or ``hard``: the opponent's default strength (0.3,
            0.6, 0.7) and its search depth (2, 3, 4 plies).
        opponent_strength: probability in [0, 1] that the opponent plays its searched best move
            instead of a random legal column.
        agent_first: the agent drops the first disc (as X); otherwise the opponent does.

    Action: a column number 1-7 (the last one in the text counts; other scripts' decimal digits
    too, e.g. fullwidth ``４``). Reward: ``outcome`` 1 for a win, 0.5 for a draw, 0 for a loss
    (success only on a win). With ``dense_reward``, ``progress`` is 0.1 per new empty cell the
    agent's disc makes a winning cell for the agent (a threat) plus 0.1 when the disc fills a
    winning cell of the opponent's (a block).
    """

    strategy_hint = (
        "Win if you can, block a column where the opponent would connect four; play central columns, which "
        "join the most lines."
    )

    default_strength = {level: strength for level, (strength, _) in _LEVELS.items()}

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.opponent_depth = _LEVELS[self.difficulty][1]
        self.instructions = (
            f"ConnectFour: you play {self.mark}, a computer plays {self.opponent_mark}; X moves "
            "first. Take turns dropping a disc into one of the 7 columns of a 6-row board; it "
            "falls to the lowest empty cell. Four of your discs in a row - across, up or "
            "diagonally - win. Reply with a column number 1-7 (1 is the leftmost), e.g. \"4\". "
            "If you name several columns, the last one counts."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        self.mine = self.theirs = self.mask = 0  # bitboards: agent, opponent, both
        self.cells = ["."] * (ROWS * COLS)  # row 0 at the top, for drawing
        if "moves" in options:
            self._replay(self._moves_option(options["moves"], "4435"))
            return f"You play {self.mark}.\n{self._picture()}\nYour move."
        if self.agent_first:
            return f"You play {self.mark} and move first.\n{self._picture()}\nYour move."
        reply = self._opponent_move()
        return (f"You play {self.mark}. The opponent dropped a disc in column {reply + 1}.\n"
                f"{self._picture()}\nYour move.")

    def play(self, action: str) -> Feedback:
        found = _COLUMN_NUMBER.findall(ascii_digits(action))
        if not found:
            raise InvalidAction("reply with a column number from 1 to 7.")
        col = int(found[-1]) - 1
        move = drop(self.mask, col)
        if not move:
            free = ", ".join(str(c + 1) for c in range(COLS) if drop(self.mask, c))
            raise InvalidAction(f"column {col + 1} is full; choose one of {free}.")
        rewards = {}
        if self.dense_reward:
            rewards["progress"] = THREAT_REWARD * self._threat_gain(move)
        self._place(col, move, self.mark)
        self.mine |= move
        said = f"You dropped a disc in column {col + 1}."
        if is_win(self.mine):
            rewards["outcome"] = 1.0
            return Feedback(f"{said} Four in a row: you win!\n{self._picture()}", rewards,
                            terminated=True, success=True)
        if self._full():
            rewards["outcome"] = 0.5
            return Feedback(f"{said} The board is full: a draw.\n{self._picture()}", rewards,
                            terminated=True)
        reply = self._opponent_move()
        said += f" The opponent dropped a disc in column {reply + 1}."
        if is_win(self.theirs):
            rewards["outcome"] = 0.0
            return Feedback(f"{said} Four in a row for the opponent: you lose.\n"
                            f"{self._picture()}", rewards, terminated=True)
        if self._full():
            rewards["outcome"] = 0.5
            return Feedback(f"{said} The board is full: a draw.\n{self._picture()}", rewards,
                            terminated=True)
        return Feedback(f"{said}\n{self._picture()}\nYour move.", rewards)

    def _replay(self, moves: str) -> None:
        """Play ``moves`` (X first). Raises ``ValueError``: a move that is not legal, moves that
        end the game (naming the move that does, even with moves after it), or that leave the
        opponent to move."""
        for turn, char in enumerate(moves):
            col = int(char) - 1 if char in "1234567" else -1
            move = drop(self.mask, col) if col >= 0 else 0
            if not move:
                raise ValueError(f"moves {moves!r}: move {turn + 1} is not legal")
            mover_is_agent = (turn % 2 == 0) == self.agent_first
            self._place(col, move, self.mark if mover_is_agent else self.opponent_mark)
            if mover_is_agent:
                self.mine |= move
            else:
                self.theirs |= move
            if is_win(self.mine) or is_win(self.theirs) or self._full():
                raise ValueError(f"moves {moves!r} end the game at move {turn + 1}")
        # whose turn is checked last: a move that is not legal is the first thing to name
        if len(moves) % 2 != (0 if self.agent_first else 1):
            raise ValueError(f"moves {moves!r} must leave the agent ({self.mark}) to move")

    def _opponent_move(self) -> int:
        """The searched best column with probability ``opponent_strength``, else a random one."""
        rng = self.rng
        if rng.random() < self.opponent_strength:
            col = rng.choice(best_columns(self.theirs, self.mask, self.opponent_depth))
        else:
            col = rng.choice([c for c in range(COLS) if drop(self.mask, c)])
        move = drop(self.mask, col)
        self._place(col, move, self.opponent_mark)
        self.theirs |= move
        return col

    def _place(self, col: int, move: int, mark: str) -> None:
        self.mask |= move
        row_from_bottom = move.bit_length() - 1 - (ROWS + 1) * col
        self.cells[(ROWS - 1 - row_from_bottom) * COLS + col] = mark

    def _full(self) -> bool:
        return self.mask.bit_count() == ROWS * COLS

    def _threat_gain(self, move: int) -> int:
        """New winning cells the agent's disc ``move`` creates, plus one if it blocks one."""
        mask = self.mask | move
        created = threats(self.mine | move, mask) & ~threats(self.mine, self.mask)
        blocked = bool(threats(self.theirs, self.mask) & move)
        return created.bit_count() + blocked

    def _picture(self) -> str:
        cells = self.cells
        rows = [" ".join(cells[r * COLS:(r + 1) * COLS]) for r in range(ROWS)]
        return "\n".join(rows) + "\n" + _HEADER

    def random_action(self, rng: random.Random) -> str:
        return str(rng.choice([c for c in range(COLS) if drop(self.mask, c)]) + 1)

    def oracle_action(self) -> str:
        """A best column of a search ``ORACLE_EXTRA_DEPTH`` plies deeper than the opponent's
        (the centre-most of equal ones)."""
        depth = self.opponent_depth + ORACLE_EXTRA_DEPTH
        empty = ROWS * COLS - self.mask.bit_count()
        if empty <= ORACLE_ENDGAME:
            depth = empty
        return str(best_columns(self.mine, self.mask, depth)[0] + 1)

    def render_text(self) -> str:
        return (f"ConnectFour: you are {self.mark}, opponent strength {self.opponent_strength}, "
                f"depth {self.opponent_depth}\n{self._picture()}")
