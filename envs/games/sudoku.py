"""Sudoku: fill the grid so that every row, column and box holds each digit once."""

from __future__ import annotations

import random
import re
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import GameEnv

# difficulty -> (box side, clues to keep); a 4x4 grid has 2x2 boxes, a 9x9 grid 3x3 boxes.
# Clue removal stops early when no further clue can go without losing uniqueness.
_LEVELS = {"easy": (2, 6), "medium": (3, 35), "hard": (3, 27)}
MAX_MISTAKES = 3
# "R C V" with lenient labels and separators: "3 4 5", "r3c4=5", "(3,4) 5", "row 3, col 4: 5";
# a full stop may end the sentence ("3 4 5."), a decimal ("5.5") is no digit. Each optional
# part takes the blanks after it, so no two meet on blanks (a run of them would be split every
# way: quadratic time).
_PLACEMENT = re.compile(
    r"(?<![\w.])(?:r(?:ow)?\s*)?(?:\(\s*)?(\d)\s*(?:[,;]\s*)?(?:c(?:ol(?:umn)?)?\s*)?(\d)"
    r"\s*(?:\)\s*)?(?:[=:,;]\s*)?(?:(?:v(?:alue)?|is|to)\s*)?(\d)(?!\w|\.\d)",
    re.IGNORECASE,
)


