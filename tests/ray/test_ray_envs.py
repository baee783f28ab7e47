"""RayEnv (one environment on a Ray worker, a synchronous Gymnasium env): parity with the local
environment, a dead or hung worker, no leftovers."""

from __future__ import annotations

import random

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed; pip install 'agentgym[ray]'")

import agentgym  # noqa: E402
from agentgym.info import ErrorKind  # noqa: E402
from agentgym.ray import RayEnv, RayEnvError, RayEnvPool  # noqa: E402
from agentgym.trajectory import json_safe  # noqa: E402
from ray_test_envs import EnvBroke, make_scripted_env  # noqa: E402
from tests.resource_probe import process_ended  # noqa: E402

ACTIONS = ["50", "1", "99", "crane", "slate", "1 1", "2 3", "3 1", "up", "left", "A C", "\\boxed{12}", "?", ""]


@pytest.mark.parametrize("env_id", ["games/Wordle-v0", "games/Minesweeper-v0", "games/GuessTheNumber-v0"])
def test_same_episodes_as_the_local_env(env_id: str) -> None:
    local, remote = agentgym.make(env_id), RayEnv(env_id)
    try:
        assert remote.observation_space == local.observation_space
        for seed in (3, 4):
            rng = random.Random(seed)
            observation, info = local.reset(seed=seed)
            assert remote.reset(seed=seed) == (observation, json_safe(info))
            for _ in range(25):
                action = rng.choice(ACTIONS)
                expected = local.step(action)
                got = remote.step(action)
                assert got[:4] == expected[:4]
                assert got[4] == json_safe(expected[4])
                if expected[2] or expected[3]:
                    break
    finally:
        local.close()
        remote.close()


def test_a_worker_that_dies_mid_step_fails_the_step_with_its_cause_and_the_next_reset_works() -> None:
    env = RayEnv(env_fn=make_scripted_env, timeout=30)
    try:
        env.reset(seed=0)
        assert env.step("go")[0] == "turn 1"
        first_pid = env.ref.worker_pid
        observation, reward, terminated, truncated, info = env.step("crash")
        assert observation.startswith("Environment actor error:") and "died" in observation
        assert (reward, terminated, truncated) == (0.0, False, True)
        assert info["error_kind"] == ErrorKind.ENV_ERROR and info["env_failed"] and info["success"] is False
        assert info["ray_error"] in ("ActorDiedError", "RayActorError") and "died during step" in info["error"]
        # no episode until a reset: the next step is an error too, not a silent fresh episode
        assert env.step("go")[3] is True and env.step("go")[4]["env_failed"]
        assert env.reset(seed=0)[0] == "ready"
        assert env.step("go")[0] == "turn 1"
        assert env.restarts == 1 and env.ref.worker_pid != first_pid
        assert process_ended(first_pid)
    finally:
        env.close()


def test_a_hung_step_times_out_kills_its_own_worker_and_never_hangs_the_caller() -> None:
    env = RayEnv(env_fn=make_scripted_env, timeout=1.0)
    try:
        env.reset(seed=0)
        hung_pid = env.ref.worker_pid
        observation, _, _, truncated, info = env.step("hang")
        assert truncated and info["error_kind"] == ErrorKind.TIMEOUT and "timed out after 1.0 s" in info["error"]
        assert "worker was killed" in info["error"]
        assert process_ended(hung_pid)
        assert env.reset(seed=0)[0] == "ready"
    finally:
        env.close()


def test_on_a_shared_pool_a_hung_env_is_abandoned_not_its_worker() -> None:
    with RayEnvPool(1, num_cpus_per_worker=0.5) as pool:
        hanging, neighbour = RayEnv(env_fn=make_scripted_env, pool=pool, timeout=1.0), \
            RayEnv(env_fn=make_scripted_env, pool=pool, timeout=5.0)
        hanging.reset(seed=0)
        neighbour.reset(seed=0)
        info = hanging.step("hang")[4]
        assert info["error_kind"] == ErrorKind.TIMEOUT and "abandoned" in info["error"]
        assert neighbour.step("go")[0] == "turn 1"  # same worker, still there
        assert pool.stats()["hung_threads"] == 1 and pool.stats()["restarts"] == 0
        assert hanging.reset(seed=0)[0] == "ready"
        hanging.close()
        neighbour.close()
        assert not pool.closed and pool.stats()["envs"] == 0  # a shared pool outlives its envs


def test_an_exception_raised_by_the_environment_is_raised_as_its_own_type() -> None:
    env = RayEnv(env_fn=make_scripted_env)
    try:
        env.reset(seed=0)
        with pytest.raises(EnvBroke, match="broke on purpose"):
            env.step("raise")
    finally:
        env.close()


def test_close_leaves_no_worker_process_behind() -> None:
    envs = [RayEnv("games/GuessTheNumber-v0") for _ in range(2)]
    pids = [env.ref.worker_pid for env in envs]
    for env in envs:
        env.close()
        env.close()  # idempotent
    assert all(process_ended(pid) for pid in pids)
    with pytest.raises(RuntimeError, match="closed"):
        envs[0].reset()


def test_a_bad_id_or_argument_raises_at_construction_with_the_cause() -> None:
    with pytest.raises(RayEnvError, match="no environment registered"):
        RayEnv("games/NoSuchGame-v0")
    with pytest.raises(RayEnvError, match="no constructor argument 'bogus'"):
        RayEnv("games/Wordle-v0", bogus=1)
