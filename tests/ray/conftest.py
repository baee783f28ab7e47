"""A local Ray cluster for each test module of tests/ray (2 CPUs, a small object store).

Module-scoped, not session-scoped: the Ray processes (raylet, GCS, workers) must be gone before
other directories' tests count this process's children.
"""

from __future__ import annotations

import sys

import pytest

try:
    import ray
except ImportError:  # only where the ray extra is not installed; each test module skips itself
    ray = None


@pytest.fixture(scope="module", autouse=True)
def ray_cluster(request: pytest.FixtureRequest):
    if ray is None:
        pytest.skip("Ray is not installed; pip install 'agentgym[ray]'")
    import ray_test_envs

    ray.init(num_cpus=2, object_store_memory=80 * 1024 * 1024, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)
    # test environments are defined in modules Ray's workers cannot import: send them by value
    ray.cloudpickle.register_pickle_by_value(ray_test_envs)
    ray.cloudpickle.register_pickle_by_value(sys.modules[request.module.__name__])
    yield
    ray.shutdown()
