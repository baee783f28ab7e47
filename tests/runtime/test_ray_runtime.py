"""The rollout engine on Ray (``env_runtime="ray"``): the same trajectories as in threads, and a
worker process killed mid-rollout fails the episodes it hosted with the cause while the others
finish; no actor outlives the run."""

from __future__ import annotations

import sys
import time

import psutil
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed; pip install 'agentgym[ray]'")

import runtime_test_envs  # noqa: E402 - after the skip

from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy  # noqa: E402
from agentgym.rollout import RolloutConfig, Task, rollout  # noqa: E402
from agentgym.runtime.runtimes import RayRuntime  # noqa: E402
from agentgym.wrappers import WrapperSpec  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    ray.init(num_cpus=2, object_store_memory=80 * 1024 * 1024, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(runtime_test_envs)  # Ray's workers cannot import tests/
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def _close_and_check_no_worker_is_left(runtime: RayRuntime) -> None:
    pids = [pid for pid in runtime.pool.worker_pids() if pid is not None]
    assert pids
    runtime.close()
    deadline = time.monotonic() + 30
    while any(psutil.pid_exists(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if psutil.pid_exists(pid)] and runtime.pool is None


def test_a_rollout_on_ray_matches_the_one_in_threads():
    tasks = [Task("games/GuessTheNumber-v0", seed) for seed in (1, 2)] + [Task("games/Wordle-v0", 3)]
    config = RolloutConfig(group_size=2, wrappers=[WrapperSpec("EpisodeStatistics")])
    here = rollout(OraclePolicy(), tasks, config, progress=False)
    runtime = RayRuntime(num_workers=2, num_cpus_per_worker=0.5)
    there = rollout(OraclePolicy(), tasks, RolloutConfig(group_size=2, wrappers=config.wrappers,
                                                         env_runtime=runtime), progress=False)

    def comparable(trajectories):
        return [(t.seed, t.success, t.messages, [(turn.action, turn.reward) for turn in t.turns],
                 t.metadata["reference_answer"]) for t in trajectories]

    assert comparable(there.trajectories) == comparable(here.trajectories) and there.stats["errors"] == 0
    assert runtime.pool is not None  # a Runtime object is the caller's to close
    _close_and_check_no_worker_is_left(runtime)


def test_a_worker_killed_mid_rollout_fails_its_episodes_and_the_others_finish():
    # seed 13 kills its process at its second step: that is the Ray worker hosting it
    tasks = [Task("testing/Countdown-v0", seed) for seed in (11, 12, 13, 14, 15, 16)]
    runtime = RayRuntime(num_workers=2, num_cpus_per_worker=0.5)
    try:
        result = rollout(ScriptedPolicy(["go"] * 5), tasks, RolloutConfig(env_runtime=runtime, step_timeout=30.0),
                         progress=False)
        failed = [t for t in result.trajectories if t.error]
        assert any(t.seed == 13 for t in failed) and len(failed) < len(tasks)
        for trajectory in failed:
            assert trajectory.error_kind == "environment" and "Ray worker actor died" in trajectory.error
        assert all(t.success for t in result.trajectories if not t.error)
        assert runtime.pool.stats()["restarts"] >= 1
    finally:
        _close_and_check_no_worker_is_left(runtime)
