"""Trajectory files as a demanding user writes them: values JSON text cannot hold as they are,
output paths that are no regular file, rollouts refused before they start."""

import json
import os

import numpy as np
import psutil
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.base import Generation, Policy
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.trajectory import Trajectory, TrajectoryWriter, Turn, json_safe, read_trajectories

HUGE = 10**5000  # more digits than Python converts to text by default (4,300)


class Factorials(LLMEnv):
    """One step whose info holds numbers JSON text cannot hold as they are."""

    instructions = "Say anything."

    def new_episode(self, options):
        return "go"

    def play(self, action):
        info = {"factorial": HUGE, "extended": np.longdouble(2.5), "small": 7}
        return Feedback("done", {"outcome": 1.0}, terminated=True, success=True, info=info)


agentgym.register("testing/TrajectoryFilesFactorials-v0", Factorials, max_turns=2, override=True)


@pytest.mark.parametrize("value", [HUGE, -HUGE, np.longdouble(2.5), np.clongdouble(1 + 2j), [np.longdouble("nan")]],
                         ids=["huge", "-huge", "longdouble", "clongdouble", "longdouble-nan"])
def test_json_safe_values_are_json_text_whatever_the_number(value):
    json.dumps(json_safe({"x": value}), allow_nan=False)  # raised ValueError / RecursionError


def test_json_safe_keeps_numbers_it_can_write_exactly():
    assert json_safe([2**200, np.longdouble(2.5)]) == [2**200, 2.5]


def test_a_rollout_whose_info_holds_numbers_json_cannot_writes_every_trajectory(tmp_path):
    path = tmp_path / "runs" / "t.jsonl"
    tasks = [Task("testing/TrajectoryFilesFactorials-v0", seed) for seed in range(2)]
    result = rollout(ScriptedPolicy(["x"]), tasks, trajectories_path=path, progress=False)
    assert [t.error for t in result.trajectories] == [None, None]  # was a RecursionError blamed on the env
    stored = read_trajectories(path)  # the rollout raised ValueError (4300 digits) and wrote nothing
    assert len(stored) == 2
    info = stored[0].turns[0].info
    assert info["small"] == 7 and info["extended"] == 2.5 and isinstance(info["factorial"], str)


def test_trajectories_can_be_written_to_a_pipe():
    read_end, write_end = os.pipe()
    try:
        with TrajectoryWriter(f"/dev/fd/{write_end}") as writer:  # was OSError: Illegal seek
            writer.write(Trajectory(env_id="x/Y-v0", turns=[Turn(0, "o", "a")]))
        os.close(write_end)
        write_end = None
        with os.fdopen(read_end, "rb") as pipe:
            read_end = None
            (line,) = pipe.read().splitlines()
        assert Trajectory.from_dict(json.loads(line)).turns[0].action == "a"
    finally:
        for end in (read_end, write_end):
            if end is not None:
                os.close(end)


class NotAHintPolicy(Policy):
    name = "not-a-hint"
    env_hints = ("the_answer",)

    async def agenerate(self, requests, sampling):
        raise AssertionError("never called")


def test_a_refused_rollout_leaves_no_trajectory_file_open_or_made(tmp_path):
    path = tmp_path / "t.jsonl"
    with pytest.raises(ValueError, match="env_hints") as refused:  # its traceback holds the rollout's frames
        rollout(NotAHintPolicy(), [Task("games/Wordle-v0", 0)], trajectories_path=path, progress=False)
    assert refused.traceback
    assert str(path) not in [f.path for f in psutil.Process().open_files()]  # left to the garbage collector
    assert not path.exists()  # an empty file was made for a rollout that never started


class ArrayLogprobs(Policy):
    """Log-probs as the model's array, not the list the Generation contract names."""

    name = "array-logprobs"

    def __init__(self, logprobs):
        self.logprobs = logprobs

    async def agenerate(self, requests, sampling):
        return [Generation("10", logprobs=self.logprobs) for _ in requests]


def test_log_probs_given_as_an_array_reach_the_trajectory_file(tmp_path):
    path = tmp_path / "t.jsonl"
    policy = ArrayLogprobs(np.array([-0.5, -0.25], np.float32))
    (trajectory,) = rollout(policy, [Task("games/GuessTheNumber-v0", 0)], RolloutConfig(max_turns=1),
                            trajectories_path=path, progress=False).trajectories
    assert trajectory.turns[0].logprobs == [-0.5, -0.25]
    assert read_trajectories(path)[0].turns[0].logprobs == [-0.5, -0.25]  # was '<ndarray shape=(2,) dtype=float32>'

