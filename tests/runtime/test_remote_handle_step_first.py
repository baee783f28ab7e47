"""A RemoteHandle stepped before its first reset says so, as the local handles do, and stays
usable (it raised "'NoneType' object has no attribute 'astep'" and broke the handle)."""

from __future__ import annotations

import asyncio

import pytest

from agentgym.remote import running_env_server
from agentgym.runtime.handle import EnvCallFailed
from agentgym.runtime.remote import RemoteHandle
from agentgym.runtime.runtimes import EnvSpec


def test_a_step_before_reset_is_refused_and_the_handle_stays_usable():
    async def play(url):
        handle = RemoteHandle(EnvSpec("games/GuessTheNumber-v0"), server=url, timeout=30.0)
        try:
            with pytest.raises(EnvCallFailed, match="step before reset: call reset\\(\\) first"):
                await handle.step("50")
            assert not handle.broken
            observation, _ = await handle.reset(seed=3)
            result = await handle.step("50")
            return observation, result, handle.broken
        finally:
            await handle.close()

    with running_env_server() as url:
        observation, result, broken = asyncio.run(play(url))
    assert isinstance(observation, str) and observation and not broken
    assert isinstance(result.observation, str) and not result.info.get("remote_error")
