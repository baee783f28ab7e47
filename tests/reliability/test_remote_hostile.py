"""The hostile-input contract (``agentgym.testing.check_llm_env``) through the environment
server: every shipped game made with ``agentgym.make(id, server=URL)`` (RemoteEnv, HTTP) keeps
it (of the environments played in a browser, one of each kind of observation: see
``remote_contract_ids``), and so do a few through ``AsyncRemoteEnv`` (WebSocket); hostile
actions and random moves give remotely exactly what they give locally, for every shipped
environment; random actions travel with their generator.

What ``check_llm_env`` asks of an environment beyond Gymnasium's API, and how a RemoteEnv
answers it: ``reset(seed=...)`` seeds ``env.unwrapped.np_random`` (``check_env``);
``env.unwrapped.random_action(rng)`` (its random agent) is served by the server with the
generator's state sent there and back; ``env.unwrapped.reference_answer`` is ``None`` remotely
(the hidden answer stays on the server), so ``check_hidden_answer`` has nothing to check there
— the openings are compared with the local ones instead, which the local contract checks.
"""

import asyncio
import random

import gymnasium as gym
from gymnasium.utils.env_checker import data_equivalence
import httpx
import numpy as np
import pytest

import agentgym
from agentgym.core import Feedback, LLMEnv
from agentgym.remote import AsyncRemoteEnv, RemoteEnv, RemoteEnvError, running_env_server
from agentgym.spaces import UnicodeText
from agentgym.testing import check_llm_env, hostile_actions
from tests.reliability.conftest import parity_budget, probe_budget, remote_contract_ids, shipped_env_ids

SHIPPED = shipped_env_ids()
CORE = ("reward_components", "error", "success")


class NoRandomMoves(LLMEnv):
    """An environment with no example actions: its random_action raises NotImplementedError."""

    family = "test"
    instructions = "anything"

    def new_episode(self, options):
        return "go"

    def play(self, action):
        return Feedback("ok")


agentgym.register("test/NoRandomMoves-v0", NoRandomMoves, max_turns=5)


@pytest.fixture(scope="module")
def url():
    with running_env_server(max_sessions=64) as root:
        yield root


def test_every_shipped_game_is_probed():
    from agentgym.envs.games import GAME_IDS

    assert set(GAME_IDS) <= set(SHIPPED) and len(SHIPPED) >= 15


@pytest.mark.parametrize("env_id", remote_contract_ids())
def test_every_shipped_game_keeps_the_contract_through_the_server(url, env_id):
    # Without a turn budget, as the local probe checks ``env.unwrapped``: Gymnasium's checker
    # counts a one-turn environment truncated after its first (invalid) step as broken.
    env = agentgym.make(env_id, server=url, max_turns=None)
    try:
        assert isinstance(env.unwrapped, RemoteEnv)
        check_llm_env(env, **probe_budget(env_id, 40, remote=True))
    finally:
        env.close()


def _same(remote, local):
    assert data_equivalence(remote[0], local[0], exact=True), "observation"
    assert remote[1] == local[1] or (np.isnan(remote[1]) and np.isnan(local[1])), "reward"
    assert remote[2:4] == local[2:4], "terminated/truncated"
    for key in CORE:
        assert remote[4][key] == local[4][key], key


@pytest.mark.parametrize("env_id", SHIPPED)
def test_hostile_actions_and_random_moves_give_what_they_give_locally(url, env_id):
    local, remote = agentgym.make(env_id), agentgym.make(env_id, server=url)
    hostile, moves = parity_budget(env_id)
    try:
        for env in (local, remote):
            env.reset(seed=11)
        for action in hostile_actions(hostile, seed=3):
            expected = local.step(action)
            got = remote.step(action)
            assert got[4].get("remote_error") is None, got[4]
            _same(got, expected)
            if expected[2] or expected[3]:
                assert data_equivalence(local.reset(seed=12)[0], remote.reset(seed=12)[0], exact=True)
        local_rng, remote_rng = random.Random(7), random.Random(7)
        for seed in (21, 22):
            assert data_equivalence(local.reset(seed=seed)[0], remote.reset(seed=seed)[0], exact=True)
            for _ in range(moves):
                action = remote.unwrapped.random_action(remote_rng)
                assert action == local.unwrapped.random_action(local_rng)
                assert remote_rng.getstate() == local_rng.getstate()  # the generator moved on as locally
                expected = local.step(action)
                _same(remote.step(action), expected)
                if expected[2] or expected[3]:
                    break
    finally:
        local.close()
        remote.close()


