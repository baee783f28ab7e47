"""Exploratory tests of the OpenEnv adapters and the trajectory export, as a demanding user
drives them: a reward JSON cannot carry, arguments the constructor or ``reset`` should refuse,
a seed the export's integer column cannot hold."""

from __future__ import annotations

import importlib.util
import math

import gymnasium as gym
import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.export import to_hf_dataset, to_parquet
from agentgym.remote import openenv as adapter
from agentgym.serve.runner import serving_in_thread
from agentgym.spaces import UnicodeText
from agentgym.trajectory import Trajectory, Turn

requires_openenv = pytest.mark.skipif(importlib.util.find_spec("openenv") is None,
                                      reason="openenv-core is not installed (pip install openenv-core)")

REWARDS = {"nan": math.nan, "inf": math.inf, "one": 1.0}
ENV_ID = "explore-openenv/Rewards-v0"


class RewardOfAction(gym.Env):
    """Each step's reward is ``REWARDS[action]`` (0.0 for any other action)."""

    observation_space = UnicodeText()
    action_space = UnicodeText()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return "say nan, inf or one", {}

    def step(self, action):
        return f"you said {action}", REWARDS.get(action, 0.0), False, False, {}


@pytest.fixture(scope="module")
def rewards_url():
    """The server of :class:`RewardOfAction`, registered for this module only (other test files
    on the same worker never see it)."""
    from agentgym import registry

    agentgym.register(ENV_ID, entry_point=RewardOfAction, override=True)
    try:
        with serving_in_thread(adapter.openenv_app(ENV_ID, max_concurrent_envs=4), host="127.0.0.1", port=0,
                               name="OpenEnv server") as url:
            yield url
    finally:
        registry._ENVS.pop(ENV_ID, None)
        gym.registry.pop(ENV_ID, None)


@requires_openenv
@pytest.mark.parametrize("action", ["nan", "inf"])
def test_a_non_finite_reward_is_an_error_not_a_silent_zero(rewards_url, action):
    env = adapter.OpenEnvEnv(rewards_url)
    try:
        env.reset(seed=0)
        observation, reward, _, truncated, info = env.step(action)
        # OpenEnv's JSON writes NaN and infinity as null, which read back as a reward of 0.0
        assert (reward, truncated, info.get("remote_error")) == (0.0, True, "server"), (observation, reward, info)
        assert "reward" in info["error"] and action in info["error"]
        assert env.step("one")[1] == 1.0, "the session goes on after the refused reward"
    finally:
        env.close()


@requires_openenv
@pytest.mark.parametrize("options, words", [({"when": object()}, "options cannot travel"),
                                            ({"ratio": math.nan}, "options cannot travel")])
def test_reset_options_json_cannot_carry_are_a_config_error_and_keep_the_session(rewards_url, options, words):
    env = adapter.OpenEnvEnv(rewards_url)
    try:
        env.reset(seed=0)
        with pytest.raises(ConfigError, match=words):
            env.reset(options=options)
        assert env.step("one")[1] == 1.0, "the session was not dropped"
    finally:
        env.close()


@requires_openenv
@pytest.mark.parametrize("option, value", [("timeout", -1), ("timeout", "30"), ("timeout", math.nan),
                                           ("connect_timeout", 0), ("base_url", 8000)])
def test_constructor_arguments_out_of_range_are_config_errors_naming_them(option, value):
    arguments = {"base_url": "http://127.0.0.1:9", option: value}
    with pytest.raises(ConfigError, match=f"OpenEnvEnv: {option} must be"):
        adapter.OpenEnvEnv(**arguments)


@pytest.mark.parametrize("export", [lambda t, path: to_parquet(t, path), lambda t, path: to_hf_dataset(t)])
def test_a_seed_past_the_int64_column_is_refused_naming_the_trajectory(export, tmp_path):
    trajectories = [Trajectory(env_id="x/Y-v0", seed=0, turns=[Turn(0, "o", "a")]),
                    Trajectory(env_id="x/Y-v0", task_id="big-seed", seed=2**70)]
    with pytest.raises(ValueError, match=r"trajectory 1 \('big-seed'\): seed 1180591620717411303424 .*64-bit"):
        export(trajectories, tmp_path / "episodes.parquet")



class RefusedSession:
    """OpenEnv's sync client on a WebSocket whose session the server refused (its answer to the
    first request is the error, then the server closes the connection)."""

    def __init__(self, code):
        self.code, self.closed = code, False

    def reset(self, **arguments):
        raise RuntimeError(f"Server error: refused (code: {self.code})")

    def close(self):
        self.closed = True

    def _stop_loop(self):
        pass


@requires_openenv
@pytest.mark.parametrize("code", ["CAPACITY_REACHED", "FACTORY_ERROR", "SESSION_ERROR"])
def test_a_session_the_server_refused_and_closed_is_reopened_by_the_next_reset(rewards_url, code):
    env = adapter.OpenEnvEnv(rewards_url)
    connected, env._client = env._client, RefusedSession(code)
    adapter.OpenEnvEnv._close_client(connected)
    try:
        refused = env._client
        observation, info = env.reset(seed=0)
        assert info["remote_error"] == "server" and code in info["error"], observation
        assert refused.closed, "the connection the server closed is dropped"
        observation, info = env.reset(seed=0)  # reconnects: a new session
        assert "remote_error" not in info, observation
        assert env.step("one")[1] == 1.0
    finally:
        env.close()


@requires_openenv
def test_an_observation_field_the_server_does_not_send_is_a_config_error_naming_those_it_does(rewards_url):
    env = adapter.OpenEnvEnv(rewards_url, observation_field="echoed_message")  # another server's field
    try:
        with pytest.raises(ConfigError, match=r"observation_field 'echoed_message'.*'observation'"):
            env.reset(seed=0)  # every observation would have been '' (the agent playing blind)
    finally:
        env.close()
