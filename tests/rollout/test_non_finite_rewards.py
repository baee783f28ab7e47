"""A step's reward (and each reward component) must be a finite number: anything else fails that
episode as the environment's error, instead of a NaN that would make its whole group's
advantages, the loss and then the model's weights NaN."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.credit import GRPO
from agentgym.info import ErrorKind
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout


class BadOnSeed(LLMEnv):
    """Two turns; on seed 1 the second turn's reward (or a component) is ``options``' bad value."""

    instructions = "Say anything."

    def __init__(self, bad_reward=math.nan, bad_component=None, **kwargs):
        super().__init__(**kwargs)
        self.bad_reward, self.bad_component = bad_reward, bad_component

    def new_episode(self, options):
        self.turn = 0
        return "go"

    def play(self, action):
        self.turn += 1
        done = self.turn == 2
        rewards = {"outcome": 1.0 if done else 0.0}
        if done and self._seed == 1:
            if self.bad_component is not None:
                rewards["judge"] = self.bad_component
            else:
                rewards = {"outcome": self.bad_reward}
        return Feedback("ok", rewards, terminated=done, success=done)

    def reset(self, *, seed=None, options=None):
        self._seed = seed
        return super().reset(seed=seed, options=options)


class RawComponents(gym.Env):
    """A Gymnasium environment whose reward is finite but one of its reward components is not."""

    observation_space = action_space = gym.spaces.Text(100)

    def reset(self, *, seed=None, options=None):
        return "go", {"messages": [{"role": "user", "content": "go"}]}

    def step(self, action):
        messages = [{"role": "user", "content": "go"}, {"role": "assistant", "content": action}]
        return "done", 1.0, True, False, {"messages": messages, "reward_components": {"judge": math.nan}}


agentgym.register("testing/BadRewardOnSeed-v0", BadOnSeed, max_turns=4)
agentgym.register("testing/NonFiniteComponent-v0", RawComponents, max_turns=2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bad_reward": math.nan}, "a reward that is not a finite number: nan"),
    ({"bad_reward": math.inf}, "a reward that is not a finite number: inf"),
    ({"bad_component": -math.inf}, "a reward that is not a finite number: -inf"),  # the sum of them
])
def test_a_non_finite_reward_fails_its_episode_only(kwargs, message):
    tasks = [Task("testing/BadRewardOnSeed-v0", seed=seed, kwargs=kwargs) for seed in (0, 1)]
    result = rollout(ScriptedPolicy(["a", "b"]), tasks, RolloutConfig(group_size=2), progress=False)
    good, bad = result.trajectories[:2], result.trajectories[2:]
    assert all(t.error is None and t.success and [turn.reward for turn in t.turns] == [0.0, 1.0] for t in good)
    for trajectory in bad:
        assert trajectory.error == f"environment step returned {message}"
        assert trajectory.error_kind == ErrorKind.ENV_ERROR.value
        assert all(math.isfinite(turn.reward) for turn in trajectory.turns) and len(trajectory.turns) == 1
    kept = [t for t in result.trajectories if t.error is None]
    assert all(math.isfinite(a) for row in GRPO()(kept).per_turn for a in row)


def test_a_non_finite_reward_component_is_named():
    result = rollout(ScriptedPolicy(["a"]), [Task("testing/NonFiniteComponent-v0", seed=0)],
                     RolloutConfig(group_size=1), progress=False)
    (trajectory,) = result.trajectories
    assert trajectory.error == "environment step returned a reward component 'judge' that is not a finite number: nan"