def test_random_action_edges(url):
    env = RemoteEnv("games/Wordle-v0", server=url)
    try:
        with pytest.raises(RemoteEnvError, match="409.*reset"):
            env.random_action(random.Random(0))
        env.reset(seed=0)
        generator = np.random.default_rng(3)  # not Python's: a seed drawn from it, reproducibly
        first = env.random_action(generator)
        assert first == env.random_action(np.random.default_rng(3)) and isinstance(first, str)
        with httpx.Client(base_url=url, timeout=10) as client:
            path = f"/v1/sessions/{env.session_id}/random_action"
            for body in ({}, {"seed": 1, "state": [3, [0] * 625, None]}, {"seed": -1}, {"seed": True},
                         {"state": [3, [0] * 3, None]}, {"state": [3, ["x"] * 625, None]}, {"state": "abc"},
                         {"state": [99, list(random.Random().getstate()[1]), None]}):
                answer = client.post(path, json=body)
                assert answer.status_code == 422, (body, answer.text)
                assert answer.json()["error"]["message"]
    finally:
        env.close()
    none = RemoteEnv("test/NoRandomMoves-v0", server=url)
    try:
        none.reset(seed=0)
        with pytest.raises(NotImplementedError, match="random_action"):  # as locally
            none.random_action(random.Random(0))
        with pytest.raises(NotImplementedError):
            agentgym.make("test/NoRandomMoves-v0").unwrapped.random_action(random.Random(0))
    finally:
        none.close()


class _BlockingAsyncRemote(gym.Env):
    """A Gymnasium env stepping an :class:`AsyncRemoteEnv` on a private event loop, so that the
    sync contract checks run over the WebSocket client."""

    metadata = {"render_modes": []}
    observation_space = UnicodeText()
    action_space = UnicodeText(100_000)
    reference_answer = None

    def __init__(self, env_id: str, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.remote = AsyncRemoteEnv(env_id, server=url)
        self.loop.run_until_complete(self.remote.open())

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.loop.run_until_complete(self.remote.areset(seed=seed, options=options))

    def step(self, action):
        return self.loop.run_until_complete(self.remote.astep(action))

    def random_action(self, rng):
        return self.loop.run_until_complete(self.remote.arandom_action(rng))

    def close(self):
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.remote.aclose())
            self.loop.close()


@pytest.mark.parametrize("env_id", ["games/Wordle-v0", "games/Sudoku-v0", "games/TwentyQuestions-v0",
                                    "games/Minesweeper-v0"])
def test_the_contract_holds_through_the_websocket_client(url, env_id):
    env = _BlockingAsyncRemote(env_id, url)
    try:
        check_llm_env(env, **probe_budget(env_id, 40))
    finally:
        env.close()

    async def parity():
        local = agentgym.make(env_id)
        async with AsyncRemoteEnv(env_id, server=url) as remote:
            local.reset(seed=5)
            await remote.areset(seed=5)
            for action in hostile_actions(60, seed=9):
                expected = local.step(action)
                got = await remote.astep(action)
                assert got[4].get("remote_error") is None, got[4]
                _same(got, expected)
                if expected[2] or expected[3]:
                    local.reset(seed=6)
                    await remote.areset(seed=6)
            local_rng, remote_rng = random.Random(1), random.Random(1)
            local.reset(seed=8)
            await remote.areset(seed=8)
            for _ in range(5):
                assert await remote.arandom_action(remote_rng) == local.unwrapped.random_action(local_rng)
        local.close()

    asyncio.run(asyncio.wait_for(parity(), 60))
