"""RayEnvPool on a local Ray cluster (tests/ray/conftest.py): environments hosted many per
worker, each in its own thread; hung and raising environments; a worker SIGKILLed mid-episode;
no worker process left after shutdown or garbage collection."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import random
import signal
import threading

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed; pip install 'agentgym[ray]'")

import agentgym  # noqa: E402
from agentgym.ray import EnvAbandonedError, RayEnvPool  # noqa: E402
from agentgym.trajectory import json_safe  # noqa: E402
from ray_test_envs import EnvBroke, ScriptedEnv, make_broken_env, make_scripted_env, wait_until  # noqa: E402
from tests.resource_probe import process_ended  # noqa: E402

WORDLE = functools.partial(agentgym.make, "games/Wordle-v0")
ACTIONS = ["crane", "slate", "?", "", "audio", "zzzzz", "pious"]


@pytest.fixture
def pool():
    pool = RayEnvPool(2, num_cpus_per_worker=0.5)
    yield pool
    pool.shutdown()


def test_open_reset_step_apply_close_match_the_local_env(pool: RayEnvPool) -> None:
    refs = pool.open_many([WORDLE] * 3) + [pool.open(WORDLE)]
    # placed on the least-loaded worker: two each
    assert sorted(r.worker_pid for r in refs) == sorted(pool.worker_pids() * 2)
    assert refs[0].observation_space == agentgym.make("games/Wordle-v0").observation_space
    local = agentgym.make("games/Wordle-v0")
    rng = random.Random(0)
    observation, info = local.reset(seed=5)
    assert ray.get(refs[0].reset(seed=5)) == (observation, json_safe(info))
    for _ in range(8):
        action = rng.choice(ACTIONS)
        expected = local.step(action)
        got = ray.get(refs[0].step(action))
        assert got[:4] == expected[:4] and type(got[1]) is float and got[4] == json_safe(expected[4])
        if expected[2] or expected[3]:
            break

    async def drive() -> tuple:  # ObjectRefs are awaitable: how the rollout engine drives them
        await asyncio.wait_for(refs[1].reset(seed=1), timeout=30)
        step = await asyncio.wait_for(refs[1].step("crane"), timeout=30)
        name = await refs[1].apply(lambda env: type(env.unwrapped).__name__)  # in the env's thread
        return step, name

    step, name = asyncio.run(drive())
    assert len(step) == 5 and name == type(local.unwrapped).__name__
    stats = pool.stats()
    assert stats["envs"] == 4 and [w["hosted"] for w in stats["per_worker"]] == [2, 2]
    assert ray.get([ref.close() for ref in refs]) == [None] * 4
    assert ray.get(refs[0].close()) is None  # idempotent
    with pytest.raises(RuntimeError, match="closed or abandoned"):
        refs[0].step("crane")
    assert [w["hosted"] for w in pool.stats()["per_worker"]] == [0, 0]


def test_calls_in_flight_on_one_env_run_in_the_order_they_were_made(pool: RayEnvPool) -> None:
    ref = pool.open(make_scripted_env)
    pending = [ref.reset()] + [ref.step("go") for _ in range(30)] + [ref.apply(lambda env: env.turn)]
    closing = ref.close()
    results = ray.get(pending, timeout=60)
    assert [r[0] for r in results[1:-1]] == [f"turn {n}" for n in range(1, 31)] and results[-1] == 30
    assert ray.get(closing) is None and pool.stats()["per_worker"][0]["hosted"] + \
        pool.stats()["per_worker"][1]["hosted"] == 0


def test_a_hung_env_does_not_block_its_sibling_on_the_same_worker(tmp_path) -> None:
    marker = tmp_path / "hanging"
    with RayEnvPool(1, num_cpus_per_worker=0.5) as pool:
        hung = pool.open(functools.partial(ScriptedEnv, hang_marker=str(marker)))
        sibling = pool.open(make_scripted_env)
        assert hung.worker_pid == sibling.worker_pid
        ray.get([hung.reset(), sibling.reset()])
        hung_step = hung.step("hang")
        assert wait_until(marker.exists)  # the hang is under way
        behind = hung.step("go")  # queued behind the hung call in the same thread
        # the sibling steps while its neighbour hangs
        assert [ray.get(sibling.step("go"), timeout=20)[0] for _ in range(3)] == ["turn 1", "turn 2", "turn 3"]
        assert ray.wait([hung_step], timeout=0)[0] == []

        async def time_out() -> None:
            await asyncio.wait_for(hung_step, timeout=0.2)

        with pytest.raises(asyncio.TimeoutError):
            asyncio.run(time_out())
        hung.abandon()
        hung.abandon()  # idempotent
        with pytest.raises(EnvAbandonedError, match="abandoned while this call waited"):
            ray.get(behind, timeout=20)
        stats = pool.stats()
        assert stats["hung_threads"] == 1 and stats["per_worker"][0]["hosted"] == 1 and stats["envs"] == 1
        assert ray.get(sibling.step("go"), timeout=20)[0] == "turn 4"


def test_abandon_closes_an_idle_env_at_once_and_a_hung_one_when_its_call_returns(tmp_path) -> None:
    marker = tmp_path / "hanging"
    with RayEnvPool(1, num_cpus_per_worker=0.5) as pool:
        idle, probe = pool.open(make_scripted_env), pool.open(make_scripted_env)
        hung = pool.open(functools.partial(ScriptedEnv, hang_s=4.0, hang_marker=str(marker)))
        ray.get([ref.reset() for ref in (idle, probe, hung)])

        def closed() -> int:  # environments closed so far in the worker's process
            return ray.get(probe.apply(lambda env: env.counts()[1]), timeout=20)

        idle.abandon()
        assert wait_until(lambda: closed() == 1)
        assert pool.stats()["hung_threads"] == 0  # nothing was running: no thread left behind
        hung.step("hang")
        assert wait_until(marker.exists)
        hung.abandon()  # sent without waiting: it reaches the worker at once
        assert wait_until(lambda: pool.stats()["hung_threads"] == 1) and closed() == 1
        assert wait_until(lambda: closed() == 2)  # its close ran once the hung call returned
        assert wait_until(lambda: pool.stats()["hung_threads"] == 0)  # and its thread ended
        assert pool.stats()["per_worker"][0]["hosted"] == 1


def test_a_worker_sigkilled_mid_episode_is_replaced_and_the_other_worker_is_untouched(pool: RayEnvPool) -> None:
    refs = pool.open_many([make_scripted_env] * 4)
    ray.get([ref.reset() for ref in refs])
    ray.get([ref.step("go") for ref in refs])
    victim_pid = refs[0].worker_pid
    doomed = [r for r in refs if r.worker_pid == victim_pid]
    spared = [r for r in refs if r.worker_pid != victim_pid]
    assert len(doomed) == len(spared) == 2
    os.kill(victim_pid, signal.SIGKILL)
    assert process_ended(victim_pid)
    for ref in doomed:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(ref.step("go"), timeout=30)
    assert wait_until(lambda: pool.stats()["restarts"] == 1)
    assert all(ref.lost for ref in doomed) and not any(ref.lost for ref in spared)
    with pytest.raises(ray.exceptions.RayActorError):  # still failing, with the same clear error
        ray.get(doomed[0].reset(), timeout=30)
    # the other worker's environments carry on with their episodes
    assert [ray.get(ref.step("go"), timeout=30)[0] for ref in spared] == ["turn 2", "turn 2"]
    new_pids = pool.worker_pids()
    assert victim_pid not in new_pids and len(set(new_pids)) == 2
    fresh = pool.open(make_scripted_env)  # lands on the replacement, the least loaded
    assert fresh.worker_pid in new_pids and fresh.worker_pid != spared[0].worker_pid
    assert ray.get(fresh.reset(), timeout=30)[0] == "ready"
    assert ray.get([ref.close() for ref in doomed]) == [None, None]  # lost: closing is immediate
    assert pool.stats()["per_worker"][[w["pid"] for w in pool.stats()["per_worker"]].index(fresh.worker_pid)][
        "restarts"] == 1


def test_the_environment_s_own_exception_type_reaches_the_caller(pool: RayEnvPool) -> None:
    ref = pool.open(make_scripted_env)
    ray.get(ref.reset())
    with pytest.raises(EnvBroke, match="broke on purpose") as raised:
        ray.get(ref.step("raise"))
    assert isinstance(raised.value, ray.exceptions.RayTaskError)

    async def awaited() -> None:
        await ref.apply(lambda env: {}["missing"])

    with pytest.raises(KeyError):
        asyncio.run(awaited())
    with pytest.raises(EnvBroke, match="factory broke"):
        pool.open(make_broken_env)
    assert pool.stats()["envs"] == 1  # the failed open left nothing behind
    ray.get(ref.reset())
    assert ray.get(ref.step("go"))[0] == "turn 1"  # the environment is still usable


def test_a_build_that_outlasts_its_timeout_is_abandoned(pool: RayEnvPool) -> None:
    slow = functools.partial(_sleep_then_build, 20.0)
    with pytest.raises(TimeoutError, match="more than 0.5 s"):
        pool.open(slow, timeout=0.5)
    assert wait_until(lambda: pool.stats()["hung_threads"] == 1)
    assert pool.stats()["envs"] == 0


def _sleep_then_build(seconds: float) -> ScriptedEnv:
    import time

    time.sleep(seconds)
    return ScriptedEnv()


def monitor_threads() -> int:
    return sum(t.name == "agentgym-ray-pool-monitor" for t in threading.enumerate())


def test_shutdown_leaves_no_worker_process_and_is_idempotent() -> None:
    before = monitor_threads()
    pool = RayEnvPool(2, num_cpus_per_worker=0.5)
    refs = pool.open_many([make_scripted_env] * 3)
    ray.get([ref.reset() for ref in refs])
    refs[0].step("hang")  # a hung environment does not hold the shutdown up
    pids = pool.worker_pids()
    assert monitor_threads() == before + 1
    pool.shutdown()
    pool.shutdown()
    assert all(process_ended(pid) for pid in pids)
    assert monitor_threads() == before  # the pool's monitor thread ended
    assert pool.closed and all(ref.lost for ref in refs)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.open(make_scripted_env)


def test_a_pool_dropped_without_shutdown_takes_its_workers_with_it() -> None:
    pool = RayEnvPool(1, num_cpus_per_worker=0.5)
    pids = pool.worker_pids()
    del pool
    gc.collect()
    assert all(process_ended(pid) for pid in pids)


def test_bad_arguments_are_refused_with_a_clear_error(pool: RayEnvPool) -> None:
    with pytest.raises(ValueError, match="num_workers must be a positive integer"):
        RayEnvPool(0)
    with pytest.raises(ValueError, match="num_cpus_per_worker"):
        RayEnvPool(1, num_cpus_per_worker=-1)
    with pytest.raises(ValueError, match="outlive the pool"):
        RayEnvPool(1, actor_options={"lifetime": "detached"})
    with pytest.raises(TypeError, match="zero-argument callable"):
        pool.open("games/Wordle-v0")  # type: ignore[arg-type]
    ref = pool.open(make_scripted_env)
    with pytest.raises(TypeError, match="callable"):
        ref.apply(42)  # type: ignore[arg-type]
