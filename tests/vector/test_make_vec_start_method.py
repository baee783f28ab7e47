"""make_vec passes start_method to the vector env, as the vector env classes take it (it went to
agentgym.make as an environment argument: a ConfigError)."""

from __future__ import annotations

import pytest

import envs  # noqa: F401 - registers the games
from agentgym.vector import make_vec


def test_make_vec_takes_the_start_method_of_its_child_processes():
    vec = make_vec("games/GuessTheNumber-v0", 1, isolation="process", start_method="spawn")
    try:
        observations, _ = vec.reset(seed=[3])
        assert isinstance(observations[0], str) and observations[0]
    finally:
        vec.close()


def test_the_start_method_reaches_the_vector_env():  # refused there, naming it: passed through
    with pytest.raises(ValueError, match="start_method must be one of"):
        make_vec("games/GuessTheNumber-v0", 1, isolation="process", start_method="forkserve")
