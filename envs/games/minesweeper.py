"""Minesweeper: reveal every safe cell of a mined grid, guided by neighbour counts."""

from __future__ import annotations

import random
import re
from typing import Any

from agentgym.core import ConfigError, Feedback, InvalidAction
from agentgym.envs.games.base import GameEnv, whole_number

# difficulty -> (rows, columns, mines)
_LEVELS = {"easy": (5, 5, 3), "medium": (8, 8, 10), "hard": (10, 10, 18)}
# A cell is "R C" (1-based) with lenient separators: "2 3", "(2, 3)", "row 2, col 3"; a full
# stop may end the sentence ("reveal 2 3."), a decimal ("2.5") is no cell number. No two
# optional parts meet on blanks (a run of them would be split every way: quadratic time).
_CELL = re.compile(
    r"(?<![\d.])(?:r(?:ow)?\s*)?(\d{1,3})(?:\s*[,;]\s*|\s+|(?=c))"
    r"(?:c(?:ol(?:umn)?)?\s*)?(\d{1,3})(?!\d|\.\d)",
    re.IGNORECASE,
)
_VERB = re.compile(r"\b(reveal|open|dig|click|flag|unflag)\b", re.IGNORECASE)
_HIDDEN, _FLAG, _MINE, _EMPTY = "#", "F", "*", "."
_COUNT_TEXT = (_EMPTY, *"12345678")


