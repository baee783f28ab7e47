"""Exploratory findings on the local handles: what an environment raises or returns that is no
ordinary error (SystemExit from a library's argument parser, KeyboardInterrupt, an exception or
an observation that does not survive the pipe) fails its call, never the caller's event loop."""

from __future__ import annotations

import asyncio
import time

import pytest
from explore_envs import AsyncHostile, Hostile, Spawner

from agentgym.runtime import EnvCallFailed, LocalHandle, ProcessHandle
from agentgym.runtime.process_env import ProcessEnv


@pytest.mark.parametrize("form, actions", [(LocalHandle, ("argparse", "interrupt")), (ProcessHandle, ("argparse",))])
def test_an_environment_raising_systemexit_or_keyboardinterrupt_fails_its_call_not_the_loop(form, actions):
    async def main():
        handle = form(Hostile, timeout=30.0)
        failures = []
        try:
            for action in actions:  # each failure rebuilds: a process form starts a child each time
                await handle.reset()
                with pytest.raises(EnvCallFailed) as failed:
                    await handle.step(action)
                failures.append(failed.value.failure.error)
            await handle.reset()
            after = await handle.step("fine")
        finally:
            await handle.close()
        return failures, after

    failures, after = asyncio.run(main())  # SystemExit / KeyboardInterrupt used to end asyncio.run
    assert "SystemExit(2)" in failures[0]
    assert len(failures) == 1 or "KeyboardInterrupt" in failures[1]
    assert after.observation == "echo fine"


def test_an_environment_coroutine_raising_systemexit_on_the_loop_fails_its_call_not_the_loop():
    async def main():
        handle = LocalHandle(AsyncHostile, timeout=30.0, coroutines=True)
        try:
            await handle.reset()
            with pytest.raises(EnvCallFailed, match="SystemExit") as failed:
                await handle.step("argparse")
            await handle.reset()
            return failed.value.failure, await handle.step("fine")
        finally:
            await handle.close()

    failure, after = asyncio.run(main())
    assert failure.exception is not None and after.observation == "echo fine"


@pytest.mark.parametrize("coroutines", [False, True])
def test_an_environment_raising_stopiteration_fails_its_call_at_once(coroutines):
    """A StopIteration cannot be set on an asyncio future: the awaited call hung until its timeout."""
    async def main():
        handle = LocalHandle(AsyncHostile if coroutines else Hostile, timeout=20.0, coroutines=coroutines)
        try:
            await handle.reset()
            started = time.monotonic()
            with pytest.raises(EnvCallFailed, match="StopIteration") as failed:
                await handle.step("next")
            waited = time.monotonic() - started
            await handle.reset()
            return failed.value.failure, waited, await handle.step("fine")
        finally:
            await handle.close()

    failure, waited, after = asyncio.run(main())
    assert "timed out" not in failure.error and waited < 10 and after.observation == "echo fine"


@pytest.mark.parametrize("form", [LocalHandle, ProcessHandle])
def test_a_remote_environments_lost_session_fails_its_call_in_every_runtime(form):
    """As the server runtime does: a rollout must not train on "session expired" as an observation."""
    async def main():
        handle = form(Hostile, timeout=30.0)
        try:
            await handle.reset()
            with pytest.raises(EnvCallFailed, match="environment server: session expired") as failed:
                await handle.step("lost")
            broken = handle.broken
            await handle.reset()  # a fresh environment
            return failed.value.failure, broken, await handle.step("fine")
        finally:
            await handle.close()

    failure, broken, after = asyncio.run(main())
    assert failure.info()["env_failed"] and broken and after.observation == "echo fine"


def test_a_killed_environment_process_takes_the_processes_it_started_with_it():
    """A step timeout kills the child; a process the environment started (a server, a browser)
    was left running, orphaned, for as long as it liked."""
    import os

    import psutil

    marker = 700_000 + os.getpid() % 1000

    async def main():
        handle = ProcessHandle(Spawner, timeout=3.0)
        try:
            observation, _ = await handle.reset(options={"marker": marker})
            with pytest.raises(EnvCallFailed, match="timed out"):
                await handle.step("hang")
            return int(observation)
        finally:
            await handle.close()

    helper = asyncio.run(main())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(helper) and time.monotonic() < deadline:
        try:
            if psutil.Process(helper).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    alive = psutil.pid_exists(helper) and psutil.Process(helper).status() != psutil.STATUS_ZOMBIE
    if alive:
        psutil.Process(helper).kill()
    assert not alive, "the environment's own process outlived its killed environment process"


def test_a_process_env_exception_that_cannot_be_unpickled_arrives_renamed_with_its_message():
    env = ProcessEnv(Hostile).start()
    try:
        env.reset()
        with pytest.raises(RuntimeError, match="PairError: left and right") as raised:
            env.step("pair")
        assert "in the environment's process" in "".join(getattr(raised.value, "__notes__", []))
        assert env.step("fine")[0] == "echo fine"  # the child lives on
    finally:
        env.close()


def test_a_process_env_result_that_cannot_be_unpickled_is_no_death_of_the_process():
    env = ProcessEnv(Hostile).start()
    try:
        env.reset()
        started = time.monotonic()
        with pytest.raises(TypeError, match="cannot be rebuilt") as raised:
            env.step("unrebuildable")
        assert "ended" not in str(raised.value) and time.monotonic() - started < 2.0
        assert env.is_alive() and env.step("fine")[0] == "echo fine"
    finally:
        env.close()
