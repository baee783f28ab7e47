"""RayVectorEnv (SlotVectorEnv over RayHandles): Gymnasium vector semantics as ThreadVectorEnv's,
one Ray call per worker per step (coalesced), and an environment's failure (raised, hung, its
worker killed or frozen) confined to its slot."""

from __future__ import annotations

import functools
import os
import signal

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed; pip install 'agentgym[ray]'")

from agentgym.info import ErrorKind  # noqa: E402
from agentgym.ray import RayEnvPool, RayVectorEnv, make_ray_vec  # noqa: E402
from agentgym.trajectory import json_safe  # noqa: E402
from agentgym.vector import make_vec  # noqa: E402
from ray_test_envs import ScriptedEnv, make_scripted_env  # noqa: E402
from tests.resource_probe import process_ended  # noqa: E402


def scripted_env_hanging_20s() -> ScriptedEnv:
    return ScriptedEnv(hang_s=20.0)


@pytest.mark.parametrize("autoreset_mode", ["NextStep", "SameStep"])
def test_same_results_as_thread_vector_env_with_one_call_per_worker_per_step(autoreset_mode: str) -> None:
    kwargs = {"difficulty": "easy", "autoreset_mode": autoreset_mode}
    local = make_vec("games/GuessTheNumber-v0", 4, **kwargs)
    remote = make_ray_vec("games/GuessTheNumber-v0", 4, num_workers=2, num_cpus_per_worker=0.5, **kwargs)
    try:
        assert remote.single_observation_space == local.single_observation_space
        assert remote.observation_space == local.observation_space and remote.spec.id == "games/GuessTheNumber-v0"
        observations, infos = remote.reset(seed=7)
        expected_observations, expected_infos = local.reset(seed=7)
        assert observations == expected_observations and list(infos["task_id"]) == list(expected_infos["task_id"])
        batches_before = sum(w["batches"] for w in remote.pool.stats()["per_worker"])
        rng = np.random.default_rng(0)
        for _ in range(12):
            actions = tuple(str(n) for n in rng.integers(1, 20, size=4))
            got, expected = remote.step(actions), local.step(actions)
            assert got[0] == expected[0]
            for a, b in zip(got[1:4], expected[1:4]):
                np.testing.assert_array_equal(a, b)
            assert json_safe(got[4].get("final_obs")) == json_safe(expected[4].get("final_obs"))
        per_worker = remote.pool.stats()["per_worker"]
        assert sum(w["batches"] for w in per_worker) - batches_before >= 12 * 2  # SAME_STEP: a reset batch too
        assert all(w["hosted"] == 2 for w in per_worker)
        if autoreset_mode == "NextStep":  # exactly one call per worker per step
            assert sum(w["batches"] for w in per_worker) - batches_before == 12 * 2
    finally:
        local.close()
        remote.close()


def test_a_worker_killed_mid_episode_fails_only_its_slots_which_come_back_on_a_replacement() -> None:
    envs = RayVectorEnv([make_scripted_env] * 4, num_workers=2, num_cpus_per_worker=0.5, step_timeout=30)
    try:
        envs.reset(seed=0)
        pids = envs.worker_pids
        victims = [i for i, pid in enumerate(pids) if pid == pids[0]]
        assert len(victims) == 2
        # one victim kills the worker while its neighbour's call is still running there
        actions = ["crash" if i == victims[0] else "hang" if i == victims[1] else "go" for i in range(4)]
        observations, rewards, terminations, truncations, infos = envs.step(actions)
        for i in range(4):
            if i in victims:  # both environments on the dead worker
                assert truncations[i] and not terminations[i] and rewards[i] == 0.0
                assert observations[i].startswith("Environment error:") and "died" in infos["error"][i]
                assert infos["ray_error"][i] in ("ActorDiedError", "RayActorError")
                assert infos["error_kind"][i] == ErrorKind.ENV_ERROR and infos["env_failed"][i]
            else:
                assert observations[i] == "turn 1" and not truncations[i] and not infos["_env_failed"][i]
        assert envs.pool.stats()["restarts"] == 1
        observations, _, _, truncations, infos = envs.step(["go"] * 4)  # NEXT_STEP: the failed ones reset
        assert [observations[i] for i in victims] == ["ready", "ready"] and not truncations.any()
        assert all(envs.worker_pids[i] != pids[0] for i in victims) and pids[0] not in envs.pool.worker_pids()
        assert envs.step(["go"] * 4)[0] == tuple("turn 1" if i in victims else "turn 3" for i in range(4))
        assert process_ended(pids[0])
    finally:
        envs.close()


