"""Exploratory tests, round 15: what the environment's process does with a result or arguments
that cannot be pickled; a remote handle's reset that rebuilds within one timeout."""

from __future__ import annotations

import asyncio
import time

import pytest
from explore_envs import Unsendable, Untravelling

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.info import ErrorKind
from agentgym.registry import is_registered
from agentgym.runtime import EnvCallFailed
from agentgym.runtime.process_env import ProcessEnv


def test_a_result_that_fails_to_pickle_in_any_way_is_said_so_and_the_process_lives_on():
    # Only PicklingError, TypeError and AttributeError were caught: a result whose pickling
    # raised ValueError (a ctypes pointer) or RecursionError (a deep structure) ended the child
    # with a traceback on stderr, and the call failed as "the environment's process ended
    # during step (exit code 1)".
    env = ProcessEnv(Unsendable).start()
    try:
        env.reset()
        pid = env.pid
        with pytest.raises(TypeError, match=r"the environment returned something that cannot be pickled: "
                                            r"ValueError: this object does not travel"):
            env.step("unsendable")
        with pytest.raises(TypeError, match=r"cannot be pickled: RecursionError"):
            env.step("deep")
        assert env.is_alive() and env.pid == pid
        assert env.step("go")[0] == "echo go"
    finally:
        env.close()


def test_an_action_that_fails_to_pickle_is_said_so_not_taken_for_a_dead_process():
    # Pickling the call's arguments raised ValueError (an object whose pickling refuses, as a
    # ctypes pointer's does) inside Connection.send, which was taken for a closed pipe: the
    # step failed as "the environment's process is gone (step)" with the process alive and well.
    env = ProcessEnv(Unsendable).start()
    try:
        env.reset()
        pid = env.pid
        with pytest.raises(TypeError, match=r"the arguments of step cannot be pickled: "
                                            r"ValueError: this object does not travel"):
            env.step(Untravelling())
        assert env.is_alive() and env.pid == pid
        assert env.step("go")[0] == "echo go"
    finally:
        env.close()


SLOW_ID = "test/SlowBuildAndReset-v0"


class SlowBuildAndReset(LLMEnv):
    """Takes ``delay`` seconds to build, and as long to start each episode."""

    instructions = "say anything"

    def __init__(self, delay: float = 0.5, **kwargs) -> None:
        time.sleep(delay)
        super().__init__(**kwargs)
        self.delay = delay

    def new_episode(self, options):
        time.sleep(self.delay)
        return "ready"

    def play(self, action):
        return Feedback(f"echo {action}")


if not is_registered(SLOW_ID):
    agentgym.register(SLOW_ID, SlowBuildAndReset, max_turns=None)


def test_a_remote_reset_that_builds_first_counts_the_build_toward_its_timeout():
    # The handle contract (and LocalHandle) counts the construction toward the reset that builds;
    # RemoteHandle gave each its own timeout, so a reset with timeout=0.8 took 1 s and more
    # (0.5 s to build, 0.5 s to reset) and succeeded.
    from agentgym.remote import running_env_server
    from agentgym.runtime.remote import RemoteHandle
    from agentgym.runtime.runtimes import EnvSpec

    async def main(url):
        handle = RemoteHandle(EnvSpec(SLOW_ID, kwargs={"delay": 0.5}), server=url, timeout=0.8)
        try:
            with pytest.raises(EnvCallFailed) as failed:
                await handle.reset(seed=0)
            return failed.value.failure
        finally:
            await handle.close()

    with running_env_server(max_sessions=4) as url:
        failure = asyncio.run(main(url))
    assert failure.kind is ErrorKind.TIMEOUT
    assert failure.error == "reset timed out after 0.8 s"
