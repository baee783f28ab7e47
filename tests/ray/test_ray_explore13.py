"""The Ray back-end as a demanding user meets it: bad timeouts, arguments Ray cannot send."""

from __future__ import annotations

import math
import threading

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed; pip install 'agentgym[ray]'")

from agentgym.ray import RayEnv, RayEnvPool, RayVectorEnv  # noqa: E402
from ray_test_envs import make_scripted_env  # noqa: E402


@pytest.fixture(scope="module")
def pool():
    pool = RayEnvPool(1, num_cpus_per_worker=0.5)
    yield pool
    pool.shutdown()


@pytest.mark.parametrize("bad", [math.inf, math.nan, True, -1, 0])
def test_a_timeout_that_is_not_a_finite_positive_number_is_refused_before_anything_starts(pool, bad) -> None:
    # RayEnv(timeout=inf) started a worker and failed with 'cannot convert float infinity to
    # integer'; timeout=True ran with 1 s; start_timeout=-1 was taken, nan blamed the CPUs;
    # open(timeout=-1) sent the build and abandoned it ('took more than -1 s')
    with pytest.raises(ValueError, match="timeout must be a finite positive number"):
        RayEnv(env_fn=make_scripted_env, pool=pool, timeout=bad)
    with pytest.raises(ValueError, match="start_timeout must be a finite positive number"):
        RayEnvPool(1, num_cpus_per_worker=0.5, start_timeout=bad)
    with pytest.raises(ValueError, match="timeout must be a finite positive number"):
        pool.open(make_scripted_env, timeout=bad)
    stats = pool.stats()
    assert stats["envs"] == 0 and stats["per_worker"][0]["hosted"] == 0


def test_an_action_or_option_ray_cannot_send_is_refused_in_one_line_and_the_env_goes_on(pool) -> None:
    lock = threading.Lock()
    env = RayEnv(env_fn=make_scripted_env, pool=pool, timeout=30)
    try:
        env.reset(seed=0)
        for call in (lambda: env.step(lock), lambda: env.reset(options={"x": lock})):
            with pytest.raises(TypeError) as raised:
                call()
            message = str(raised.value)
            assert "lock" in message and "pickle" in message, message
            assert "=====" not in message and "\n" not in message, message
        assert env.step("go")[0] == "turn 1"  # the call that could not be sent left no gap
    finally:
        env.close()

    envs = RayVectorEnv([make_scripted_env] * 2, pool=pool, step_timeout=30)
    try:
        envs.reset(seed=0)
        observations = envs.step([lock, "go"])[0]
        assert "pickle" in observations[0] and "lock" in observations[0], observations[0]
        assert "=====" not in observations[0] and "\x1b" not in observations[0], observations[0]
        assert observations[1] == "turn 1"
    finally:
        envs.close()


@pytest.mark.parametrize("bad", [{"step_timeout": -1}, {"autoreset_mode": "bogus"}, {"env_fns": [make_scripted_env, 3]}])
def test_a_bad_vector_argument_is_refused_before_its_own_pool_starts_workers(bad) -> None:
    # checked only once the pool's workers had started: on a cluster without the CPUs free the
    # typo waited start_timeout (120 s) and was reported as 'did not start ... CPUs free?'
    from agentgym.ray import RayEnvError

    kwargs = {"env_fns": [make_scripted_env], "num_workers": 1, "num_cpus_per_worker": 0.5,
              "actor_options": {"resources": {"agentgym-test-nowhere": 1}}, **bad}  # a worker could never start
    with pytest.raises((ValueError, TypeError)) as raised:
        RayVectorEnv(**kwargs)
    assert not isinstance(raised.value, RayEnvError), raised.value


def test_make_ray_vec_refuses_a_constructor_argument_the_env_does_not_take_before_any_worker_starts() -> None:
    # the typo reached the workers: on a cluster without the CPUs free it waited start_timeout
    # (120 s) and was reported as 'did not start ... CPUs free?'
    from agentgym.core import ConfigError
    from agentgym.ray import make_ray_vec

    nowhere = {"resources": {"agentgym-test-nowhere": 1}}  # a worker could never start
    with pytest.raises(ConfigError, match="max_turn"):
        make_ray_vec("games/Wordle-v0", 2, num_workers=1, num_cpus_per_worker=0.5, actor_options=nowhere,
                     max_turn=6)
    with pytest.raises(KeyError, match="Wordle"):  # agentgym's message, with the nearest ids
        make_ray_vec("games/Wordl-v0", 2, num_workers=1, actor_options=nowhere)
