"""Taxi: a text version of Gymnasium's toy-text Taxi on Gymnasium's own 5x5 map.

The rules are Gymnasium's: the taxi drives south/north/east/west (``|`` walls block east-west
moves, the grid's edge blocks everything, a blocked move wastes the step), picks the passenger up
at their stand and drops them off; a drop-off at the destination ends the episode, a drop-off with
the passenger aboard at another stand leaves them waiting there. Gymnasium punishes an illegal
pickup or drop-off with -10; here it is an invalid action (state unchanged, error observation, the
environment's ``invalid_penalty``). Start states are drawn uniformly from Gymnasium's 300 (any
taxi cell, passenger at a stand, destination another stand). At the hard level the passenger is
Gymnasium's ``fickle_passenger``: in 30% of episodes they change their destination (uniformly to
another stand) on the first move the taxi makes with them aboard. The dynamics are reimplemented
in plain Python (one table lookup per move); a test checks them against Gymnasium's ``TaxiEnv``.
``reset(options={"state": (taxi_row, taxi_col, passenger, destination)})`` starts from a given
state in Gymnasium's encoding (rows and columns from 0, stands 0-3 = R, G, Y, B).
"""

from __future__ import annotations

import random
import re
from typing import Any

from gymnasium.envs.toy_text.taxi import MAP

from agentgym.core import ConfigError, Feedback, InvalidAction
from agentgym.envs.games.base import GameEnv, whole_number
from agentgym.envs.games.grid_walk import (
    WordParser,
    compass_words,
    distances_to,
    first_step_closer,
    move_table,
    neighbours,
)

