"""RayEnv on a local Ray cluster started once for this module: parity, dead actors, no leftovers."""

from __future__ import annotations

import os
import sys
import random
import time
from typing import Any

import pytest

try:
    import ray
except ImportError as exc:  # only where the ray extra is not installed
    pytest.skip(f"Ray is not installed ({exc}); pip install 'agentgym[ray]'", allow_module_level=True)

import psutil

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.info import ErrorKind
from agentgym.trajectory import json_safe

from agentgym.ray import RayEnv, RayEnvError, make_ray_vec  # noqa: E402 - after the skip

ACTIONS = ["50", "1", "99", "crane", "slate", "1 1", "2 3", "3 1", "up", "left", "A C", "\\boxed{12}", "?", ""]


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    ray.init(num_cpus=2, object_store_memory=80 * 1024 * 1024, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)
    # the crashing test environment below is defined in this module, which Ray's workers cannot
    # import: send it by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def actor_pid(env: RayEnv) -> int:
    return ray.get(env.actor.pid.remote(), timeout=30)


def wait_gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


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


def make_crashing_env():
    class CrashingEnv(LLMEnv):
        def new_episode(self, options: dict[str, Any]) -> str:
            self.turn = 0
            return "ready"

        def play(self, action: str) -> Feedback:
            if action == "crash":
                os._exit(3)  # the actor's process dies mid-step
            if action == "hang":
                time.sleep(30)
            self.turn += 1
            return Feedback(f"turn {self.turn}", {"outcome": 0.0})

    return CrashingEnv()


def test_a_process_that_dies_mid_step_fails_the_step_with_its_cause_and_the_next_reset_works() -> None:
    env = RayEnv(env_fn=make_crashing_env, timeout=30)
    try:
        env.reset(seed=0)
        assert env.step("go")[0] == "turn 1"
        first_pid = actor_pid(env)
        observation, reward, terminated, truncated, info = env.step("crash")
        assert observation.startswith("Environment actor error:") and "died" in observation
        assert (reward, terminated, truncated) == (0.0, False, True)
        assert info["error_kind"] == ErrorKind.ENV_ERROR and info["env_failed"] and info["success"] is False
        assert info["ray_error"] in ("ActorDiedError", "RayActorError") and "died during step" in info["error"]
        # no episode until a reset: the next step is an error too, not a silent fresh episode
        assert env.step("go")[3] is True and env.step("go")[4]["env_failed"]
        assert env.reset(seed=0)[0] == "ready"
        assert env.step("go")[0] == "turn 1"
        assert env.restarts == 1 and actor_pid(env) != first_pid
        assert wait_gone(first_pid)
    finally:
        env.close()


def test_an_actor_killed_from_outside_mid_episode_is_replaced() -> None:
    env = RayEnv("games/Wordle-v0")
    try:
        env.reset(seed=1)
        env.step("crane")
        pid = actor_pid(env)
        ray.kill(env.actor)
        assert wait_gone(pid)  # ray.kill is asynchronous: the next step must meet a dead actor
        observation, reward, terminated, truncated, info = env.step("slate")
        assert truncated and not terminated and reward == 0.0
        assert "died during step" in info["error"] and observation.startswith("Environment actor error:")
        observation, info = env.reset(seed=1)
        assert info["task_id"] == agentgym.make("games/Wordle-v0").reset(seed=1)[1]["task_id"]
        assert not env.step("crane")[3]
    finally:
        env.close()


def test_a_hung_step_times_out_kills_the_actor_and_never_hangs_the_caller() -> None:
    env = RayEnv(env_fn=make_crashing_env, timeout=1.0)
    try:
        env.reset(seed=0)
        hung_pid = actor_pid(env)
        observation, _, _, truncated, info = env.step("hang")
        assert truncated and info["error_kind"] == ErrorKind.TIMEOUT and "timed out after 1.0 s" in info["error"]
        assert wait_gone(hung_pid)
        assert env.reset(seed=0)[0] == "ready"
    finally:
        env.close()


def test_close_leaves_no_actor_process_behind() -> None:
    envs = [RayEnv("games/GuessTheNumber-v0") for _ in range(3)]
    pids = [actor_pid(env) for env in envs]
    handles = [env.actor for env in envs]
    for env in envs:
        env.close()
        env.close()  # idempotent
    assert all(wait_gone(pid) for pid in pids)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(handles[0].pid.remote(), timeout=30)


def test_make_ray_vec_steps_every_slot_on_its_own_actor_and_close_ends_them() -> None:
    envs = make_ray_vec("games/GuessTheNumber-v0", 3, num_cpus=0.1)
    try:
        observations, infos = envs.reset(seed=0)
        assert len(observations) == 3 and len(set(infos["task_id"])) == 3
        pids = [actor_pid(slot.env) for slot in envs._slots]
        assert len(set(pids)) == 3
        observations, rewards, terminations, truncations, infos = envs.step(["50"] * 3)
        assert len(observations) == 3 and not truncations.any()
    finally:
        envs.close()
    assert all(wait_gone(pid) for pid in pids)


def test_a_bad_id_or_argument_raises_at_construction_with_the_cause() -> None:
    with pytest.raises(RayEnvError, match="no environment registered"):
        RayEnv("games/NoSuchGame-v0")
    with pytest.raises(RayEnvError, match="no constructor argument 'bogus'"):
        RayEnv("games/Wordle-v0", bogus=1)
