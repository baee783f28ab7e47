"""A task whose arguments hold what the environment stack passes to agentgym.make itself
(max_turns beside the rollout's own budget, wrappers) is refused before any episode, not
failed at every episode with make()'s "got multiple values"."""

from __future__ import annotations

import pytest

import envs  # noqa: F401 - registers the games
from agentgym.core import ConfigError
from agentgym.policies.random import RandomPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.runtime.runtimes import EnvSpec


def test_a_task_budget_beside_the_rollout_budget_is_refused_before_any_episode():
    refusal = "max_turns=5 and the rollout sets max_turns=3: give the turn budget in one place"
    with pytest.raises(ConfigError, match=refusal):
        rollout(RandomPolicy(0), [Task("games/Wordle-v0", 0, {"max_turns": 5})], RolloutConfig(max_turns=3),
                progress=False)


def test_wrappers_among_the_environment_arguments_are_refused():
    with pytest.raises(ConfigError, match="'wrappers' is not an argument of the environment"):
        EnvSpec("games/Wordle-v0", {"wrappers": []})


def test_a_task_budget_alone_is_the_episode_budget():
    result = rollout(RandomPolicy(0), [Task("games/Wordle-v0", 0, {"max_turns": 2})], RolloutConfig(),
                     progress=False)
    (trajectory,) = result.trajectories
    assert trajectory.error is None and len(trajectory.turns) == 2 and trajectory.truncated
