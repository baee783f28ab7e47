"""Exploratory tests, round 15: what the environment's process does with a result it cannot send."""

from __future__ import annotations

import pytest
from explore_envs import Unsendable, Untravelling

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
