"""``isolation="process"``: a hung environment is killed, not abandoned, and nothing is left."""

from __future__ import annotations

import functools
from contextlib import closing
from multiprocessing import resource_tracker

import psutil
import pytest
from vector_test_envs import SleepingEnv, wait_until

from agentgym.vector import ThreadVectorEnv, make_vec
from agentgym.runtime.worker import hung_thread_count
from tests.resource_probe import live_threads, started_since

# Generous: each environment's child process starts a Python interpreter (spawn) within it.
TIMEOUT = 5.0


def children() -> list[psutil.Process]:
    """This process's children, but for multiprocessing's resource tracker: ``spawn`` starts
    that once per process and it stays (one helper process, not a leak)."""
    tracker = resource_tracker._resource_tracker._pid
    return [p for p in psutil.Process().children(recursive=True) if p.pid != tracker]


def test_a_hung_step_kills_its_process_and_leaves_nothing():
    """ThreadVectorEnv only (each run costs a timeout and five interpreter starts); the asyncio
    vector env runs synchronous environments through the same slot code (see the test below)."""
    threads, hung = live_threads(), hung_thread_count()
    assert not children()
    envs = ThreadVectorEnv([SleepingEnv] * 2, step_timeout=TIMEOUT, isolation="process",
                      max_abandoned_threads=hung)  # any abandoned thread would fail the next call
    with closing(envs):
        assert envs.isolation == "process" and len(children()) == 2
        envs.reset(seed=0)
        first = {p.pid for p in children()}
        observations, _, _, truncations, infos = envs.step(["hang", "a"])
        assert infos["error"][0] == f"step timed out after {TIMEOUT} s" and truncations.tolist() == [True, False]
        assert infos["env_killed"].tolist() == [True, False] and "hung_threads" not in infos
        assert hung_thread_count() == hung and len(started_since(threads)) == 2
        assert len(children()) == 1  # the hung one was killed and reaped

        observations, _, _, truncations, _ = envs.step(["x", "b"])  # slot 0: a fresh process
        assert observations[0].startswith("episode start") and not truncations.any()
        assert len({p.pid for p in children()} - first) == 1
        assert envs.get_attr("turn") == (0, 2)  # attribute access crosses the pipe

        _, _, _, truncations, infos = envs.step(["explode", "die"])  # an exception, a crash
        assert infos["error"][0] == "step raised RuntimeError: boom"
        assert "in the environment's process" in infos["traceback"][0]
        assert infos["error"][1].startswith("step raised ProcessEnvDied") and "exit code 3" in infos["error"][1]
        observations, *_ = envs.step(["c", "d"])  # both rebuilt
        assert all(o.startswith("episode start") for o in observations)
        envs.set_attr("turn", 7)
        assert envs.get_attr("turn") == (7, 7)
    assert wait_until(lambda: not children()) and not started_since(threads)


def test_a_hung_construction_is_killed_too(vector_cls):
    threads, hung = live_threads(), hung_thread_count()
    slow = functools.partial(SleepingEnv, build_delay=3600)
    with pytest.raises(TimeoutError, match="no sub-environment was built"):
        vector_cls([slow, slow], step_timeout=0.5, isolation="process")
    assert not children() and hung_thread_count() == hung
    assert wait_until(lambda: not started_since(threads))


def test_make_vec_process_isolation_plays_a_registered_game():
    with closing(make_vec("games/TicTacToe-v0", 2, isolation="process", step_timeout=TIMEOUT)) as envs:
        observations, _ = envs.reset(seed=0)
        assert len(observations) == 2 and len(children()) == 2
        _, _, _, _, infos = envs.step(["1", "1"])
        assert "env_failed" not in infos
    assert wait_until(lambda: not children())


def test_bad_isolation_arguments(vector_cls):
    with pytest.raises(ValueError, match="isolation must be one of"):
        vector_cls([SleepingEnv], isolation="vm")
    with pytest.raises(ValueError, match="start_method must be one of"):
        vector_cls([SleepingEnv], isolation="process", start_method="teleport")
