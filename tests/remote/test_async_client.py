"""AsyncRemoteEnv through a real server: parity with the local env, many sessions on one event
loop, the failure contract, resumption; and make(id, server=URL)."""

import asyncio
import random
import socket

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.remote import AsyncRemoteEnv, RemoteEnv, RemoteEnvError, env_app, running_env_server

CORE = ("reward_components", "error", "success")


@pytest.mark.parametrize("env_id", ["games/Wordle-v0", "games/GuessTheNumber-v0", "games/TicTacToe-v0",
                                    "games/Sokoban-v0"])
def test_async_episode_matches_local(server_url, env_id):
    async def scenario():
        local = agentgym.make(env_id)
        async with AsyncRemoteEnv(env_id, server=server_url) as remote:
            for seed in (0, 7):
                rng = random.Random(seed)
                local_obs, local_info = local.reset(seed=seed)
                remote_obs, remote_info = await remote.areset(seed=seed)
                assert remote_obs == local_obs and remote_info["task_id"] == local_info["task_id"]
                for _ in range(30):
                    action = local.unwrapped.random_action(rng)
                    expected, got = local.step(action), await remote.astep(action)
                    assert got[:4] == expected[:4], action
                    assert all(got[4][key] == expected[4][key] for key in CORE)
                    if expected[2] or expected[3]:
                        break
        local.close()

    asyncio.run(scenario())


def test_64_concurrent_sessions_on_one_event_loop_are_all_correct():
    app = env_app(max_sessions=80)
    with running_env_server(app=app) as url:
        async def one(index):
            local = agentgym.make("games/GuessTheNumber-v0")
            async with AsyncRemoteEnv("games/GuessTheNumber-v0", server=url) as remote:
                assert (await remote.areset(seed=index))[0] == local.reset(seed=index)[0]
                low, high, steps = 1, 20, 0
                while True:  # binary search: each answer steers the next action, so a crossed wire shows
                    guess = (low + high) // 2
                    got, expected = await remote.astep(str(guess)), local.step(str(guess))
                    assert got[:4] == expected[:4]
                    steps += 1
                    if got[2] or got[3]:
                        return got[2] and got[4]["success"], steps
                    low, high = (guess + 1, high) if "higher" in got[0] else (low, guess - 1)

        async def run_all():
            return await asyncio.gather(*(one(index) for index in range(64)))

        results = asyncio.run(run_all())
        assert all(solved for solved, _ in results)
        metrics = app.state.metrics
        assert metrics.created_by_transport["ws"] == 64 and metrics.steps == sum(steps for _, steps in results)
    assert not app.state.sessions


def _dead_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_server_is_an_error_observation_never_a_hang():
    async def scenario():
        env = AsyncRemoteEnv("games/Wordle-v0", server=f"http://127.0.0.1:{_dead_port()}", retries=1, backoff=0.01,
                             connect_timeout=1)
        with pytest.raises(RemoteEnvError, match="cannot connect"):
            await env.open()
        observation, info = await env.areset(seed=0)
        assert observation.startswith("Environment server error") and info["remote_error"] == "unreachable"
        assert info["task_id"] is None
        observation, reward, terminated, truncated, info = await env.astep("crane")
        assert (reward, terminated, truncated) == (0.0, False, True) and info["error"]
        await env.aclose()
        with pytest.raises(ConfigError):
            await env.areset(seed=-1)

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_server_that_goes_away_mid_episode_gives_truncated_errors():
    async def scenario(url, stop):
        env = AsyncRemoteEnv("games/Wordle-v0", server=url, retries=0, timeout=5, connect_timeout=1)
        await env.areset(seed=0)
        assert (await env.astep("crane"))[4]["error"] is None
        await asyncio.to_thread(stop)
        observation, reward, terminated, truncated, info = await env.astep("slate")
        assert truncated and not terminated and info["remote_error"] in ("transport", "unreachable", "session_lost")
        assert observation.startswith("Environment server error")
        await env.aclose()

    manager = running_env_server()
    url = manager.__enter__()
    stopped = []

    def stop():
        stopped.append(True)
        manager.__exit__(None, None, None)

    try:
        asyncio.run(asyncio.wait_for(scenario(url, stop), 30))
    finally:
        if not stopped:
            manager.__exit__(None, None, None)


def test_the_client_resumes_its_session_after_a_dropped_connection(server_url):
    async def scenario():
        async with AsyncRemoteEnv("games/GuessTheNumber-v0", server=server_url) as env:
            await env.areset(seed=3)
            turns = (await env.astep("10"))[4]["turns_left"]
            sid = env.session_id
            await env._ws.close()  # the network drops the connection between two steps
            observation, reward, terminated, truncated, info = await env.astep("11")
            assert info["turns_left"] == turns - 1 and env.session_id == sid and env.reconnects == 1

    asyncio.run(scenario())


def test_make_with_a_server_is_a_remote_env(server_url):
    env = agentgym.make("games/Wordle-v0", server=server_url, max_turns=2, difficulty="hard")
    direct = RemoteEnv("games/Wordle-v0", server=server_url, max_turns=2, difficulty="hard")
    local = agentgym.make("games/Wordle-v0", max_turns=2, difficulty="hard")
    try:
        assert isinstance(env, RemoteEnv) and env.spec_info["max_turns"] == 2
        assert env.reset(seed=4)[0] == direct.reset(seed=4)[0] == local.reset(seed=4)[0]
        for action in ("crane", "slate"):
            assert env.step(action)[:4] == direct.step(action)[:4] == local.step(action)[:4]
        with pytest.raises(ConfigError, match="episode_statistics"):
            agentgym.make("games/Wordle-v0", server=server_url, episode_statistics=True)
        with pytest.raises(RemoteEnvError):
            agentgym.make("games/Wordle-v0", server=f"http://127.0.0.1:{_dead_port()}", retries=0)
    finally:
        for each in (env, direct, local):
            each.close()
