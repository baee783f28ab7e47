"""Trajectory files as a demanding user writes and reads them: values JSON text cannot hold as
they are, a pipe as the output, a rollout refused before it starts, damaged records, log-probs
as arrays, an environment drawing into the array it shows, an error that stops a rollout."""

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
from agentgym.rollout.transcript import message_images
from agentgym.spaces import text_and_image_space
from agentgym.trajectory import Trajectory, TrajectoryReader, TrajectoryWriter, Turn, json_safe, read_trajectories

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


@pytest.mark.parametrize("fsync", [False, True])
def test_trajectories_can_be_written_to_a_pipe(fsync):
    read_end, write_end = os.pipe()
    try:
        with TrajectoryWriter(f"/dev/fd/{write_end}", fsync=fsync) as writer:  # was OSError: Illegal seek
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



@pytest.mark.parametrize("damage", [{"reward": None}, {"reward": "high"}, {"seconds": [1]}, {"action_span": "x"},
                                    {"action_span": [3]}, {"observation_span": [0, "5"]}],
                         ids=["reward-null", "reward-text", "seconds-list", "span-text", "span-one", "span-text-end"])
def test_a_turn_whose_numbers_are_no_numbers_is_a_skipped_line(damage, tmp_path):
    path = tmp_path / "t.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(Trajectory(env_id="x/Y-v0", turns=[Turn(0, "o", "a", reward=1.0)]))
    good = path.read_text()
    record = json.loads(good)
    record["turns"][0].update(damage)
    path.write_text(good + json.dumps(record) + "\n")
    reader = TrajectoryReader(path)
    trajectories = list(reader)  # the damaged one was read, and failed later: episode_return, loss_mask, export
    assert len(trajectories) == 1 and reader.bad_lines == [2]
    assert trajectories[0].episode_return == 1.0


def test_a_record_whose_token_ids_are_no_integers_is_a_skipped_line(tmp_path):
    path = tmp_path / "t.jsonl"
    record = Trajectory(env_id="x/Y-v0", turns=[Turn(0, "o", "a", action_span=(1, 2))], token_ids=[1, 2]).to_dict()
    lines = [json.dumps(record)]
    for damaged in (5, ["1", "2"], [1.5, 2]):
        lines.append(json.dumps({**record, "token_ids": damaged}))
    path.write_text("\n".join(lines) + "\n")
    reader = TrajectoryReader(path)
    assert [t.loss_mask() for t in reader] == [[0, 1]] and reader.bad_lines == [2, 3, 4]


class Canvas(LLMEnv):
    """Paints one more row of its canvas each step, in place, and shows the canvas itself (as a
    renderer drawing into its buffer does)."""

    instructions = "Say anything."
    observation_space = text_and_image_space(3, 4)

    def new_episode(self, options):
        self.canvas = np.zeros((3, 4, 3), np.uint8)
        self.painted = 0
        return {"text": "blank", "image": self.canvas}

    def play(self, action):
        self.canvas[self.painted] = 255
        self.painted += 1
        return Feedback({"text": f"{self.painted} rows", "image": self.canvas}, {"outcome": 0.0},
                        terminated=self.painted == 3)


agentgym.register("testing/TrajectoryFilesCanvas-v0", Canvas, max_turns=4, override=True)


def test_each_turn_keeps_the_image_it_was_shown_when_the_environment_paints_in_place(tmp_path):
    path = tmp_path / "t.jsonl"
    (trajectory,) = rollout(ScriptedPolicy(["x"] * 3), [Task("testing/TrajectoryFilesCanvas-v0", 0)],
                            trajectories_path=path, progress=False).trajectories
    painted = [[int(row.all()) for row in turn.observation_image[:, :, 0] == 255] for turn in trajectory.turns]
    assert painted == [[0, 0, 0], [1, 0, 0], [1, 1, 0]]  # was [1, 1, 1] three times: the final canvas
    shown = [[int(row.all()) for row in image[:, :, 0] == 255] for image in message_images(trajectory.messages)]
    assert shown[:3] == painted  # the conversation the policy read, too
    stored = read_trajectories(path)[0]
    assert [np.array_equal(a.observation_image, b.observation_image) for a, b in zip(trajectory.turns, stored.turns)] \
        == [True] * 3


def test_an_error_that_stops_a_rollout_is_not_shown_inside_no_running_event_loop(tmp_path):
    def full(trajectory):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left") as stopped:
        rollout(ScriptedPolicy(["x"]), [Task("testing/TrajectoryFilesFactorials-v0", 0)], on_episode=full,
                trajectories_path=tmp_path / "t.jsonl", progress=False)
    # the traceback read "RuntimeError: no running event loop / During handling of the above exception..."
    assert stopped.value.__context__ is None
    assert len(read_trajectories(tmp_path / "t.jsonl")) == 1


_FILE_SIZE_LIMIT_SCRIPT = r"""
import resource, signal, sys
from agentgym.trajectory import Trajectory, TrajectoryWriter, Turn
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
path = sys.argv[1]
def trajectory(name, size):
    return Trajectory(env_id=name, turns=[Turn(0, "o" * size, "a", reward=1.0)])
with TrajectoryWriter(path) as writer:
    writer.write(trajectory("first", 10))
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, resource.RLIM_INFINITY))
    try:
        writer.write(trajectory("second", 20_000))  # cut off at 3,000 bytes: a full disk
    except OSError as exc:
        print("failed:", exc.errno)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    writer.write(trajectory("third", 10))
"""


def test_a_line_whose_write_failed_stays_one_damaged_line_and_is_never_finished_later(tmp_path):
    # A buffered file kept the rest of the failed line and wrote it with the next one: the
    # trajectory whose write raised appeared in the file after all (a retry doubled it).
    import subprocess
    import sys

    path = tmp_path / "t.jsonl"
    done = subprocess.run([sys.executable, "-c", _FILE_SIZE_LIMIT_SCRIPT, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "failed: 27" in done.stdout  # EFBIG
    reader = TrajectoryReader(path)
    assert [t.env_id for t in reader] == ["first", "third"] and reader.bad_lines == [2]
