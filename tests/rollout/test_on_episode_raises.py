"""A user's ``on_episode`` callback that raises stops the rollout with its exception, closes
every environment and leaves the ended trajectories in the file, whole."""

from __future__ import annotations

import json

import psutil
import pytest

from agentgym.policies.random import RandomPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from tests.resource_probe import live_threads, started_since


def test_a_raising_on_episode_propagates_and_leaks_nothing(tmp_path):
    process = psutil.Process()
    fds, threads = process.num_fds(), live_threads()
    seen = []

    def callback(trajectory):
        seen.append(trajectory)
        if len(seen) == 3:
            raise RuntimeError("boom in the callback")

    path = tmp_path / "t.jsonl"
    tasks = [Task("games/GuessTheNumber-v0", seed=i) for i in range(10)]
    with pytest.raises(RuntimeError, match="boom in the callback"):
        rollout(RandomPolicy(seed=0), tasks, RolloutConfig(max_concurrent_episodes=4), trajectories_path=path,
                progress=False, on_episode=callback)

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) >= 3 and all(record["env_id"] == "games/GuessTheNumber-v0" for record in records)
    assert process.num_fds() == fds and not started_since(threads)
