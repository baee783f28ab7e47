"""EnvHandle's contract in its local forms: results, timeouts, failures, rebuilds, close."""

from __future__ import annotations

import asyncio
import threading
import time

import psutil
import pytest
from runtime_test_envs import Countdown

from agentgym.info import ErrorKind
from agentgym.runtime import EnvCallFailed, LocalHandle, ProcessHandle, hung_thread_count
from agentgym.runtime.runtimes import EnvSpec, ProcessRuntime, ThreadRuntime, as_runtime
from agentgym.wrappers import WrapperSpec
from tests.resource_probe import live_threads, started_since

SPEC = EnvSpec("testing/Countdown-v0", {"hang_s": 3.0})


def run(coroutine):
    return asyncio.run(coroutine)


async def _episode(handle, actions):
    await handle.open()
    observation, info = await handle.reset(seed=0)
    results = [await handle.step(action) for action in actions]
    return observation, info, results


@pytest.mark.parametrize("form", [LocalHandle, ProcessHandle])
def test_a_handle_resets_steps_and_closes_like_the_env(form):
    async def main():
        handle = form(SPEC, timeout=30.0)
        try:
            observation, info, results = await _episode(handle, ["a", "b", "c"])
        finally:
            await handle.close()
        return observation, info, results, handle

    observation, info, results, handle = run(main())
    assert observation.startswith("start in") and info["task_id"].startswith("Countdown")
    assert [r.reward for r in results] == [0.0, 0.0, 1.0] and results[-1].terminated
    assert results[-1].info["success"] is True and handle.closed and handle.abandoned == 0
    in_process = form is LocalHandle
    assert (observation == f"start in {psutil.Process().pid}") == in_process


def test_a_failure_breaks_the_handle_and_the_next_reset_rebuilds():
    async def main():
        handle = LocalHandle(SPEC, timeout=5.0)
        await _episode(handle, [])
        first = handle.env
        with pytest.raises(EnvCallFailed) as failed:
            await handle.step("raise")
        assert failed.value.failure.kind is ErrorKind.ENV_ERROR
        assert failed.value.failure.error == "step raised RuntimeError: the environment broke"
        assert "in play" in failed.value.failure.traceback and handle.broken
        with pytest.raises(EnvCallFailed, match="has not been reset since"):
            await handle.step("a")
        await handle.reset(seed=1)  # a fresh environment; the failed one was closed
        assert handle.env is not first and first.unwrapped.closed and not handle.broken
        await handle.close()
        assert handle.env is None

    run(main())


def test_a_hung_call_in_a_thread_is_abandoned_and_its_llmenv_closed_beside_it():
    async def main():
        hung_before, threads = hung_thread_count(), live_threads()
        handle = LocalHandle(SPEC, timeout=0.3)
        await _episode(handle, [])
        env = handle.env
        with pytest.raises(EnvCallFailed) as failed:
            await handle.step("hang")
        failure = failed.value.failure
        assert failure.kind is ErrorKind.TIMEOUT and failure.hung and failure.error == "step timed out after 0.3 s"
        assert hung_thread_count() == hung_before + 1 and handle.abandoned == 1
        await handle.close()
        assert env.unwrapped.closed  # released at once, while the step still sleeps
        return hung_before, threads

    hung_before, threads = run(main())
    deadline = time.monotonic() + 10  # the step sleeps 3 s, then its abandoned thread ends
    while hung_thread_count() > hung_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hung_thread_count() == hung_before and not started_since(threads)


def test_a_hung_call_in_a_process_is_killed_and_nothing_is_abandoned():
    async def main():
        hung_before = hung_thread_count()
        handle = ProcessHandle(SPEC, timeout=2.0)
        await _episode(handle, [])
        child = handle.process.pid
        with pytest.raises(EnvCallFailed) as failed:
            await handle.step("hang")
        assert failed.value.failure.killed and not failed.value.failure.hung
        assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
        observation, _ = await handle.reset(seed=0)  # a fresh process
        assert str(child) not in observation
        await handle.close()
        assert hung_thread_count() == hung_before and handle.abandoned == 0

    run(main())


def test_a_process_that_dies_is_a_failure_that_says_so():
    async def main():
        handle = ProcessHandle(SPEC, timeout=10.0)
        await _episode(handle, [])
        with pytest.raises(EnvCallFailed) as failed:
            await handle.step("die")
        await handle.close()
        return failed.value.failure

    failure = run(main())
    assert failure.kind is ErrorKind.ENV_ERROR and "ProcessEnvDied" in failure.error


def test_construction_that_raises_is_reported_with_the_exception():
    async def main():
        handle = LocalHandle(EnvSpec("testing/Countdown-v0", {"no_such_argument": 1}), timeout=5.0)
        with pytest.raises(EnvCallFailed) as failed:
            await handle.open()
        await handle.close()
        return failed.value.failure

    failure = run(main())
    assert failure.exception is not None and failure.error.startswith("construction raised")


def test_runtimes_by_name_and_their_clear_errors():
    assert isinstance(as_runtime("thread"), ThreadRuntime) and isinstance(as_runtime("process"), ProcessRuntime)
    assert as_runtime("http://127.0.0.1:9").url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="env_runtime must be 'thread', 'process', 'ray', a server URL"):
        as_runtime("threads")
    unpicklable = EnvSpec("testing/Countdown-v0", wrappers=(lambda env: env,))
    with pytest.raises(TypeError, match="cannot be pickled"):
        ProcessRuntime().check(unpicklable)
    with pytest.raises(TypeError, match="cannot be described as data; use WrapperSpec"):
        as_runtime("http://127.0.0.1:9").check(unpicklable)
    as_runtime("http://127.0.0.1:9").check(EnvSpec("testing/Countdown-v0", wrappers=(WrapperSpec("AnswerFormat"),)))


class SlowClose(Countdown):
    """Its close takes a while (a browser or a server shutting down)."""

    def close(self) -> None:
        time.sleep(0.3)
        super().close()


@pytest.mark.parametrize("form", ["thread", "process"])
def test_a_close_cancelled_from_outside_still_ends_the_environment_and_its_thread(form):
    handle_type = LocalHandle if form == "thread" else ProcessHandle
    before = {t.ident for t in threading.enumerate()}

    async def main():
        handle = handle_type(SlowClose, timeout=10, name="agentgym-test-slow-close")
        await handle.open()
        await handle.reset(seed=0)
        env = handle.env
        closing = asyncio.ensure_future(handle.close())
        await asyncio.sleep(0.05)
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        return env

    env = run(main())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [t for t in threading.enumerate()
                                           if t.ident not in before and t.name.startswith("agentgym-test")]:
        time.sleep(0.02)
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.name.startswith("agentgym-test")]
    assert not left, f"threads left after a cancelled close: {left}"
    if form == "thread":
        assert env.closed  # the close handed to the thread ran to its end
    else:  # the environment's process is gone (multiprocessing's resource tracker may stay)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _env_processes():
            time.sleep(0.05)
        assert not _env_processes()


def _env_processes():
    children = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(child.cmdline()):
                children.append(child)
        except psutil.NoSuchProcess:
            pass
    return children
