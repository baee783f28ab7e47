"""A ``render`` or ``random_action`` answer that is not an agentgym server's (a field missing, a
PNG that does not decode, a generator state of the wrong shape) is a RemoteEnvError naming it,
as a malformed step or reset answer is a server failure, not a KeyError or binascii.Error out of
the call; a malformed draw leaves the caller's generator as it was (glue: the transport is
stubbed, the decoding is real)."""

from __future__ import annotations

import asyncio
import random

import pytest

from agentgym.remote.aclient import AsyncRemoteEnv
from agentgym.remote.client import RemoteEnv, RemoteEnvError

GAME = "games/GuessTheNumber-v0"
BAD_FRAMES = [{}, {"frame": {"$png": "not base64!"}}, ["frame"]]
BAD_DRAWS = [{}, {"action": "5", "state": [3, "not a state", None]}, {"action": "5", "state": [3]}, "5"]


def _stubbed(env: RemoteEnv, suffix: str, answer):
    real_request = env._request
    env._request = lambda method, path, body=None: answer if path.endswith(suffix) else real_request(method, path, body)


@pytest.mark.parametrize("answer", BAD_FRAMES)
def test_a_malformed_render_answer_is_a_remote_env_error(server_url, answer):
    env = RemoteEnv(GAME, server=server_url, render_mode="ansi")
    try:
        env.reset(seed=0)
        _stubbed(env, "/render", answer)
        with pytest.raises(RemoteEnvError, match="answer to render is malformed"):
            env.render()
    finally:
        env.close()


@pytest.mark.parametrize("answer", BAD_DRAWS)
def test_a_malformed_random_action_answer_is_a_remote_env_error_and_leaves_the_generator(server_url, answer):
    env = RemoteEnv(GAME, server=server_url)
    try:
        env.reset(seed=0)
        _stubbed(env, "/random_action", answer)
        rng = random.Random(7)
        before = rng.getstate()
        with pytest.raises(RemoteEnvError, match="answer to random_action is malformed"):
            env.random_action(rng)
        assert rng.getstate() == before
    finally:
        env.close()


@pytest.mark.parametrize("kind, answer", [("render", a) for a in BAD_FRAMES] + [("random_action", a) for a in BAD_DRAWS])
def test_the_async_client_reads_malformed_answers_alike(server_url, kind, answer):
    async def scenario():
        async with AsyncRemoteEnv(GAME, server=server_url, render_mode="ansi") as env:
            await env.areset(seed=0)
            real_send = env._send

            async def send(message, *args, **kwargs):
                return answer if message.get("type") == kind else await real_send(message, *args, **kwargs)

            env._send = send
            rng = random.Random(7)
            before = rng.getstate()
            with pytest.raises(RemoteEnvError, match=f"answer to {kind} is malformed"):
                await (env.arender() if kind == "render" else env.arandom_action(rng))
            assert rng.getstate() == before

    asyncio.run(scenario())
