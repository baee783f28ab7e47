"""The rollout engine on each local runtime: the same trajectories, and a crashed or hung
environment process fails its own episode with the cause while the others finish."""

from __future__ import annotations

import psutil
import pytest
from runtime_test_envs import Countdown  # noqa: F401 - registers testing/Countdown-v0

from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.runtime import hung_thread_count
from agentgym.wrappers import WrapperSpec


def children() -> list[psutil.Process]:
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker._pid
    return [p for p in psutil.Process().children(recursive=True) if p.pid != tracker]


def _comparable(trajectories):
    return [(t.seed, t.success, t.error, [(turn.action, turn.observation, turn.reward) for turn in t.turns],
             t.metadata.get("reference_answer")) for t in trajectories]


@pytest.mark.parametrize("runtime", ["thread", "process"])
def test_every_local_runtime_gives_the_same_trajectories(runtime):
    tasks = [Task("games/GuessTheNumber-v0", seed) for seed in (1, 2)]
    config = RolloutConfig(group_size=2, wrappers=[WrapperSpec("EpisodeStatistics")], env_runtime=runtime)
    here = rollout(OraclePolicy(), tasks, RolloutConfig(group_size=2, wrappers=[WrapperSpec("EpisodeStatistics")]),
                   progress=False)
    there = rollout(OraclePolicy(), tasks, config, progress=False)
    assert _comparable(there.trajectories) == _comparable(here.trajectories)
    assert all(t.success for t in there.trajectories) and there.stats["errors"] == 0
    assert here.trajectories[0].metadata["reference_answer"] is not None
    assert not children()


def test_a_process_killed_mid_rollout_fails_its_episode_with_the_cause_and_the_others_finish():
    tasks = [Task("testing/Countdown-v0", seed) for seed in (11, 12, 13, 14)]  # seed 13 dies at turn 2
    result = rollout(ScriptedPolicy(["go"] * 5), tasks, RolloutConfig(env_runtime="process", step_timeout=30.0),
                     progress=False)
    by_seed = {t.seed: t for t in result.trajectories}
    crashed = by_seed.pop(13)
    assert crashed.error_kind == "environment" and "ProcessEnvDied" in crashed.error and not crashed.success
    assert len(crashed.turns) == 1  # the turn before the crash is kept
    assert all(t.success and t.error is None for t in by_seed.values())
    assert result.stats["error_kinds"] == {"environment": 1}
    assert not children()


def test_a_hung_environment_process_is_killed_not_abandoned():
    hung = hung_thread_count()
    tasks = [Task("testing/Countdown-v0", 0, {"hang_s": 60.0}), Task("testing/Countdown-v0", 1)]
    policy = ScriptedPolicy(["hang", "go", "go"])
    result = rollout(policy, tasks, RolloutConfig(env_runtime="process", step_timeout=3.0,
                                                  max_abandoned_threads=hung), progress=False)
    errors = sorted(t.error or "" for t in result.trajectories)
    assert errors == ["environment step timed out after 3.0 s"] * 2  # the scripted policy hangs both
    assert result.stats["abandoned_threads"] == 0 and hung_thread_count() == hung
    assert not children()
