"""The OpenEnv adapters over a real OpenEnv server on loopback (openenv-core's own
``create_fastapi_app`` under uvicorn, its own WebSocket client).

- :func:`openenv_app` serves an agentgym environment with OpenEnv's server; OpenEnv's client
  (:class:`AgentgymEnvClient`) and :class:`OpenEnvEnv` both get exactly what
  ``agentgym.make`` gives, bad actions included;
- :class:`OpenEnvEnv` follows RemoteEnv's failure contract: no server, a server that dies
  mid-episode, an action JSON cannot carry — error observations, never a raise, and no thread
  or socket left behind.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.remote import RemoteEnvError
from agentgym.remote import openenv as adapter
from agentgym.serve.runner import serving_in_thread
from agentgym.trajectory import json_safe
from tests.resource_probe import ResourceProbe

ENV_ID = "games/GuessTheNumber-v0"
# Guesses, bad text, a non-string action, CJK and a lone surrogate: the environment answers each.
ACTIONS = ["hello", 7, "\ud800", "中文 3", "10", "5", "15", "1", "2", "3", "4", "6", "8", "9"]


def test_the_adapter_names_the_package_to_install_when_openenv_core_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "openenv", None)  # as if not installed: importing it raises
    monkeypatch.setitem(sys.modules, "openenv.core", None)
    with pytest.raises(ImportError, match="pip install openenv-core"):
        adapter._require_openenv()
    with pytest.raises(ImportError, match="pip install openenv-core"):
        adapter.OpenEnvEnv("http://127.0.0.1:9")


requires_openenv = pytest.mark.skipif(importlib.util.find_spec("openenv") is None,
                                      reason="openenv-core is not installed (pip install openenv-core): the adapters' "
                                             "tests need OpenEnv's server and client")


@pytest.fixture(scope="module")
def openenv_url():
    with serving_in_thread(adapter.openenv_app(ENV_ID, max_concurrent_envs=8), host="127.0.0.1", port=0,
                           name="OpenEnv server") as url:
        yield url


def _local_trajectory(seed: int) -> list[tuple]:
    env = agentgym.make(ENV_ID)
    steps = [env.reset(seed=seed)]
    for action in ACTIONS:
        steps.append(env.step(action))
        if steps[-1][2] or steps[-1][3]:
            break
    env.close()
    return [_as_json(step) for step in steps]


def _as_json(step: tuple) -> tuple:
    """A step as JSON carries it (enums become their values), for comparing with the wire."""
    return tuple(json_safe(part) for part in step)


@requires_openenv
@pytest.mark.parametrize("seed", [0, 3])
def test_openenv_env_over_openenv_server_plays_exactly_like_the_local_env(openenv_url, seed):
    expected = _local_trajectory(seed)
    env = adapter.OpenEnvEnv(openenv_url)
    try:
        got = [env.reset(seed=seed)]
        for action in ACTIONS[: len(expected) - 1]:
            got.append(env.step(action))
    finally:
        env.close()
    assert [_as_json(step) for step in got] == expected
    assert any(step[-1].get("error") for step in got[1:]), "the bad actions were answered with error observations"


@requires_openenv
def test_openenvs_own_async_client_gets_the_agentgym_environment(openenv_url):
    expected = _local_trajectory(5)

    async def play() -> list[tuple]:
        async with adapter.AgentgymEnvClient(base_url=openenv_url) as client:
            first = (await client.reset(seed=5)).observation
            steps = [(first.observation, first.info)]
            for action in ACTIONS[: len(expected) - 1]:
                result = await client.step(adapter.AgentgymAction(action=action))
                o = result.observation
                steps.append((o.observation, result.reward, o.terminated, o.truncated, o.info))
                assert result.done == (o.terminated or o.truncated)
            state = await client.state()
            assert state.step_count == len(expected) - 1
            return steps

    assert [_as_json(step) for step in asyncio.run(play())] == expected


@requires_openenv
def test_sessions_are_separate_environments(openenv_url):
    first, second = adapter.OpenEnvEnv(openenv_url), adapter.OpenEnvEnv(openenv_url)
    try:
        first.reset(seed=0)
        second.reset(seed=0)
        first.step("10")
        first.step("11")
        _, _, _, _, info = second.step("10")
        assert info["turns_left"] == 19, "the second session's turn budget is its own"
    finally:
        first.close()
        second.close()


@requires_openenv
def test_an_action_json_cannot_carry_is_an_error_observation_and_the_session_goes_on(openenv_url):
    env = adapter.OpenEnvEnv(openenv_url)
    try:
        env.reset(seed=1)
        observation, reward, terminated, truncated, info = env.step(object())
        assert observation.startswith("Environment server error: the action cannot be sent as JSON")
        assert (reward, terminated, truncated, info["remote_error"]) == (0.0, False, True, "server")
        _, _, _, _, info = env.step("10")
        assert "remote_error" not in info and info["turns_left"] == 19
        _, _, _, truncated, info = env.step({"not_the_schema": 1})  # a dict goes as it is: OpenEnv refuses it
        assert truncated and info["remote_error"] == "server" and "VALIDATION_ERROR" in info["error"]
    finally:
        env.close()


@requires_openenv
def test_no_server_raises_remote_env_error_and_leaves_nothing_open():
    probe = ResourceProbe()
    with pytest.raises(RemoteEnvError, match="cannot open an OpenEnv session"):
        adapter.OpenEnvEnv("http://127.0.0.1:9", connect_timeout=1.0)
    probe.assert_released()


@requires_openenv
def test_a_server_that_dies_mid_episode_gives_error_observations_then_reset_recovers():
    probe = ResourceProbe()
    app = adapter.openenv_app(ENV_ID, max_concurrent_envs=2)
    with serving_in_thread(app, host="127.0.0.1", port=0, name="OpenEnv server", timeout_graceful_shutdown=1) as url:
        env = adapter.OpenEnvEnv(url, timeout=5.0)
        env.reset(seed=2)
        assert "remote_error" not in env.step("10")[-1]
    try:  # the server is gone
        observation, reward, terminated, truncated, info = env.step("11")
        assert observation.startswith("Environment server error")
        assert (reward, terminated, truncated, info["remote_error"]) == (0.0, False, True, "transport")
        observation, info = env.reset(seed=2)
        assert info["remote_error"] == "transport" and info["task_id"] is None
        with serving_in_thread(app, host="127.0.0.1", port=int(url.rsplit(":", 1)[1]), name="OpenEnv server") as again:
            assert again == url
            observation, info = env.reset(seed=2)  # reconnects: a new session on the new server
            assert observation.startswith("Guess a number") and "remote_error" not in info
            env.close()
    finally:
        env.close()
    probe.assert_released()


@requires_openenv
def test_bad_arguments_are_config_errors(openenv_url):
    with pytest.raises(ConfigError, match="registered id"):
        adapter.openenv_app("os:system")
    with pytest.raises(ConfigError, match="max_concurrent_envs"):
        adapter.openenv_app(ENV_ID, max_concurrent_envs=0)
    with pytest.raises(Exception, match="NoSuchGame"):
        adapter.openenv_app("games/NoSuchGame-v0")
    with pytest.raises(ConfigError, match="action_field"):
        adapter.OpenEnvEnv(openenv_url, action_field="")
    env = adapter.OpenEnvEnv(openenv_url)
    try:
        with pytest.raises(ConfigError, match="seed"):
            env.reset(seed=-1)
        with pytest.raises(ConfigError, match="options"):
            env.reset(options=["not", "a", "dict"])
    finally:
        env.close()
