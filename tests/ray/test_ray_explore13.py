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

