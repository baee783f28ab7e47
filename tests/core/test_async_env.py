"""Asynchronous LLMEnvs: an environment written with async hooks only, driven through
``areset``/``astep``, through the synchronous API, and through the rollout engine.

Its episode resource is a real ``sleep`` process started with asyncio's subprocess API (what an
async browser page or MCP session is to a real environment); psutil checks none is left.
"""

from __future__ import annotations

import asyncio
import threading

import psutil
import pytest
from gymnasium.error import ResetNeeded

import agentgym
from agentgym import ErrorKind, Feedback, InvalidAction, LLMEnv


class AsyncCounter(LLMEnv):
    """Reach the target by saying ``up``; ``hang`` waits forever. Async hooks only."""

    instructions = "Say up until you reach the target."
    example_actions = ("up",)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.process: asyncio.subprocess.Process | None = None
        self.acquired = self.released = self.closed = 0
        self.hook_threads: set[int] = set()

    async def aacquire_resources(self) -> None:
        self.acquired += 1
        self.process = await asyncio.create_subprocess_exec("sleep", "60")

    async def arelease_resources(self) -> None:
        self.released += 1
        self.process.kill()
        await self.process.wait()

    async def anew_episode(self, options):
        self.hook_threads.add(threading.get_ident())
        self.target = self.rng.randint(2, 4)
        self.count = 0
        return f"Target: {self.target}."

    async def aplay(self, action):
        self.hook_threads.add(threading.get_ident())
        await asyncio.sleep(0)
        if action == "hang":
            await asyncio.sleep(3600)
        if action != "up":
            raise InvalidAction("say up")
        self.count += 1
        won = self.count == self.target
        return Feedback(f"count {self.count}", {"outcome": float(won)}, terminated=won, success=won)

    async def aclose(self) -> None:
        self.closed += 1
        await super().aclose()


def sleepers() -> int:
    return sum(1 for child in psutil.Process().children(recursive=True)
               if child.is_running() and child.status() != psutil.STATUS_ZOMBIE and child.name() == "sleep")


@pytest.fixture(autouse=True)
def nothing_left_running():
    before = sleepers()
    yield
    assert sleepers() == before, "a test left a sleep process running"


def play_sync(env, seed):
    obs, info = env.reset(seed=seed)
    steps = [env.step("nope")]
    while not steps[-1][2]:
        steps.append(env.step("up"))
    return obs, info, steps


async def play_async(env, seed):
    obs, info = await env.areset(seed=seed)
    steps = [await env.astep("nope")]
    while not steps[-1][2]:
        steps.append(await env.astep("up"))
    return obs, info, steps


def test_async_and_sync_apis_give_the_same_episodes():
    assert AsyncCounter.has_async_hooks() and not LLMEnv.has_async_hooks()
    for seed in range(3):
        sync_env, async_env = AsyncCounter(), AsyncCounter()
        by_sync = play_sync(sync_env, seed)
        sync_env.close()

        async def run():
            try:
                return await play_async(async_env, seed)
            finally:
                await async_env.aclose()

        by_async = asyncio.run(run())
        assert by_sync == by_async
        assert by_sync[2][0][4]["error_kind"] is ErrorKind.INVALID_ACTION
        for env in (sync_env, async_env):
            assert (env.acquired, env.released, env.closed) == (1, 1, 1)


def test_async_hooks_run_on_the_callers_loop():
    env = AsyncCounter()

    async def run():
        await play_async(env, 0)
        await env.aclose()
        return threading.get_ident()

    assert env.hook_threads == {asyncio.run(run())}


def test_the_sync_api_runs_async_hooks_on_one_private_loop_and_close_ends_it():
    env = AsyncCounter()
    for seed in range(3):
        play_sync(env, seed)
        env.reset(seed=seed)  # abandoned in the middle: released at the next reset or close
        env.step("up")
    loop = env._private_loop
    assert loop is not None and not loop.is_closed()
    env.close()
    assert loop.is_closed() and (env.acquired, env.released, env.closed) == (6, 6, 1)
    env.close()
    assert env.closed == 2 and env.released == 6


def test_the_sync_api_inside_a_running_loop_says_to_await():
    env = AsyncCounter()

    async def run():
        with pytest.raises(RuntimeError, match=r"await env\.areset"):
            env.reset(seed=0)
        await env.areset(seed=0)
        with pytest.raises(RuntimeError, match=r"await env\.aend_episode"):
            env.end_episode()
        with pytest.raises(RuntimeError, match=r"await env\.astep"):
            env.step("up")
        with pytest.raises(RuntimeError, match=r"await env\.aclose"):
            env.close()
        assert env.released == 0, "the refused close kept the resources for aclose"
        await env.aend_episode()
        assert env.released == 1 and sleepers() == 0
        await env.aclose()

    asyncio.run(run())
    assert (env.acquired, env.released) == (1, 1)


def test_a_cancelled_step_releases_its_resources_and_ends_the_episode():
    env = AsyncCounter()

    async def run():
        await env.areset(seed=0)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(env.astep("hang"), 0.2)
        assert env.released == 1 and sleepers() == 0
        with pytest.raises(ResetNeeded):
            await env.astep("up")
        await env.aclose()

    asyncio.run(run())
    assert (env.acquired, env.released) == (1, 1)


def test_a_sync_environment_keeps_the_loop_free():
    class Blocking(LLMEnv):
        def new_episode(self, options):
            self.thread = threading.get_ident()
            return "go"

        def play(self, action):
            return Feedback("done", {"outcome": 1.0}, terminated=True, success=True)

    env = Blocking()

    async def run():
        await env.areset(seed=0)
        result = await env.astep("x")
        await env.aclose()
        return threading.get_ident(), result

    loop_thread, result = asyncio.run(run())
    assert env.thread != loop_thread and result[2] and result[4]["success"]


def test_an_environment_mixing_sync_and_async_hooks():
    class Mixed(LLMEnv):
        def new_episode(self, options):
            return "start"

        async def aplay(self, action):
            await asyncio.sleep(0)
            return Feedback(action.upper(), terminated=True)

    env = Mixed()
    env.reset(seed=0)
    assert env.step("a")[0] == "A"
    env.close()

    async def run():
        await env.areset(seed=0)
        return (await env.astep("b"))[0]

    assert asyncio.run(run()) == "B"


@pytest.mark.parametrize("replies", [["up"] * 4, ["nope"] * 5])  # every target reached; truncated
def test_the_rollout_engine_plays_an_async_environment(replies):
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import RolloutConfig, Task, rollout

    agentgym.register("testing/AsyncCounter-v0", AsyncCounter, max_turns=5)
    result = rollout(ScriptedPolicy(replies, then="up"), [Task("testing/AsyncCounter-v0", seed=s) for s in range(4)],
                     RolloutConfig(max_turns=5), progress=False)
    assert len(result.trajectories) == 4 and all(t.error is None for t in result.trajectories)
    if replies[0] == "up":
        assert all(t.success and t.terminated for t in result.trajectories)
    else:
        assert all(t.truncated and not t.success for t in result.trajectories)
        assert all(turn.info["error_kind"] == "invalid" for t in result.trajectories for turn in t.turns)
