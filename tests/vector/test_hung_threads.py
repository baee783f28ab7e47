"""Hung environments must not leak without bound: abandoned threads are counted, reported,
capped; construction is bounded by ``step_timeout`` like every other call."""

from __future__ import annotations

import math
from contextlib import closing

import pytest
from vector_test_envs import EchoEnv, Factory, HangingEnv, SlowFactory, slot_threads, wait_until

from agentgym.vector import HungEnvironmentError, HungEnvironmentWarning, make_vec
from agentgym.runtime.worker import hung_thread_count

TIMEOUT = 0.2


def test_hung_threads_are_reported_and_capped(vector_cls, release):
    baseline = hung_thread_count()
    envs = vector_cls(
        [Factory(HangingEnv, release=release) for _ in range(2)],
        step_timeout=TIMEOUT,
        max_abandoned_threads=baseline + 2,
    )
    with closing(envs):
        envs.reset(seed=0)
        with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
            _, _, _, truncations, infos = envs.step(["hang", "a"])
        assert truncations.tolist() == [True, False]
        assert infos["hung_threads"][0] == baseline + 1 and infos["_hung_threads"].tolist() == [True, False]
        assert envs.abandoned_calls == 1 and envs.hung_threads == baseline + 1
        envs.step(["x", "b"])  # slot 0 rebuilt
        _, _, _, _, infos = envs.step(["hang", "hang"])  # two more: three hung, past the cap of 2
        # each failure reports the count once the batch's hung calls were abandoned
        assert infos["hung_threads"].tolist() == [baseline + 3, baseline + 3]
        # every abandoned thread is a daemon: none keeps the process from exiting
        assert len(slot_threads()) >= 3 and all(t.daemon for t in slot_threads())
        with pytest.raises(HungEnvironmentError, match=r"3 environment steps are still hung in abandoned"
                           r" threads.*isolation=\"process\""):
            envs.step(["x", "y"])
        with pytest.raises(HungEnvironmentError):  # and it keeps refusing while they hang
            envs.reset(seed=1)
        release.set()  # the hung calls return: their threads end and stop counting
        assert wait_until(lambda: hung_thread_count() == baseline)
        observations, _ = envs.reset(seed=1)
        assert all(o.startswith("episode start") for o in observations)


def test_a_cap_of_zero_refuses_the_call_after_the_first_hang(vector_cls, release):
    with closing(vector_cls([Factory(HangingEnv, release=release)], step_timeout=TIMEOUT,
                            max_abandoned_threads=hung_thread_count())) as envs:
        envs.reset(seed=0)
        with pytest.warns(HungEnvironmentWarning):
            _, _, _, truncations, _ = envs.step(["hang"])  # the batch that hangs still returns
        assert truncations.tolist() == [True]
        with pytest.raises(HungEnvironmentError, match="1 environment steps are still hung"):
            envs.step(["a"])


def test_construction_is_bounded_by_step_timeout(vector_cls, release):
    slow = SlowFactory(EchoEnv, release)
    with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        envs = vector_cls([slow, Factory(EchoEnv)], step_timeout=TIMEOUT)
    with closing(envs):
        # the constructor returned although the first factory call is still blocked
        assert not release.is_set() and slow.calls == 1 and not slow.built
        observations, infos = envs.reset(seed=0)  # slot 0 tries a fresh factory call: fast now
        assert infos["construction_error"][0] == f"environment construction timed out after {TIMEOUT} s"
        assert infos["_construction_error"].tolist() == [True, False]
        assert all(o.startswith("episode start") for o in observations)
        assert slow.calls == 2 and len(slow.built) == 1
        release.set()  # the first, late build finishes in its abandoned thread and is closed
        assert wait_until(lambda: len(slow.built) == 2 and slow.built[1].was_closed)
        assert not slow.built[0].was_closed  # the one in use


def test_a_rebuild_that_outlasts_the_timeout_says_construction(vector_cls, release):
    slow = SlowFactory(EchoEnv, release, slow_builds=2)
    with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        envs = vector_cls([slow, Factory(EchoEnv)], step_timeout=TIMEOUT)
    with closing(envs):
        observations, infos = envs.reset(seed=0)  # the second abandoned build: warned once already
        assert envs.abandoned_calls == 2
        assert infos["error"][0] == f"environment construction timed out after {TIMEOUT} s"
        assert observations[0].startswith("Environment error: environment construction timed out")


def test_construction_timing_out_everywhere_raises(vector_cls, release):
    with pytest.raises(TimeoutError, match="no sub-environment was built within step_timeout=0.2 s"), \
            pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        vector_cls([SlowFactory(EchoEnv, release) for _ in range(2)], step_timeout=TIMEOUT)


def test_make_vec_has_a_finite_default_step_timeout():
    with closing(make_vec("games/GuessTheNumber-v0", 1)) as envs:
        assert envs.step_timeout == 60.0 and envs.max_abandoned_threads == 32


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, True, "1"])
def test_step_timeout_must_be_a_finite_positive_number(vector_cls, bad):
    with pytest.raises(ValueError, match="step_timeout must be a finite positive number"):
        vector_cls([EchoEnv], step_timeout=bad)


@pytest.mark.parametrize("bad", [-1, 1.5, True, None])
def test_max_abandoned_threads_must_be_a_count(vector_cls, bad):
    with pytest.raises(ValueError, match="max_abandoned_threads must be an integer >= 0"):
        vector_cls([EchoEnv], max_abandoned_threads=bad)