class Minesweeper(GameEnv):
    """Reveal every safe cell of a 5x5 (3 mines), 8x8 (10) or 10x10 (18) grid.

    Mines are laid after the first reveal, away from it and its neighbours, so the first
    reveal always opens an area. A revealed cell shows how many of its eight neighbours hide
    a mine; a cell with none opens its neighbours automatically. Revealing a mine loses; so
    does running out of actions (as many as there are cells: enough to reveal every safe cell
    and flag every mine once).

    Action: ``reveal R C`` or ``flag R C`` with 1-based row and column (``flag`` toggles,
    ``unflag`` removes; separators are lenient, e.g. ``reveal (2, 3)``; the last cell in the
    text counts, with the last verb before it, ``reveal`` by default). Reward: ``outcome`` 1
    when every safe cell is revealed, 0 on a loss; with ``dense_reward``, ``progress`` is the
    fraction of safe cells a reveal uncovered.
    """

    strategy_hint = (
        "A number counts the mines among its eight neighbours: reveal cells that the numbers prove safe, "
        "never guess next to unexplained numbers."
    )

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.rows, self.cols, self.mine_count = _LEVELS[self.difficulty]
        rows, cols = self.rows, self.cols
        self.cells = rows * cols
        self.safe_count = self.cells - self.mine_count
        self._neighbours = [
            [nr * cols + nc for nr in range(r - 1, r + 2) for nc in range(c - 1, c + 2)
             if 0 <= nr < rows and 0 <= nc < cols and (nr, nc) != (r, c)]
            for r in range(rows) for c in range(cols)
        ]
        # The board text is kept as tokens: the column header, then for each cell the text
        # before it (a gap, or a new line and the row label) and its character, which sits at
        # index 2 * cell + 2. A move rewrites the characters it changes; rendering is a join.
        width = 3 if cols >= 10 else 2
        gap = " " * (width - 1)
        header = " " * 3 + "".join(f"{c + 1:>{width}}" for c in range(cols))
        self._blank_tokens = [header]
        for cell in range(self.cells):
            r, c = divmod(cell, cols)
            self._blank_tokens += [f"\n{r + 1:>3}{gap}" if c == 0 else gap, _HIDDEN]
        self._allowed: dict[int, list[int]] = {}  # first reveal -> cells that may hold a mine
        self._opening = (f"{''.join(self._blank_tokens)}\nReveal all {self.safe_count} safe "
                         f"cells. {self.cells} actions left.")
        rules = (
            f"Minesweeper on a {rows}x{cols} grid with {self.mine_count} mines. Reveal every "
            "cell without a mine. A revealed cell shows how many of its 8 neighbours are mines "
            f"('{_EMPTY}' means none, and its neighbours open automatically); '{_HIDDEN}' is "
            f"hidden, '{_FLAG}' is flagged."
        )
        how = (
            " Rows and columns are numbered from 1. Reply with 'reveal R C' or 'flag R C' (flag "
            f"toggles a marker), e.g. 'reveal 2 3'. You have {self.cells} actions; revealing a "
            "mine loses."
        )
        self._level_instructions = self.instructions = f"{rules} The first reveal is always safe.{how}"
        # a hand-made board (options["mines"]) has its mines before the first reveal
        self._hand_made_instructions = rules + how

    def new_episode(self, options: dict[str, Any]) -> str:
        """Start a hidden grid; ``options["mines"]`` (1-based ``(row, col)`` pairs, for
        hand-made boards) lays the mines now instead of after the first reveal, so the first
        reveal may hit one (the episode's instructions then do not call it safe). A pair outside
        the grid, or a count of distinct cells other than the level's mines, is a ``ValueError``."""
        self.instructions = self._level_instructions
        self.mines: list[bool] | None = None
        self.counts: list[int] = []
        self.view = [_HIDDEN] * self.cells
        self._tokens = self._blank_tokens[:]
        self.hidden_safe = self.safe_count
        self.actions = 0
        if "mines" in options:
            try:
                pairs = [(whole_number(r), whole_number(c)) for r, c in options["mines"]]
            except (TypeError, ValueError):
                raise ConfigError(f"options['mines'] must be (row, col) pairs of integers, got "
                                  f"{options['mines']!r}") from None
            outside = [pair for pair in pairs if not (1 <= pair[0] <= self.rows and 1 <= pair[1] <= self.cols)]
            if outside:  # rows and columns count from 1: (0, 1) is no cell
                raise ValueError(f"options['mines'] has {', '.join(map(str, outside))} outside the "
                                 f"{self.rows}x{self.cols} grid (rows and columns count from 1)")
            cells = {(r - 1) * self.cols + c - 1 for r, c in pairs}
            if len(cells) != self.mine_count:
                raise ValueError(f"options['mines'] must list {self.mine_count} distinct cells "
                                 f"of the {self.rows}x{self.cols} grid")
            self._set_mines(cells)
            self.instructions = self._hand_made_instructions
        return self._opening

    # ----------------------------------------------------------------------- play
    def play(self, action: str) -> Feedback:
        cell, verb = self._parse(action)
        row, col = divmod(cell, self.cols)
        where = f"{row + 1} {col + 1}"
        shown = self.view[cell]
        if verb in ("flag", "unflag"):
            if shown not in (_HIDDEN, _FLAG):
                raise InvalidAction(f"cell {where} is already revealed; flag a hidden cell.")
            if verb == "unflag" and shown != _FLAG:
                raise InvalidAction(f"cell {where} has no flag to remove.")
            self.view[cell] = self._tokens[2 * cell + 2] = _HIDDEN if shown == _FLAG else _FLAG
            text = f"{'Flagged' if shown == _HIDDEN else 'Removed the flag from'} cell {where}."
            return self._after_action(text, {})
        if shown == _FLAG:
            raise InvalidAction(f"cell {where} is flagged; unflag it first or reveal another cell.")
        if shown != _HIDDEN:
            raise InvalidAction(f"cell {where} is already revealed; reveal a hidden cell.")
        if self.mines is None:
            self._lay_mines(cell)
        if self.mines[cell]:
            self.actions += 1
            return Feedback(f"Cell {where} was a mine. You lose.\n{self._board(show_mines=True)}",
                            {"outcome": 0.0}, terminated=True)
        opened = self._open(cell)
        rewards = {"progress": opened / self.safe_count} if self.dense_reward else {}
        if self.hidden_safe == 0:
            self.actions += 1
            rewards["outcome"] = 1.0
            return Feedback(f"{self._board()}\nEvery safe cell is revealed. You win!", rewards,
                            terminated=True, success=True)
        return self._after_action(f"Revealed {opened} cell{'s' if opened > 1 else ''}.", rewards)

    def _after_action(self, text: str, rewards: dict[str, float]) -> Feedback:
        self.actions += 1
        left = self.cells - self.actions
        if left == 0:
            rewards["outcome"] = 0.0
            return Feedback(f"{text}\n{self._board()}\nNo actions left. You lose.", rewards,
                            terminated=True)
        return Feedback(f"{text}\n{self._board()}\n{self.hidden_safe} safe cells hidden, "
                        f"{left} actions left.", rewards)

    def _parse(self, action: str) -> tuple[int, str]:
        last = None
        for last in _CELL.finditer(action):
            pass
        if last is None:
            raise InvalidAction("reply with 'reveal R C' or 'flag R C', e.g. 'reveal 2 3'.")
        row, col = int(last.group(1)), int(last.group(2))
        if not (1 <= row <= self.rows and 1 <= col <= self.cols):
            raise InvalidAction(f"rows go from 1 to {self.rows} and columns from 1 to {self.cols}.")
        verbs = _VERB.findall(action, 0, last.start())
        verb = verbs[-1].lower() if verbs else "reveal"
        return (row - 1) * self.cols + col - 1, verb

    def _lay_mines(self, first: int) -> None:
        """Lay the mines at random anywhere but on ``first`` and its neighbours."""
        allowed = self._allowed.get(first)
        if allowed is None:
            keep_clear = {first, *self._neighbours[first]}
            allowed = self._allowed[first] = [c for c in range(self.cells) if c not in keep_clear]
        self._set_mines(self.rng.sample(allowed, self.mine_count))

    def _set_mines(self, cells) -> None:
        mines = [False] * self.cells
        counts = [0] * self.cells
        neighbours = self._neighbours
        for cell in cells:
            mines[cell] = True
            for around in neighbours[cell]:
                counts[around] += 1
        self.mines, self.counts = mines, counts

    def _open(self, cell: int) -> int:
        """Reveal ``cell`` and flood through cells with no mine around; return how many opened."""
        view, tokens, counts, neighbours = self.view, self._tokens, self.counts, self._neighbours
        stack, opened = [cell], 0
        view[cell] = ""  # marks "being opened" so it is not stacked twice
        while stack:
            here = stack.pop()
            count = counts[here]
            view[here] = tokens[2 * here + 2] = _COUNT_TEXT[count]
            opened += 1
            if count == 0:
                for around in neighbours[here]:
                    if view[around] == _HIDDEN:  # flags on safe cells stay flags
                        view[around] = ""
                        stack.append(around)
        self.hidden_safe -= opened
        return opened

    def _board(self, show_mines: bool = False) -> str:
        tokens = self._tokens
        if show_mines:
            tokens = tokens[:]
            for cell, mine in enumerate(self.mines):
                if mine:
                    tokens[2 * cell + 2] = _MINE
        return "".join(tokens)

    # -------------------------------------------------------------------- agents
    def random_action(self, rng: random.Random) -> str:
        """Reveal (nine times in ten) or flag a random cell, usually a hidden one."""
        cells, view, draw = self.cells, self.view, rng.random
        cell = int(draw() * cells)
        for _ in range(8):
            if view[cell] == _HIDDEN:
                break
            cell = int(draw() * cells)
        row, col = divmod(cell, self.cols)
        verb = "flag" if draw() < 0.1 else "reveal"
        return f"{verb} {row + 1} {col + 1}"

    def oracle_action(self) -> str:
        """Reveal a safe hidden cell, peeking at the mines (a fair player must sometimes guess).

        It prefers cells with no mine around, which open whole areas at once; before the
        mines are laid it reveals the centre.
        """
        if self.mines is None:
            cell = (self.rows // 2) * self.cols + self.cols // 2
        else:
            hidden_safe = [c for c in range(self.cells)
                           if self.view[c] in (_HIDDEN, _FLAG) and not self.mines[c]]
            cell = next((c for c in hidden_safe if self.counts[c] == 0), hidden_safe[0])
        row, col = divmod(cell, self.cols)
        verb = "unflag" if self.view[cell] == _FLAG else "reveal"
        return f"{verb} {row + 1} {col + 1}"

    def render_text(self) -> str:
        return (f"{self._board()}\n{self.hidden_safe} safe cells hidden, "
                f"actions {self.actions}/{self.cells}")