class SudokuGrid:
    """The peers of each cell of an ``n x n`` grid (``n = box * box``) and a solver on it.

    Cells are numbered row-major; digit ``d`` is bit ``d - 1`` of a candidate mask.
    """

    def __init__(self, box: int) -> None:
        n = box * box
        self.box, self.n, self.cells = box, n, n * n
        self.full = (1 << n) - 1
        self.row_of = [i // n for i in range(n * n)]
        self.col_of = [i % n for i in range(n * n)]
        self.box_of = [(i // n) // box * box + (i % n) // box for i in range(n * n)]
        self.peers = list(zip(self.row_of, self.col_of, self.box_of))

    def masks(self, grid: list[int]) -> tuple[list[int], list[int], list[int]]:
        """Digits already used in each row, column and box."""
        rows, cols, boxes = [0] * self.n, [0] * self.n, [0] * self.n
        for i, digit in enumerate(grid):
            if digit:
                bit = 1 << (digit - 1)
                rows[self.row_of[i]] |= bit
                cols[self.col_of[i]] |= bit
                boxes[self.box_of[i]] |= bit
        return rows, cols, boxes

    def candidates(self, grid: list[int], cell: int) -> int:
        """The mask of digits that cell may take without repeating one in its row, column or box."""
        rows, cols, boxes = self.masks(grid)
        r, c, b = self.peers[cell]
        return self.full & ~(rows[r] | cols[c] | boxes[b])

    def count_solutions(self, grid: list[int], limit: int = 2) -> int:
        """How many completions ``grid`` (0 = empty) has, counting no further than ``limit``.

        The filled cells must not already repeat a digit in a row, column or box.
        """
        rows, cols, boxes = self.masks(grid)
        empty = [i for i, digit in enumerate(grid) if not digit]
        return self._search(empty, rows, cols, boxes, limit)

    def _search(self, empty, rows, cols, boxes, limit) -> int:
        """Depth-first search: fill every forced cell (one candidate left), then branch on
        the cell with the fewest candidates. The masks are restored before returning."""
        peers, full = self.peers, self.full
        forced = []
        while True:
            still_empty, best_cell, best_mask, best_count, filled = [], -1, 0, 99, False
            for cell in empty:
                r, c, b = peers[cell]
                mask = full & ~(rows[r] | cols[c] | boxes[b])
                if not mask & (mask - 1):  # no candidate, or exactly one
                    if not mask:
                        self._undo(forced, rows, cols, boxes)
                        return 0
                    rows[r] |= mask
                    cols[c] |= mask
                    boxes[b] |= mask
                    forced.append((cell, mask))
                    filled = True
                    continue
                still_empty.append(cell)
                count = mask.bit_count()
                if count < best_count:
                    best_cell, best_mask, best_count = cell, mask, count
            empty = still_empty
            if not filled:
                break
        if not empty:
            self._undo(forced, rows, cols, boxes)
            return 1
        # masks seen in the last pass are exact: it filled nothing
        empty = [cell for cell in empty if cell != best_cell]
        r, c, b = peers[best_cell]
        found = 0
        mask = best_mask
        while mask and found < limit:
            bit = mask & -mask
            mask ^= bit
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            found += self._search(empty, rows, cols, boxes, limit - found)
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit
        self._undo(forced, rows, cols, boxes)
        return found

    def _undo(self, forced, rows, cols, boxes) -> None:
        peers = self.peers
        for cell, bit in forced:
            r, c, b = peers[cell]
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit

    def has_other_solution(self, puzzle: list[int], cell: int, digit: int) -> bool:
        """Whether ``puzzle`` (uniquely solvable once ``cell`` held ``digit``) has a solution
        with another digit at ``cell``: the only way emptying ``cell`` can break uniqueness."""
        others = self.candidates(puzzle, cell) & ~(1 << (digit - 1))
        while others:
            bit = others & -others
            others ^= bit
            puzzle[cell] = bit.bit_length()
            solvable = self.count_solutions(puzzle, 1) > 0
            puzzle[cell] = 0
            if solvable:
                return True
        return False


def generate(shape: SudokuGrid, clues: int, rng: random.Random) -> tuple[list[int], list[int]]:
    """A ``(puzzle, solution)`` pair whose puzzle has exactly one solution.

    The solution is a shuffled copy of a fixed valid pattern (bands, rows within bands,
    stacks, columns within stacks and the digits permuted, maybe transposed, all of which keep
    it valid). Clues are then emptied in random order, each only if the puzzle keeps a unique
    solution, until ``clues`` remain or none can go.
    """
    box, n = shape.box, shape.n

    def shuffled_lines() -> list[int]:
        groups = rng.sample(range(box), box)
        return [g * box + line for g in groups for line in rng.sample(range(box), box)]

    rows, cols = shuffled_lines(), shuffled_lines()
    if rng.random() < 0.5:
        rows, cols = cols, rows
    digits = rng.sample(range(1, n + 1), n)
    solution = [digits[(box * (rows[r] % box) + rows[r] // box + cols[c]) % n]
                for r in range(n) for c in range(n)]
    puzzle = solution[:]
    kept = shape.cells
    for cell in rng.sample(range(shape.cells), shape.cells):
        if kept == clues:
            break
        digit = puzzle[cell]
        puzzle[cell] = 0
        if shape.has_other_solution(puzzle, cell, digit):
            puzzle[cell] = digit
        else:
            kept -= 1
    return puzzle, solution


class Sudoku(GameEnv):
    """Complete a Sudoku with a unique solution: 4x4 with 6 clues, 9x9 with 35 or 27.

    A digit that repeats one in its row, column or box, or that goes on a filled cell, is
    invalid. A digit that fits but is not the solution's counts as a mistake and is not
    placed; the third mistake loses.

    Action: ``R C V`` (1-based row, column, digit), leniently: ``r3c4=5``, ``(3,4) 5``,
    ``row 3, col 4: 5``; the last placement in the text counts. Reward: ``outcome`` 1 when the
    grid is complete, 0 on the third mistake; with ``dense_reward``, ``progress`` is the
    fraction of the initially empty cells a correct digit fills.
    """

    strategy_hint = (
        "Fill a cell when only one digit is missing from its row, column and box together."
    )

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        box, self.clues = _LEVELS[self.difficulty]
        self.shape = SudokuGrid(box)
        n = self.n = self.shape.n
        rule = f"each row, column and {box}x{box} box holds every digit 1-{n} exactly once"
        self.instructions = (
            f"Sudoku on a {n}x{n} grid: fill the empty cells ('.') so that {rule}. The puzzle "
            "has exactly one solution. Rows and columns are numbered from 1. Reply with one "
            "placement per turn: row, column and digit, e.g. '2 3 4' puts a 4 in row 2, "
            "column 3 ('r2c3=4' also works). A digit that repeats one in its row, column or "
            f"box is rejected; a digit that fits but is wrong is a mistake, and {MAX_MISTAKES} "
            "mistakes lose."
        )
        self._header = "    " + "   ".join(
            " ".join(str(c + 1) for c in range(s, s + box)) for s in range(0, n, box))
        self._rule = "  +" + "+".join("-" * (2 * box + 1) for _ in range(box)) + "+"

    def new_episode(self, options: dict[str, Any]) -> str:
        self.grid, self.solution = generate(self.shape, self.clues, self.rng)
        self.empty = self.grid.count(0)
        self.start_empty = self.empty
        self.mistakes = 0
        # kept up to date move by move: the digits used per row, column and box, and the
        # text of each grid row
        self._used = self.shape.masks(self.grid)
        self._row_text = [self._row_line(r) for r in range(self.n)]
        return f"{self._board()}\nFill the {self.empty} empty cells."

    def play(self, action: str) -> Feedback:
        found = _PLACEMENT.findall(action)
        if not found:
            raise InvalidAction("reply with row, column and digit, e.g. '2 3 4'.")
        row, col, digit = (int(x) for x in found[-1])
        n = self.n
        if not (1 <= row <= n and 1 <= col <= n and 1 <= digit <= n):
            raise InvalidAction(f"rows, columns and digits go from 1 to {n}.")
        cell = (row - 1) * n + col - 1
        if self.grid[cell]:
            raise InvalidAction(f"cell {row} {col} is already filled; choose an empty cell.")
        if not self._fits(cell) >> (digit - 1) & 1:
            raise InvalidAction(f"{digit} already appears in row {row}, column {col} or their box.")
        if digit != self.solution[cell]:
            self.mistakes += 1
            if self.mistakes >= MAX_MISTAKES:
                return Feedback(f"{digit} does not belong at {row} {col}. That is mistake "
                                f"{self.mistakes}; you lose.", {"outcome": 0.0}, terminated=True)
            return Feedback(f"{digit} does not belong at {row} {col} (mistake {self.mistakes} "
                            f"of {MAX_MISTAKES}).\n{self._board()}", {})
        self.grid[cell] = digit
        bit, (rows, cols, boxes), (r, c, b) = 1 << (digit - 1), self._used, self.shape.peers[cell]
        rows[r] |= bit
        cols[c] |= bit
        boxes[b] |= bit
        self._row_text[r] = self._row_line(r)
        self.empty -= 1
        rewards = {"progress": 1.0 / self.start_empty} if self.dense_reward else {}
        if self.empty == 0:
            rewards["outcome"] = 1.0
            return Feedback(f"{self._board()}\nThe grid is complete. You win!", rewards,
                            terminated=True, success=True)
        return Feedback(f"Placed {digit} at {row} {col}.\n{self._board()}\n{self.empty} cells "
                        "left.", rewards)

    def _fits(self, cell: int) -> int:
        """The mask of digits that repeat nothing in the cell's row, column and box."""
        rows, cols, boxes = self._used
        r, c, b = self.shape.peers[cell]
        return self.shape.full & ~(rows[r] | cols[c] | boxes[b])

    def _row_line(self, r: int) -> str:
        n, box = self.n, self.shape.box
        row = [str(d) if d else "." for d in self.grid[r * n:(r + 1) * n]]
        groups = [" ".join(row[s:s + box]) for s in range(0, n, box)]
        return f"{r + 1} | " + " | ".join(groups) + " |"

    def _board(self) -> str:
        box, lines = self.shape.box, [self._header, self._rule]
        for r, text in enumerate(self._row_text):
            lines.append(text)
            if r % box == box - 1:
                lines.append(self._rule)
        return "\n".join(lines)

    # -------------------------------------------------------------------- agents
    def random_action(self, rng: random.Random) -> str:
        """A random digit that fits a random empty cell (right or wrong)."""
        empty = [i for i, d in enumerate(self.grid) if not d]
        cell = empty[int(rng.random() * len(empty))]
        mask = self._fits(cell)
        digits = [d for d in range(1, self.n + 1) if mask >> (d - 1) & 1]
        row, col = divmod(cell, self.n)
        return f"{row + 1} {col + 1} {digits[int(rng.random() * len(digits))]}"

    def oracle_action(self) -> str:
        """The solution's digit for the first empty cell (peeking at the known solution)."""
        cell = self.grid.index(0)
        row, col = divmod(cell, self.n)
        return f"{row + 1} {col + 1} {self.solution[cell]}"

    def render_text(self) -> str:
        return f"{self._board()}\n{self.empty} empty, mistakes {self.mistakes}/{MAX_MISTAKES}"