def test_a_frozen_worker_is_killed_and_replaced_and_its_slots_come_back() -> None:
    envs = RayVectorEnv([make_scripted_env] * 2, num_workers=2, num_cpus_per_worker=0.5, step_timeout=1.0,
                        worker_grace=1.0)
    try:
        envs.reset(seed=0)
        frozen_pid = envs.worker_pids[0]
        os.kill(frozen_pid, signal.SIGSTOP)  # alive but answering nothing, like a lost node
        observations, _, _, truncations, infos = envs.step(["go", "go"])
        assert truncations.tolist() == [True, False] and observations[1] == "turn 1"
        assert infos["error_kind"][0] == ErrorKind.TIMEOUT and "killed and replaced" in infos["error"][0]
        assert infos["env_killed"][0]
        assert process_ended(frozen_pid)
        assert envs.step(["go", "go"])[0] == ("ready", "turn 2")  # reopened on the replacement
        assert envs.worker_pids[0] not in (frozen_pid, None) and envs.pool.stats()["restarts"] == 1
    finally:
        envs.close()


def test_a_hung_env_times_out_alone_and_is_rebuilt_in_a_fresh_thread() -> None:
    envs = RayVectorEnv([scripted_env_hanging_20s] * 2, num_workers=1, num_cpus_per_worker=0.5, step_timeout=1.0)
    try:
        envs.reset(seed=0)
        observations, _, _, truncations, infos = envs.step(["hang", "go"])
        assert truncations.tolist() == [True, False] and observations[1] == "turn 1"
        assert infos["error_kind"][0] == ErrorKind.TIMEOUT and "timed out after 1.0 s" in infos["error"][0]
        assert infos["hung_threads"][0] == 1
        observations, _, _, truncations, _ = envs.step(["go", "go"])
        assert observations == ("ready", "turn 2") and not truncations.any()
        assert envs.step(["go", "go"])[0] == ("turn 1", "turn 3")
        assert envs.pool.stats()["hung_threads"] == 1 and envs.pool.stats()["restarts"] == 0
    finally:
        envs.close()


def test_an_env_that_raises_gets_an_error_result_with_its_traceback_and_is_rebuilt(tmp_path) -> None:
    events = tmp_path / "events"
    with RayEnvPool(1, num_cpus_per_worker=0.5) as pool:
        envs = RayVectorEnv([functools.partial(ScriptedEnv, events=str(events))] * 2, pool=pool,
                            autoreset_mode="SameStep")
        envs.reset(seed=0)
        observations, _, _, truncations, infos = envs.step(["raise", "go"])
        # SAME_STEP: the failed episode ends (truncated) and its slot is reset in the same step
        assert truncations.tolist() == [True, False] and observations == ("ready", "turn 1")
        final = infos["final_info"]  # a nested vector info
        assert final["env_failed"][0] and "EnvBroke" in final["error"][0]
        assert "broke on purpose" in final["traceback"][0]
        assert infos["final_obs"][0].startswith("Environment error: step raised EnvBroke")
        # the broken environment was closed and a fresh one built
        assert sorted(events.read_text().split()) == ["built"] * 3 + ["closed"]
        envs.close()
        assert sorted(events.read_text().split()) == ["built"] * 3 + ["closed"] * 3
        assert not pool.closed and pool.stats()["envs"] == 0 and pool.stats()["per_worker"][0]["hosted"] == 0


def test_call_get_attr_and_set_attr_run_in_the_environments_on_their_workers() -> None:
    with RayEnvPool(2, num_cpus_per_worker=0.5) as pool:
        envs = RayVectorEnv([make_scripted_env] * 3, pool=pool)
        try:
            envs.reset(seed=0)
            envs.step(["go"] * 3)
            assert envs.get_attr("turn") == (1, 1, 1)
            envs.set_attr("hang_s", [1.0, 2.0, 3.0])
            assert envs.get_attr("hang_s") == (1.0, 2.0, 3.0)
            assert envs.call("pid") == tuple(envs.worker_pids)  # run where each environment lives
            assert sorted(set(envs.worker_pids)) == sorted(pool.worker_pids())
            assert envs.metadata["autoreset_mode"].value == "NextStep"
            with pytest.raises(AttributeError):
                envs.call("no_such_method")
        finally:
            envs.close()


def test_close_shuts_its_own_pool_down_and_bad_input_is_refused() -> None:
    envs = make_ray_vec("games/Wordle-v0", 2, num_workers=2, num_cpus_per_worker=0.5)
    pids = envs.pool.worker_pids()
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="expected 2 actions"):
        envs.step(["crane"] * 3)
    envs.close()
    assert envs.pool.closed and all(process_ended(pid) for pid in pids)
    with pytest.raises(RuntimeError, match="closed"):
        envs.step(["crane"] * 2)
    with pytest.raises(Exception, match="NoSuchGame"):
        make_ray_vec("games/NoSuchGame-v0", 2)
    with pytest.raises(ValueError, match="num_envs"):
        make_ray_vec("games/Wordle-v0", 0)
    with pytest.raises(ValueError, match="env_fns"):
        RayVectorEnv([])
    with pytest.raises(ValueError, match="worker_grace"):
        RayVectorEnv([make_scripted_env], worker_grace=0)
