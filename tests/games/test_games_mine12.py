"""Defects of the games left open at earlier stops, fixed in the twelfth round."""

from __future__ import annotations

import pytest

import agentgym


@pytest.mark.parametrize("action", ["1,000", "My guess: 1,000.", "1,000.0"])
def test_guess_the_number_reads_thousands_separators(action):
    # '1,000' was read as the numbers 1 and 000, and the last one, 0, was refused as out of range
    env = agentgym.make("games/GuessTheNumber-v0", difficulty="hard")
    env.reset(seed=0)
    env.unwrapped.secret = 1000
    observation, _, terminated, _, info = env.step(action)
    assert info["error"] is None, info["error"]
    assert terminated and observation.startswith("1000 is correct")


def test_guess_the_number_keeps_reading_a_list_of_small_numbers_as_numbers():
    env = agentgym.make("games/GuessTheNumber-v0", difficulty="hard")
    env.reset(seed=0)
    env.unwrapped.secret = 500
    observation, _, _, _, info = env.step("between 3,5 I pick 7")
    assert info["error"] is None and "than 7." in observation
