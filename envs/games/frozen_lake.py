"""FrozenLake: a text version of Gymnasium's toy-text FrozenLake (non-slippery).

The rules are Gymnasium's: the map has a start ``S`` (top-left), frozen ice ``F``, holes ``H`` and
a goal ``G`` (bottom-right); a move off the lake leaves the walker in place; stepping into a hole
or onto the goal ends the episode. Maps are drawn like Gymnasium's ``generate_random_map`` (each
tile frozen with probability ``p``, redrawn until the goal can be reached) but with ``self.rng``
and in plain Python, because a Gymnasium environment per map would cost milliseconds per reset.
The ice is not slippery at any level, so a shortest path always wins. ``reset(options={"desc":
[...]})`` plays a given map instead, as Gymnasium's ``desc`` argument does (e.g. its "4x4" map
``["SFFF", "FHFH", "FFFH", "HFFG"]``); a map whose shortest path is longer than the level's step
budget is refused, as is one without a path.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agentgym.core import ConfigError, Feedback, InvalidAction
from agentgym.envs.games.grid_walk import (
    Adjacency,
    MoveTables,
    WordParser,
    compass_words,
    distances_to,
    move_table,
    neighbours,
)
from agentgym.envs.games.grid_walk_game import GridWalkGame

# difficulty -> (side of the square lake, probability a tile is frozen, steps allowed);
# the step budget is at least the number of tiles, so it never cuts a shortest path.
_LEVELS = {"easy": (4, 0.8, 30), "medium": (6, 0.8, 50), "hard": (8, 0.75, 80)}
_PARSER = WordParser(compass_words())


@lru_cache(maxsize=None)
def _grid_tables(rows: int, cols: int) -> tuple[MoveTables, Adjacency]:
    """The move tables and neighbour lists of a lake shape, built once per shape."""
    moves = move_table(rows, cols)
    return moves, neighbours(moves)


class FrozenLake(GridWalkGame):
    """Walk from ``S`` to ``G`` over an N x N frozen lake (N = 4, 6, 8) without falling in a hole.

    Action: a direction word (``left``, ``down``, ``right``, ``up`` or ``west``, ``south``,
    ``east``, ``north``; the last one in the text counts). Reward: ``outcome`` 1 on reaching the
    goal, 0 on falling into a hole or running out of steps. With ``dense_reward``, ``progress``
    is the signed reduction of the shortest-path distance to the goal, as a fraction of the
    distance from the start (so it sums to 1 along any path that reaches the goal).
    """

    strategy_hint = (
        "Walk only on frozen cells (F) and plan the whole path to G before moving; holes (H) end the episode."
    )

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.side, self.frozen_probability, self.max_steps = _LEVELS[self.difficulty]
        self._level_instructions = self.instructions = self._instructions(
            f"a random {self.side}x{self.side} lake: S top-left, G bottom-right")

    def _instructions(self, lake: str) -> str:
        """The instructions for ``lake``, what the map is (the level's random lakes or a
        hand-made map of another size, with S and G anywhere)."""
        return (
            f"FrozenLake: cross a frozen lake from the start S to the goal G ({lake}). F is safe "
            "ice, H is a hole: stepping into a hole ends the game and you lose. @ marks where you "
            "stand. The ice is not slippery: you always move where you say. Walking off the edge leaves you "
            f"in place (the step still counts). You have {self.max_steps} steps. Reply with one "
            "direction: left, down, right or up (west, south, east, north also work), e.g. "
            "\"right\". If you name several directions, the last one counts."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        if "desc" in options:
            desc = _check_desc(options["desc"])
            dist = _distances(desc)
            need = dist["".join(desc).index("S")]
            if need < 0:
                raise ValueError(f"no path leads from S to G in {options['desc']!r}")
            if need > self.max_steps:
                raise ValueError(f"the shortest path from S to G in {options['desc']!r} takes {need} steps, "
                                 f"more than the {self.max_steps} of the {self.difficulty} level")
            self.instructions = self._instructions(f"a {len(desc)}x{len(desc[0])} lake")
        else:
            while True:  # like Gymnasium's generate_random_map: redraw until G can be reached
                desc = self._random_desc()
                dist = _distances(desc)
                if dist[0] > 0:
                    break
            self.instructions = self._level_instructions
        self.rows, self.cols = len(desc), len(desc[0])
        self.tiles = "".join(desc)
        self.dist = dist
        self._moves = _grid_tables(self.rows, self.cols)[0]
        self._rows = [" ".join(line) for line in desc]
        self.start = self.position = self.tiles.index("S")
        self.steps = 0
        return (f"You stand on the start S. Reach the goal G in at most {self.max_steps} steps."
                f"\n{self._grid()}")

    def _random_desc(self) -> list[str]:
        """S top-left, G bottom-right, every other tile frozen with probability p."""
        side, p, random_ = self.side, self.frozen_probability, self.rng.random
        tiles = "S" + "".join("F" if random_() < p else "H" for _ in range(side * side - 2)) + "G"
        return [tiles[start:start + side] for start in range(0, side * side, side)]

    def play(self, action: str) -> Feedback:
        move = _PARSER.last_move(action)
        if move is None:
            raise InvalidAction("reply with a direction: left, down, right or up.")
        before = self.position
        self.position = after = self._moves[move][before]
        self.steps += 1
        tile = self.tiles[after]
        rewards = {}
        if self.dense_reward and tile != "H":
            rewards["progress"] = (self.dist[before] - self.dist[after]) / self.dist[self.start]
        if tile == "G":
            rewards["outcome"] = 1.0
            return Feedback(f"You moved {move} and reached the goal in {self.steps} steps. "
                            f"You win!\n{self._grid()}", rewards, terminated=True, success=True)
        if tile == "H":
            rewards["outcome"] = 0.0
            return Feedback(f"You moved {move} and fell into a hole. You lose.\n{self._grid()}",
                            rewards, terminated=True)
        what = f"You cannot go {move}: that is the edge." if after == before else f"You moved {move}."
        return self._after_move(what, rewards)

    def render_text(self) -> str:
        return (f"FrozenLake {self.rows}x{self.cols}, step {self.steps}/{self.max_steps}\n"
                f"{self._grid()}")


def _distances(desc: list[str]) -> list[int]:
    """Fewest moves from each tile of the map ``desc`` to a goal, around the holes."""
    tiles = "".join(desc)
    adjacent = _grid_tables(len(desc), len(desc[0]))[1]
    goals = [cell for cell, tile in enumerate(tiles) if tile == "G"]
    return distances_to(goals, adjacent, [tile != "H" for tile in tiles])


def _check_desc(desc: Any) -> list[str]:
    """``desc`` as a list of equal-length rows of S, F, H, G with one S and some G.

    Raises:
        ConfigError: ``desc`` is no list of rows: not iterable, or one string (read character
            by character it was a lake one tile wide).
        ValueError: the rows are not a map as described.
    """
    wrong_type = ConfigError(f"options['desc'] must be a list of rows, equal-length strings of S, F, H and G "
                             f"(e.g. ['SFF', 'FHG']), got {desc!r}")
    if isinstance(desc, (str, bytes)):
        raise wrong_type
    try:
        rows = [str(line) for line in desc]
    except TypeError:
        raise wrong_type from None
    if not rows or len({len(line) for line in rows}) != 1 or set("".join(rows)) - set("SFHG"):
        raise ValueError(f"desc must be equal-length rows of S, F, H and G, got {desc!r}")
    tiles = "".join(rows)
    if tiles.count("S") != 1 or "G" not in tiles:
        raise ValueError(f"desc needs exactly one S and at least one G, got {desc!r}")
    return rows
