"""Defects of the rollout engine found in the twelfth round (outside the helpers' files)."""

from __future__ import annotations

import gymnasium as gym

import agentgym
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.trajectory import read_trajectories


class NumberedErrors(gym.Env):
    """A plain Gymnasium environment whose info reports errors as numbers and flags."""

    observation_space = gym.spaces.Text(100)
    action_space = gym.spaces.Text(100)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.turn = 0
        return "go", {}

    def step(self, action):
        self.turn += 1
        error = {1: 404, 2: True, 3: False}.get(self.turn)
        return f"turn {self.turn}", 0.0, self.turn == 3, False, {"error": error}


agentgym.register("mine12/NumberedErrors-v0", NumberedErrors, max_turns=5)


def test_an_environment_reporting_errors_that_are_no_text_is_recorded_and_read_back(tmp_path):
    # turn.error kept 404 and True as they were: the writer refused the trajectory (ValueError out
    # of the rollout) and without a file the statistics read a number where text is due
    path = tmp_path / "runs.jsonl"
    result = rollout(ScriptedPolicy(["a", "b", "c"]), [Task("mine12/NumberedErrors-v0", 0)],
                     RolloutConfig(max_turns=5), trajectories_path=path, progress=False)
    [trajectory] = result.trajectories
    assert [turn.error for turn in trajectory.turns] == ["404", "True", None]
    [read] = read_trajectories(path)
    assert [turn.error for turn in read.turns] == ["404", "True", None]


class NumberedTasks(NumberedErrors):
    """A plain Gymnasium environment whose reset info names its task by a number and gives
    instructions of None."""

    def reset(self, *, seed=None, options=None):
        observation, _ = super().reset(seed=seed, options=options)
        return observation, {"task_id": 7, "instructions": None}


agentgym.register("mine12/NumberedTasks-v0", NumberedTasks, max_turns=5)


def test_an_environment_naming_its_task_by_a_number_is_recorded_and_read_back(tmp_path):
    # task_id 7 and instructions None were kept as they were: writing the trajectory raised
    # ValueError out of the rollout (the reader refuses such a record)
    path = tmp_path / "runs.jsonl"
    result = rollout(ScriptedPolicy(["a", "b", "c"]), [Task("mine12/NumberedTasks-v0", 0)],
                     RolloutConfig(max_turns=5), trajectories_path=path, progress=False)
    [trajectory] = result.trajectories
    assert (trajectory.task_id, trajectory.instructions) == ("7", "")
    [read] = read_trajectories(path)
    assert (read.task_id, read.instructions) == ("7", "")
