"""RemoteEnv through a real server gives what the local environment gives, on every game."""

import math
import random

import pytest

import agentgym
from agentgym.remote import RemoteEnv
from agentgym.testing import check_hostile_actions, hostile_actions

GAMES = [info.id for info in agentgym.list_envs(family="games")]
CORE = ("reward_components", "error", "success")
MAX_STEPS = 40


def test_every_game_is_covered():
    assert len(GAMES) == 15


def _same(local, remote):
    if isinstance(local, float) and isinstance(remote, float):
        return local == remote or (math.isnan(local) and math.isnan(remote))
    return local == remote


@pytest.mark.parametrize("env_id", GAMES)
def test_remote_episode_matches_local(server_url, env_id):
    local, remote = agentgym.make(env_id), RemoteEnv(env_id, server=server_url)
    try:
        for seed in (0, 7):
            rng = random.Random(seed)
            local_obs, local_info = local.reset(seed=seed)
            remote_obs, remote_info = remote.reset(seed=seed)
            assert remote_obs == local_obs
            assert remote_info["task_id"] == local_info["task_id"]
            assert remote_info["instructions"] == local_info["instructions"]
            assert remote_info["tools"] == local_info["tools"]
            for _ in range(MAX_STEPS):
                action = local.unwrapped.random_action(rng)
                expected = local.step(action)
                got = remote.step(action)
                assert got[0] == expected[0], f"observation after {action!r}"
                assert _same(expected[1], got[1]) and got[2:4] == expected[2:4]
                for key in CORE:
                    assert got[4][key] == expected[4][key], key
                if expected[2] or expected[3]:
                    break
    finally:
        local.close()
        remote.close()


def test_kwargs_and_max_turns_reach_the_server(server_url):
    local = agentgym.make("games/Wordle-v0", max_turns=2, difficulty="hard")
    remote = RemoteEnv("games/Wordle-v0", server=server_url, max_turns=2, difficulty="hard")
    try:
        assert remote.spec_info["max_turns"] == 2
        assert remote.reset(seed=3)[0] == local.reset(seed=3)[0]
        for action in ("crane", "slate"):
            got, expected = remote.step(action), local.step(action)
            assert got[:4] == expected[:4]
        assert got[3] is True  # the second action used the 2-turn budget
    finally:
        local.close()
        remote.close()


@pytest.mark.parametrize("env_id", ["games/Wordle-v0", "games/Sudoku-v0", "games/TwentyQuestions-v0"])
def test_hostile_actions_through_the_server(server_url, env_id):
    remote = RemoteEnv(env_id, server=server_url)
    try:
        check_hostile_actions(remote, n=60)
        remote.reset(seed=1)
        for action in hostile_actions(40, seed=5):
            observation, _, _, truncated, info = remote.step(action)
            assert info.get("remote_error") is None, info["error"]
            if truncated or _:
                remote.reset()
    finally:
        remote.close()


def test_non_text_actions_are_error_observations_not_exceptions(server_url):
    remote = RemoteEnv("games/Wordle-v0", server=server_url)
    try:
        remote.reset(seed=0)
        for action in (5, None, ["a"], {"x": 1}, 1.5):
            observation, reward, terminated, truncated, info = remote.step(action)
            assert info["error"] and "must be text" in info["error"] and not truncated
        observation, *_, info = remote.step(float("nan"))  # not JSON: refused by the client
        assert info["remote_error"] == "server" and observation.startswith("Environment server error")
    finally:
        remote.close()
