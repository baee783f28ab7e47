"""LLMEnv.hint(3) once the episode has ended: there is no next move to suggest, so the strongest
hint below it is given (the oracle of a finished game used to raise: a full TicTacToe board,
a solved Sudoku, a FrozenLake agent in a hole, a cleared Minesweeper)."""

from __future__ import annotations

import random

import pytest

import envs  # noqa: F401 - registers the games
from agentgym.registry import make


def played_to_the_end(env_id: str, *, oracle: bool):
    env = make(env_id, max_turns=None)
    env.reset(seed=1)
    rng = random.Random(1)
    for _ in range(500):
        action = env.unwrapped.oracle_action() if oracle else env.unwrapped.random_action(rng)
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            return env
    env.close()
    raise AssertionError(f"{env_id} did not end in 500 steps")


@pytest.mark.parametrize("env_id, oracle", [
    ("games/TicTacToe-v0", False),
    ("games/Sudoku-v0", True),
    ("games/FrozenLake-v0", False),
    ("games/Minesweeper-v0", True),
])
def test_the_strongest_hint_of_an_ended_episode_is_no_next_move(env_id, oracle):
    env = played_to_the_end(env_id, oracle=oracle)
    try:
        game = env.unwrapped
        hint = game.hint(3)
        assert hint == game.hint(2) and hint and not hint.startswith("A good next move")
    finally:
        env.close()


def test_a_running_episode_still_gets_the_oracle_s_move():
    env = make("games/TicTacToe-v0")
    env.reset(seed=1)
    assert env.unwrapped.hint(3).startswith("A good next move: ")
    env.close()
