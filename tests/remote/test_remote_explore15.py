"""Exploratory findings (round 15) on the environment server and its clients, over real sockets."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from agentgym.remote import AsyncRemoteEnv, running_env_server
from remote_echo import ECHO_ID


@pytest.fixture(scope="module")
def server_url():
    with running_env_server(max_sessions=8) as url:
        yield url


def test_an_async_env_driven_from_one_event_loop_then_another_steps_at_once(server_url):
    # asyncio.run(env.areset()) then asyncio.run(env.astep(...)): the connection belonged to the
    # first loop, gone with it; the step was written on its socket, whose answer no loop read,
    # and came back after the whole timeout as a transport error.
    env = AsyncRemoteEnv(ECHO_ID, server=server_url, timeout=3.0)
    try:
        assert asyncio.run(env.areset(seed=0))[0] == "ready"
        started = time.monotonic()
        observation, _, _, truncated, info = asyncio.run(env.astep("hello"))
        assert (observation, truncated) == ("echo hello", False), info
        assert time.monotonic() - started < 2.0
        assert asyncio.run(env.astep("again"))[0] == "echo again"  # the same session, resumed
        assert env.reconnects >= 1
    finally:
        asyncio.run(env.aclose())
    assert httpx.get(server_url + "/health").json()["sessions"] == 0  # closed from the third loop

