"""The base of FrozenLake and CliffWalking: a walker on a rectangular grid of cells."""

from __future__ import annotations

import random

from agentgym.core import Feedback
from agentgym.envs.games.base import GameEnv
from agentgym.envs.games.grid_walk import COMPASS, first_step_closer

_MOVES = tuple(COMPASS)


class GridWalkGame(GameEnv):
    """Shared by the grid walkers. Subclasses keep, per episode: ``position`` (a cell),
    ``cols``, ``_rows`` (the map's text rows, cells two characters apart), ``dist`` (the
    breadth-first distance of every cell to the goal), ``_moves`` (the move tables),
    ``max_steps`` and ``steps``."""

    def _grid(self) -> str:
        row, col = divmod(self.position, self.cols)
        rows = self._rows.copy()
        rows[row] = rows[row][:2 * col] + "@" + rows[row][2 * col + 1:]
        return f"(you are at row {row + 1}, column {col + 1})\n" + "\n".join(rows)

    def _after_move(self, what: str, rewards: dict[str, float]) -> Feedback:
        """The feedback of a move that did not end the episode otherwise: a loss when the steps
        have run out, else the steps left and the grid."""
        left = self.max_steps - self.steps
        if left == 0:
            rewards["outcome"] = 0.0
            return Feedback(f"{what} You are out of steps. You lose.\n{self._grid()}", rewards,
                            terminated=True)
        return Feedback(f"{what} {left} steps left.\n{self._grid()}", rewards)

    def random_action(self, rng: random.Random) -> str:
        return _MOVES[rng.randrange(4)]

    def oracle_action(self) -> str:
        """A step along a shortest path over the observed map (breadth-first distances)."""
        return first_step_closer(self.position, self.dist, self._moves)
