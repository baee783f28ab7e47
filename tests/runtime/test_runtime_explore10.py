"""Exploratory findings (round 10) on the env runtimes: what a long run of event loops leaves
behind; an action the environment's process cannot rebuild; a factory that returns no
environment."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref

import psutil
import pytest
from explore_envs import Hostile, Unrebuildable
from runtime_test_envs import Countdown

from agentgym.runtime import EnvCallFailed, LocalHandle
from agentgym.runtime.process_env import ProcessEnv
from agentgym.runtime.worker import SlotWorker


def test_an_event_loop_that_received_worker_results_is_not_kept_alive_by_the_worker():
    # Every asyncio.run of a rollout (or a vector env's private loop) used to stay in memory for
    # the life of the process: the results' delivery table held each loop strongly.
    worker = SlotWorker("explore10-worker")
    loops = []

    async def main():
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return await worker.submit_to_loop(sum, (1, 2))

    try:
        assert [asyncio.run(main()) for _ in range(3)] == [3, 3, 3]
    finally:
        worker.shutdown()
    gc.collect()
    assert [loop() for loop in loops] == [None, None, None]


def test_a_handle_stepped_on_a_loop_that_was_never_closed_gives_its_descriptors_back():
    # A loop nobody closed (a vector env dropped without close()) is closed when it is collected;
    # kept alive by the delivery table, its selector and self-pipe (3 descriptors) leaked for good.
    process = psutil.Process()
    before = process.num_fds()
    for _ in range(5):
        loop = asyncio.new_event_loop()
        handle = LocalHandle(Countdown, timeout=30.0)
        loop.run_until_complete(handle.reset(seed=0))
        loop.run_until_complete(handle.step("go"))
        loop.run_until_complete(handle.close())
        del loop
    gc.collect()
    assert process.num_fds() <= before


def test_an_action_the_environments_process_cannot_rebuild_is_said_so_and_the_process_lives_on():
    # An action whose class the child cannot import (a dataclass of the parent's script, whose
    # __main__ the fresh interpreter never runs) ended the child with a traceback on stderr, and
    # the call failed as "the environment's process ended during step (exit code 1)".
    env = ProcessEnv(Hostile).start()
    try:
        env.reset()
        pid = env.pid
        with pytest.raises(TypeError, match=r"the arguments of step cannot be rebuilt in the environment's "
                                            r"process: ValueError: this object cannot be rebuilt") as raised:
            env.step(Unrebuildable())
        assert "ended" not in str(raised.value)
        assert env.is_alive() and env.pid == pid
        assert env.step("fine")[0] == "echo fine"
    finally:
        env.close()


def _returns_none():
    return None


def _returns_a_class():
    return Hostile


@pytest.mark.parametrize("factory, returned", [(_returns_none, "None"), (_returns_a_class, "<class ")])
def test_a_factory_that_returns_no_environment_fails_the_construction_naming_it(factory, returned):
    # None was built without a word: every reset then failed with "'NoneType' object has no
    # attribute 'reset'" (a class: "reset() missing 1 required positional argument: 'self'"),
    # and each rebuild called the factory again for the same answer.
    async def main():
        handle = LocalHandle(factory, timeout=30.0)
        try:
            with pytest.raises(EnvCallFailed) as failed:
                await handle.open()
            return failed.value.failure
        finally:
            await handle.close()

    failure = asyncio.run(main())
    assert failure.error.startswith(f"construction raised TypeError: the environment factory {factory!r} "
                                    f"returned {returned}")
    assert "not an environment" in failure.error


def test_a_factory_that_returns_no_environment_in_a_child_process_is_named_too():
    with pytest.raises(TypeError, match=r"the environment factory <function _returns_none at .*> returned None, "
                                        r"not an environment"):
        ProcessEnv(_returns_none).start()


def test_a_process_env_dropped_without_close_leaves_no_zombie():
    # Its child ended (the pipe closed) but nobody reaped it: a zombie until this process ended
    # or happened to start another subprocess (a vector env with isolation='process' dropped
    # without close() left one per slot).
    assert_reaped_once_dropped(lambda: ProcessEnv(Hostile).start())


def test_a_multiprocessing_child_dropped_without_close_leaves_no_zombie_either():
    # fork: the multiprocessing path (a factory from the parent's __main__ takes it under spawn).
    assert_reaped_once_dropped(lambda: ProcessEnv(Hostile, start_method="fork").start())


def assert_reaped_once_dropped(started) -> None:
    """Start an environment (``started()``), reset it, drop it unclosed, and check its child
    process is gone, zombie included."""
    env = started()
    env.reset()
    pid = env.pid
    del env
    gc.collect()
    me = psutil.Process()
    deadline = time.monotonic() + 10.0
    while pid in {child.pid for child in me.children()} and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pid not in {child.pid for child in me.children()}, "the dropped environment's process is still there"


def test_a_process_runtime_with_an_unknown_start_method_is_refused_when_made():
    # It was accepted, and every episode then failed its reset ("reset raised ValueError: cannot
    # find context for 'forkserve'"), each a rebuild that failed the same way.
    from agentgym.runtime.runtimes import ProcessRuntime

    with pytest.raises(ValueError, match=r"start_method must be one of \[.*'spawn'.*\], got 'forkserve'"):
        ProcessRuntime(start_method="forkserve")
    assert ProcessRuntime().start_method == "spawn"
