"""The rollout engine on an environment server (``env_runtime=URL``): the server builds the same
stack from data, gives the same trajectories, and a server killed mid-rollout fails the affected
episodes with the cause, never a hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy
from agentgym.remote import running_env_server
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.wrappers import WrapperSpec


def _comparable(trajectories):
    return [(t.seed, t.success, t.error, t.messages, [(turn.action, turn.reward) for turn in t.turns],
             t.metadata.get("reference_answer")) for t in trajectories]


def test_a_rollout_on_a_server_matches_the_local_one():
    tasks = [Task("games/GuessTheNumber-v0", seed) for seed in (3, 4)] + [Task("games/Wordle-v0", 5)]
    config = RolloutConfig(group_size=2, wrappers=[WrapperSpec("EpisodeStatistics")])
    local = rollout(OraclePolicy(), tasks, config, progress=False)
    with running_env_server() as url:
        remote = rollout(OraclePolicy(), tasks, RolloutConfig(group_size=2, wrappers=config.wrappers,
                                                              env_runtime=url), progress=False)
        sessions = httpx.get(f"{url}/metrics").json()["sessions"]
    assert _comparable(remote.trajectories) == _comparable(local.trajectories)
    assert remote.stats["errors"] == 0 and all(t.success for t in remote.trajectories)
    assert sessions["created"] == 6 and sessions["open"] == 0  # every episode closed its session


def test_wrappers_that_are_not_data_are_refused_before_anything_runs():
    with pytest.raises(TypeError, match="cannot be described as data"):
        rollout(OraclePolicy(), [Task("games/GuessTheNumber-v0", 0)],
                RolloutConfig(wrappers=[lambda env: env], env_runtime="http://127.0.0.1:9"), progress=False)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_killed_mid_rollout_fails_the_open_episodes_with_the_cause():
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "agentgym", "serve-env", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        killed = []

        class KillsTheServer(ScriptedPolicy):
            """Plays "1", "2", ...; before its third turn in the first episode, kills the server."""

            async def agenerate(self, requests, sampling):
                if not killed and any(len(r.messages) >= 6 for r in requests):
                    os.kill(server.pid, signal.SIGKILL)
                    server.wait()
                    killed.append(True)
                return await super().agenerate(requests, sampling)

        tasks = [Task("games/GuessTheNumber-v0", seed) for seed in range(4)]
        started = time.monotonic()
        result = rollout(KillsTheServer([str(n) for n in range(1, 9)]), tasks,
                         RolloutConfig(env_runtime=url, step_timeout=10.0), progress=False)
        assert killed and time.monotonic() - started < 60
        failed = [t for t in result.trajectories if t.error]
        assert failed, "the episodes open when the server died must fail"
        for trajectory in failed:
            assert trajectory.error_kind == "environment" and "environment server" in trajectory.error
        assert len(result.trajectories) == 4
    finally:
        server.kill()
        server.wait()
