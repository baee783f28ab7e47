"""RayEnv as a demanding user meets it: closed on a shared pool, a factory Ray cannot send."""

from __future__ import annotations

import threading

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed; pip install 'agentgym[ray]'")

from agentgym.ray import RayEnv, RayEnvError, RayEnvPool  # noqa: E402
from ray_test_envs import make_scripted_env  # noqa: E402


@pytest.fixture(scope="module")
def pool():
    pool = RayEnvPool(1, num_cpus_per_worker=0.5)
    yield pool
    pool.shutdown()


def test_a_closed_env_on_a_shared_pool_refuses_reset_and_step_and_opens_nothing(pool) -> None:
    env = RayEnv(env_fn=make_scripted_env, pool=pool)
    env.reset(seed=0)
    env.close()
    env.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        env.reset(seed=0)
    with pytest.raises(RuntimeError, match="closed"):
        env.step("go")
    assert pool.stats()["envs"] == 0  # no environment reopened behind the caller's back
    assert not pool.closed  # the shared pool is the caller's: still open


def test_a_factory_ray_cannot_send_is_refused_with_the_pickling_cause() -> None:
    lock = threading.Lock()

    def factory():  # holds a lock: cloudpickle cannot send it
        return lock, make_scripted_env()

    with pytest.raises(RayEnvError) as raised:
        RayEnv(env_fn=factory, timeout=30)
    message = str(raised.value)
    assert "lock" in message and "pickle" in message, message
    assert "=====" not in message



def test_after_a_hung_step_kills_its_worker_the_next_reset_is_not_charged_the_replacements_start_up(tmp_path) -> None:
    from tests.resource_probe import process_ended

    # worker processes take 2 s to start (a sitecustomize that sleeps), building the environment milliseconds
    (tmp_path / "sitecustomize.py").write_text("import time\ntime.sleep(2.0)\n")
    env = RayEnv(env_fn=make_scripted_env, timeout=1.0,
                 actor_options={"runtime_env": {"env_vars": {"PYTHONPATH": str(tmp_path)}}})
    try:
        env.reset(seed=0)
        hung_pid = env.ref.worker_pid
        assert "worker was killed" in env.step("hang")[4]["error"]
        observation, info = env.reset(seed=0)
        assert observation == "ready", info.get("error")
        assert env.ref.worker_pid != hung_pid and process_ended(hung_pid)
    finally:
        env.close()
