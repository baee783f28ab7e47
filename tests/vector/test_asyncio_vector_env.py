"""What only the asyncio vector env does: native coroutines, its own loop, cancellation."""

from __future__ import annotations

import asyncio
import threading
from contextlib import closing

import pytest
from vector_test_envs import AsyncEchoEnv, AsyncGauge, EchoEnv, Factory

from agentgym import Feedback, LLMEnv
from agentgym.vector import AsyncioVectorEnv
from tests.resource_probe import live_threads, started_since

TIMEOUT = 0.3


def async_vector(
    n: int, gauge: AsyncGauge | None = None, **kwargs
) -> tuple[AsyncioVectorEnv, list[Factory]]:
    gauge = gauge or AsyncGauge(parties=n)
    factories = [Factory(AsyncEchoEnv, gauge=gauge) for _ in range(n)]
    return AsyncioVectorEnv(factories, **kwargs), factories


def test_native_coroutines_run_concurrently_on_the_callers_loop():
    gauge = AsyncGauge(parties=4)
    envs, factories = async_vector(4, gauge)

    async def rollout():
        await envs.areset(seed=0)
        return await envs.astep(["a", "b", "c", "d"])

    with closing(envs):
        observations, _, _, truncations, _ = asyncio.run(rollout())
    assert gauge.peak == 4
    assert observations == (
        "echo a (turn 1)",
        "echo b (turn 1)",
        "echo c (turn 1)",
        "echo d (turn 1)",
    )
    assert not truncations.any()
    assert all(f.built[0].async_steps == 1 for f in factories)
    # the environments' own astep ran on this (the loop's) thread, not in a worker thread
    assert all(threading.get_ident() in f.built[0].threads for f in factories)


def test_sync_methods_run_on_a_private_loop():
    gauge = AsyncGauge(parties=3)
    envs, factories = async_vector(3, gauge)
    with closing(envs):
        envs.reset(seed=0)
        observations, *_ = envs.step(["a", "b", "c"])
        envs.step(["d", "e", "f"])
    assert gauge.peak == 3
    assert observations[2] == "echo c (turn 1)"
    assert all(f.built[0].async_steps == 2 for f in factories)


def test_sync_methods_called_inside_a_running_loop_raise_clearly():
    envs, _ = async_vector(2)

    async def misuse():
        with pytest.raises(RuntimeError, match=r"running one; use `await env.areset"):
            envs.reset(seed=0)
        await envs.areset(seed=0)
        with pytest.raises(RuntimeError, match=r"running one; use `await env.astep"):
            envs.step(["a", "b"])
        return await envs.astep(["a", "b"])

    with closing(envs):
        observations, *_ = asyncio.run(misuse())
    assert observations == ("echo a (turn 1)", "echo b (turn 1)")


def test_a_timed_out_coroutine_is_cancelled_and_its_env_rebuilt():
    envs, factories = async_vector(3, AsyncGauge(parties=1), step_timeout=TIMEOUT)
    with closing(envs):
        envs.reset(seed=0)
        baseline = live_threads()
        observations, _, _, truncations, infos = envs.step(["hang", "a", "b"])
        assert infos["error"][0] == "step timed out after 0.3 s"
        assert infos["env_failed"].tolist() == [True, False, False]
        assert truncations.tolist() == [True, False, False]
        assert observations[1:] == ("echo a (turn 1)", "echo b (turn 1)")
        hung = factories[0].built[0]
        assert hung.cancelled  # cancelled, not left running: no thread abandoned
        assert not started_since(baseline)
        observations, *_ = envs.step(["x", "c", "d"])
        assert observations[0].startswith("episode start")
        assert len(factories[0].built) == 2 and hung.was_closed


def test_a_raising_coroutine_is_isolated():
    envs, factories = async_vector(2, AsyncGauge(parties=1))
    with closing(envs):
        envs.reset(seed=0)
        observations, _, _, truncations, infos = envs.step(["explode", "a"])
        assert infos["error"][0] == "step raised RuntimeError: boom"
        assert "in astep" in infos["traceback"][0]
        assert truncations.tolist() == [True, False] and observations[1] == "echo a (turn 1)"


def test_overlapping_steps_are_refused():
    envs, _ = async_vector(2, AsyncGauge(parties=1))

    async def overlap():
        await envs.areset(seed=0)
        return await asyncio.gather(
            envs.astep(["a", "b"]), envs.astep(["c", "d"]), return_exceptions=True
        )

    with closing(envs):
        first, second = asyncio.run(overlap())
    assert first[0] == ("echo a (turn 1)", "echo b (turn 1)")
    assert isinstance(second, RuntimeError) and "one batch at a time" in str(second)


def test_plain_llm_envs_run_their_sync_methods_in_the_slot_thread():
    """LLMEnv's default astep only wraps step in a thread: it runs in the slot's own thread."""
    factories = [Factory(EchoEnv) for _ in range(2)]
    envs = AsyncioVectorEnv(factories)

    async def rollout():
        await envs.areset(seed=0)
        return await envs.astep(["a", "b"])

    with closing(envs):
        observations, *_ = asyncio.run(rollout())
    assert observations == ("echo a (turn 1)", "echo b (turn 1)")
    for factory in factories:
        (thread,) = factory.built[0].threads  # built, reset and stepped in one thread
        assert thread != threading.get_ident()


class AsyncHooksOnly(LLMEnv):
    """Implements only async hooks (an async browser driver would); records the loop and
    thread each ran on, and waits in ``aplay`` until ``parties`` steps are inside at once."""

    parties = 2
    inside = 0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen: list[tuple[asyncio.AbstractEventLoop, int]] = []

    async def anew_episode(self, options):
        self.seen.append((asyncio.get_running_loop(), threading.get_ident()))
        return "start"

    async def aplay(self, action):
        self.seen.append((asyncio.get_running_loop(), threading.get_ident()))
        type(self).inside += 1
        for _ in range(200):  # only concurrent steps on one loop all get inside
            if type(self).inside >= self.parties:
                break
            await asyncio.sleep(0.005)
        return Feedback(f"echo {action} with {type(self).inside} inside", {"outcome": 0.0})


def test_llm_envs_with_async_hooks_run_on_the_shared_loop():
    AsyncHooksOnly.inside = 0
    factories = [Factory(AsyncHooksOnly) for _ in range(2)]
    envs = AsyncioVectorEnv(factories, step_timeout=5)

    async def rollout():
        await envs.areset(seed=0)
        observations, *_ = await envs.astep(["a", "b"])
        return asyncio.get_running_loop(), observations

    with closing(envs):
        loop, observations = asyncio.run(rollout())
    assert observations == ("echo a with 2 inside", "echo b with 2 inside")
    for factory in factories:
        assert factory.built[0].seen == [(loop, threading.get_ident())] * 2  # the caller's loop and thread
