"""A replacement worker's start-up is not charged to the build that waits for it, on the asyncio
path too (``RayHandle``, which ``RayVectorEnv`` and the ``ray`` env runtime use): after a frozen
worker is killed, the environment reopened on its replacement within a step timeout shorter than
the replacement's start-up still opens."""

from __future__ import annotations

import os
import signal

import pytest

ray = pytest.importorskip("ray")

from agentgym.info import ErrorKind  # noqa: E402
from agentgym.ray import RayVectorEnv  # noqa: E402
from ray_test_envs import make_scripted_env  # noqa: E402
from tests.resource_probe import process_ended  # noqa: E402


def test_a_slow_starting_replacement_does_not_time_out_the_reopened_environment(tmp_path) -> None:
    # worker processes take 3 s to start (a sitecustomize that sleeps); the step timeout is 1 s
    (tmp_path / "sitecustomize.py").write_text("import time\ntime.sleep(3.0)\n")
    envs = RayVectorEnv([make_scripted_env] * 2, num_workers=2, num_cpus_per_worker=0.5, step_timeout=1.0,
                        worker_grace=1.0, actor_options={"runtime_env": {"env_vars": {"PYTHONPATH": str(tmp_path)}}})
    try:
        envs.reset(seed=0)
        frozen_pid = envs.worker_pids[0]
        os.kill(frozen_pid, signal.SIGSTOP)  # alive but answering nothing
        _, _, _, truncations, infos = envs.step(["go", "go"])
        assert truncations.tolist() == [True, False] and infos["error_kind"][0] == ErrorKind.TIMEOUT
        # at once, while the replacement is still starting: reopened on it when it runs
        observations, _, _, truncations, infos = envs.step(["go", "go"])
        assert observations == ("ready", "turn 2"), infos.get("error")
        assert not truncations.any() and envs.worker_pids[0] not in (frozen_pid, None)
        assert process_ended(frozen_pid)
    finally:
        envs.close()
