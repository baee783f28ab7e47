"""make_vec builds vector envs of registered environments."""

from __future__ import annotations

from contextlib import closing

import pytest
from gymnasium.vector import AutoresetMode

import agentgym
from agentgym.vector import AsyncioVectorEnv, ThreadVectorEnv, make_vec


@pytest.mark.parametrize("mode, cls", [("thread", ThreadVectorEnv), ("asyncio", AsyncioVectorEnv)])
def test_make_vec_builds_registered_envs_in_either_mode(mode, cls):
    with closing(
        make_vec(
            "games/GuessTheNumber-v0",
            3,
            mode=mode,
            step_timeout=5,
            autoreset_mode="SameStep",
            difficulty="hard",
            max_turns=4,
            episode_statistics=True,
        )
    ) as envs:
        assert type(envs) is cls and envs.num_envs == 3
        assert repr(envs) == f"{cls.__name__}(games/GuessTheNumber-v0, num_envs=3)"
        assert envs.step_timeout == 5.0 and envs.autoreset_mode is AutoresetMode.SAME_STEP
        assert envs.get_attr("high") == (1000, 1000, 1000)  # make_kwargs reach the env
        envs.reset(seed=0)
        for _ in range(3):
            envs.step(["1", "2", "3"])
        _, _, _, truncations, infos = envs.step(["1", "2", "3"])
        assert truncations.all()  # max_turns=4 reached agentgym.make's TurnLimit
        assert infos["final_info"]["episode"]["turns"].tolist() == [4, 4, 4]


def test_make_vec_is_exported_at_the_top_level():
    assert agentgym.make_vec is make_vec
    assert (
        agentgym.ThreadVectorEnv is ThreadVectorEnv
        and agentgym.AsyncioVectorEnv is AsyncioVectorEnv
    )


def test_make_vec_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        make_vec("games/GuessTheNumber-v0", 2, mode="process")
    with pytest.raises(ValueError, match="num_envs"):
        make_vec("games/GuessTheNumber-v0", 0)
    with pytest.raises(KeyError, match="no environment registered"):
        make_vec("games/NoSuchGame-v0", 2)