SIZE = 5
IN_TAXI = 4  # passenger location meaning "in the taxi" (Gymnasium's encoding)
#: The stands as (letter, cell), in Gymnasium's order R, G, Y, B.
STANDS = tuple((ch, r * SIZE + (c - 1) // 2) for r, line in enumerate(MAP[1:-1])
               for c, ch in enumerate(line) if ch in "RGYB")
FICKLE_PROBABILITY = 0.3  # Gymnasium's default


def _drive_table() -> dict[str, tuple[int, ...]]:
    """Where each compass move takes the taxi from each cell, walls included."""
    table = {word: list(targets) for word, targets in move_table(SIZE, SIZE).items()}
    for cell in range(SIZE * SIZE):
        row, col = divmod(cell, SIZE)
        if MAP[1 + row][2 * col + 2] != ":":
            table["right"][cell] = cell
        if MAP[1 + row][2 * col] != ":":
            table["left"][cell] = cell
    return {word: tuple(targets) for word, targets in table.items()}


_DRIVE = _drive_table()
_TO_STAND = [distances_to([cell], neighbours(_DRIVE), [True] * SIZE * SIZE) for _, cell in STANDS]
_STAND_AT = {cell: stand for stand, (_, cell) in enumerate(STANDS)}
_COMPASS_NAMES = {"down": "south", "up": "north", "right": "east", "left": "west"}
_PARSER = WordParser(compass_words(**{
    "pickup": "pickup", "pick up": "pickup", "pick-up": "pickup",
    "dropoff": "dropoff", "drop off": "dropoff", "drop-off": "dropoff",
}))
# "pick them up", "drop the passenger off": the verb split around who it is done to, as the
# instructions say it; read as one word before the move words are searched (else "up" drives north).
_WHO = r"(?:them|him|her|it|(?:the|your|my|our)\s+(?:passenger|customer|rider|fare))"
_SPLIT_VERB = re.compile(rf"\b(?:(pick)|drop)\s+{_WHO}\s+(?(1)up|off)\b", re.IGNORECASE | re.ASCII)
_RANDOM_ACTIONS = ("south", "north", "east", "west", "pickup", "dropoff")
# difficulty -> (steps allowed, fickle passenger); the oracle needs at most 18 steps from any
# start, with or without a change of mind, so every budget leaves it room.
_LEVELS = {"easy": (60, False), "medium": (35, False), "hard": (25, True)}


class Taxi(GameEnv):
    """Pick up a passenger on Gymnasium's 5x5 Taxi map and drop them at their destination.

    Action: ``south``/``north``/``east``/``west`` (or ``down``/``up``/``right``/``left``),
    ``pickup`` or ``dropoff`` (also ``pick them up``, ``drop the passenger off``); the last such
    word in the text counts. Reward: ``outcome`` 1 on delivering the passenger, 0 when the steps
    run out. With ``dense_reward``, ``progress`` is the signed reduction of the remaining plan
    length (drive to the passenger, pick up, drive to the destination, drop off) as a fraction
    of its length at the start; a change of mind of a fickle passenger is not charged to the
    move that triggers it.
    """

    strategy_hint = (
        "Drive to the passenger's letter, pick up there, then drive to the destination's letter and drop off;"
        " walls block some moves."
    )

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.max_steps, self.fickle = _LEVELS[self.difficulty]
        fickle_rule = (" The passenger may change their mind once: right after the taxi first "
                       "moves with them aboard, they may name a new destination."
                       if self.fickle else "")
        self.instructions = (
            "Taxi: drive a taxi on a 5x5 grid to the passenger, pick them up and drop them off at "
            "their destination. The map shows walls: | blocks moving east or west, : is open; "
            "only the grid's edge blocks moving north or south. There are four stands: R (row 1, "
            "column 1), G (row 1, column 5), Y (row 5, column 1) and B (row 5, column 4). T marks "
            "the taxi. Pick up only where the passenger waits; drop off at the destination to win "
            "(dropping them at another stand leaves them waiting there)." + fickle_rule + " You "
            f"have {self.max_steps} steps; a move into a wall wastes a step. Reply with one "
            "action: south, north, east, west (or down, up, right, left), pickup or dropoff, e.g. "
            "\"north\". If you name several, the last one counts."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        rng = self.rng
        if "state" in options:
            self.taxi, self.passenger, self.destination = _check_state(options["state"])
        else:
            self.taxi = rng.randrange(SIZE * SIZE)
            self.passenger = rng.randrange(4)
            self.destination = rng.randrange(3)
            if self.destination >= self.passenger:  # any stand but the passenger's
                self.destination += 1
        self.fickle_pending = self.fickle and rng.random() < FICKLE_PROBABILITY
        self.steps = 0
        self.plan_length = self._plan_length(self.destination)
        return (f"A passenger is waiting. You have {self.max_steps} steps to deliver them.\n"
                f"{self._scene()}")

    def play(self, action: str) -> Feedback:
        action = _SPLIT_VERB.sub(lambda m: "pickup" if m.group(1) else "dropoff", action)
        move = _PARSER.last_move(action)
        if move is None:
            raise InvalidAction("reply with south, north, east, west, pickup or dropoff.")
        destination = self.destination  # a fickle passenger may change it during the move
        plan_before = self._plan_length(destination)
        if move == "pickup":
            what = self._pickup()
        elif move == "dropoff":
            what = self._dropoff()
        else:
            what = self._drive(move)
        self.steps += 1
        rewards = {}
        if self.dense_reward:
            rewards["progress"] = (plan_before - self._plan_length(destination)) / self.plan_length
        if self.passenger == self.destination:
            rewards["outcome"] = 1.0
            return Feedback(f"{what} Delivered in {self.steps} steps: you win!\n{self._scene()}",
                            rewards, terminated=True, success=True)
        left = self.max_steps - self.steps
        if left == 0:
            rewards["outcome"] = 0.0
            return Feedback(f"{what} You are out of steps. You lose.\n{self._scene()}", rewards,
                            terminated=True)
        return Feedback(f"{what} {left} steps left.\n{self._scene()}", rewards)

    def _drive(self, move: str) -> str:
        before = self.taxi
        self.taxi = _DRIVE[move][before]
        direction = _COMPASS_NAMES[move]
        if self.taxi == before:
            return f"The taxi cannot go {direction}: a wall or the edge is in the way."
        if self.fickle_pending and self.passenger == IN_TAXI:
            self.fickle_pending = False
            self.destination = self.rng.choice([i for i in range(4) if i != self.destination])
            return (f"The taxi drove {direction}. The passenger changed their mind: they now want "
                    f"to go to {STANDS[self.destination][0]}.")
        return f"The taxi drove {direction}."

    def _pickup(self) -> str:
        if self.passenger == IN_TAXI:
            raise InvalidAction("the passenger is already in the taxi; drive to the destination.")
        letter, cell = STANDS[self.passenger]
        if self.taxi != cell:
            raise InvalidAction(f"the passenger is not here; they wait at {letter}.")
        self.passenger = IN_TAXI
        return f"The passenger got in at {letter}."

    def _dropoff(self) -> str:
        if self.passenger != IN_TAXI:
            raise InvalidAction("there is no passenger in the taxi; pick them up first.")
        stand = _STAND_AT.get(self.taxi)
        if stand is None:
            raise InvalidAction("the passenger can get out only at a stand: R, G, Y or B.")
        self.passenger = stand
        letter = STANDS[stand][0]
        if stand == self.destination:
            return f"The passenger got out at their destination {letter}."
        return (f"The passenger got out at {letter}, which is not their destination; they wait "
                "there.")

    def _plan_length(self, destination: int) -> int:
        """Steps left on the shortest plan: drive to the passenger, pick up, drive to the
        destination, drop off."""
        to_destination = _TO_STAND[destination]
        if self.passenger == IN_TAXI:
            return to_destination[self.taxi] + 1
        if self.passenger == destination:
            return 0
        return (_TO_STAND[self.passenger][self.taxi] + 1
                + to_destination[STANDS[self.passenger][1]] + 1)

    def _scene(self) -> str:
        row, col = divmod(self.taxi, SIZE)
        lines = list(MAP)
        lines[1 + row] = lines[1 + row][:2 * col + 1] + "T" + lines[1 + row][2 * col + 2:]
        if self.passenger == IN_TAXI:
            where = "in the taxi"
        else:
            where = f"waiting at {STANDS[self.passenger][0]}"
        grid = "\n".join(lines)
        return (f"{grid}\nTaxi: row {row + 1}, column {col + 1}. "
                f"Passenger: {where}. Destination: {STANDS[self.destination][0]}.")

    def random_action(self, rng: random.Random) -> str:
        return _RANDOM_ACTIONS[rng.randrange(6)]

    def oracle_action(self) -> str:
        """The shortest plan over the known map: drive to the passenger, pick up, drive to the
        destination, drop off (replanned every step, so a change of mind is followed)."""
        if self.passenger == IN_TAXI:
            target = self.destination
            if self.taxi == STANDS[target][1]:
                return "dropoff"
        else:
            target = self.passenger
            if self.taxi == STANDS[target][1]:
                return "pickup"
        return _COMPASS_NAMES[first_step_closer(self.taxi, _TO_STAND[target], _DRIVE)]

    def render_text(self) -> str:
        return f"Taxi, step {self.steps}/{self.max_steps}\n{self._scene()}"


def _check_state(state: Any) -> tuple[int, int, int]:
    """Gymnasium's decoded state ``(taxi_row, taxi_col, passenger, destination)`` as (taxi cell,
    passenger, destination); the passenger waits at a stand other than the destination."""
    try:
        row, col, passenger, destination = (whole_number(x) for x in state)  # int() truncated 1.9
    except (TypeError, ValueError):
        raise ConfigError(f"options['state'] must be four integers (row, col, passenger stand, destination "
                          f"stand), got {state!r}") from None
    if not (0 <= row < SIZE and 0 <= col < SIZE and 0 <= passenger < 4 and 0 <= destination < 4
            and passenger != destination):
        raise ValueError(f"state must be (row, col, passenger stand, destination stand) with "
                         f"row, col in 0..4, stands in 0..3 and passenger != destination; "
                         f"got {state!r}")
    return row * SIZE + col, passenger, destination
