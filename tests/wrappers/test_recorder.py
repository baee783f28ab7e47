"""TrajectoryRecorder and the trajectory JSONL store: round trips, crashes, odd info values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.testing import oracle_agent, play_episode
from agentgym.trajectory import (
    SCHEMA_VERSION,
    Trajectory,
    TrajectoryReader,
    TrajectoryWriter,
    Turn,
    json_safe,
    read_trajectories,
)
from agentgym.wrappers import TrajectoryRecorder


class _Opaque:
    def __repr__(self):
        return "<Opaque thing>"


class Messy(LLMEnv):
    """Puts everything JSON cannot hold into its info, and shows an image."""

    instructions = "Anything goes."

    def new_episode(self, options):
        self.options_seen = dict(options)
        self.moves = 0
        return {"text": "A picture.", "image": np.full((32, 32, 3), 7, np.uint8)}

    def play(self, action):
        self.moves += 1
        cyclic: dict = {}
        cyclic["self"] = cyclic
        info = {"object": _Opaque(), "array": np.arange(6), "number": np.float32(0.5),
                "nan": math.nan, "set": {1}, "tuple_key": {(1, 2): "pair"}, "cyclic": cyclic,
                "surrogate": "\ud800"}
        return Feedback({"text": f"move {self.moves}", "image": np.zeros((32, 32, 3), np.uint8)},
                        {"outcome": float(self.moves == 2)}, terminated=self.moves == 2,
                        success=self.moves == 2, info=info)


class Fragile(LLMEnv):
    """Raises on the action "crash"."""

    def new_episode(self, options):
        return "Careful."

    def play(self, action):
        if action == "crash":
            raise RuntimeError("the environment broke")
        return Feedback("ok")


def guess_recorder(output=None, **kwargs):
    return TrajectoryRecorder(agentgym.make("games/GuessTheNumber-v0", difficulty="easy", episode_statistics=True), output, **kwargs)


def test_episodes_are_recorded_and_round_trip_through_jsonl(tmp_path):
    path = tmp_path / "runs" / "guess.jsonl"
    env = guess_recorder(path, metadata={"policy": "oracle"})
    episodes = [play_episode(env, oracle_agent, seed=seed) for seed in (1, 2, 3)]
    env.close()

    recorded = env.trajectories
    assert len(recorded) == 3
    for trajectory, episode, seed in zip(recorded, episodes, (1, 2, 3), strict=True):
        assert trajectory.env_id == "games/GuessTheNumber-v0" and trajectory.seed == seed
        assert trajectory.task_id == episode["infos"][0]["task_id"]
        assert trajectory.instructions == episode["infos"][0]["instructions"]
        assert [t.action for t in trajectory.turns] == episode["actions"]
        assert [t.observation for t in trajectory.turns] == episode["observations"][:-1]
        assert [t.reward for t in trajectory.turns] == episode["rewards"]
        assert trajectory.episode_return == episode["return"] == 1.0
        assert trajectory.success and trajectory.terminated and not trajectory.truncated
        assert trajectory.metadata == {"policy": "oracle"} and trajectory.error is None
        assert [t.index for t in trajectory.turns] == list(range(len(episode["actions"])))
        assert trajectory.turns[-1].info["episode"]["turns"] == len(episode["actions"])
        assert "turns_left" in trajectory.turns[0].info

    lines = path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["return"] == 1.0
    read = read_trajectories(path)
    assert [t.to_dict() for t in read] == [t.to_dict() for t in recorded]
    assert read[0] == recorded[0]


def test_a_partial_last_line_is_skipped_and_reported(tmp_path):
    path = tmp_path / "crash.jsonl"
    env = guess_recorder(path)
    for seed in (0, 1):
        play_episode(env, oracle_agent, seed=seed)
    env.close()
    whole = path.read_text().splitlines()[0]
    with open(path, "a") as file:  # the process died halfway through writing a line
        file.write(whole[: len(whole) // 2])

    reader = TrajectoryReader(path)
    assert len(list(reader)) == 2 and reader.bad_lines == [3]
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable line\(s\) \[3\]"):
        assert len(read_trajectories(path)) == 2

    # Appending after the crash starts a fresh line: nothing already written is lost.
    env = guess_recorder(path)
    play_episode(env, oracle_agent, seed=5)
    env.close()
    reader = TrajectoryReader(path)
    assert [t.seed for t in reader] == [0, 1, 5] and reader.bad_lines == [3]


def test_unserialisable_info_and_images_are_made_safe(tmp_path):
    path = tmp_path / "messy.jsonl"
    env = TrajectoryRecorder(Messy(), path, fsync=True)
    env.reset(seed=0)
    env.step("a")
    env.step("b\ud800")
    env.close()
    text = path.read_text(encoding="ascii")
    assert "7, 7, 7" not in text and "<ndarray shape=(32, 32, 3) dtype=uint8>" not in text
    [trajectory] = read_trajectories(path)
    first = trajectory.turns[0]
    assert first.observation == "A picture." and trajectory.turns[1].observation == "move 1"
    assert first.info["object"] == "<Opaque thing>"
    assert first.info["array"] == "<ndarray shape=(6,) dtype=int64>"
    assert first.info["number"] == 0.5 and first.info["nan"] == "nan" and first.info["set"] == [1]
    assert first.info["tuple_key"] == {"(1, 2)": "pair"} and first.info["surrogate"] == "\ud800"
    assert "nested too deep" in json.dumps(first.info["cyclic"])
    assert trajectory.turns[1].action == "b\ud800" and trajectory.success


def test_json_safe_handles_odd_values():
    class BadRepr:
        def __repr__(self):
            raise ValueError("no")

    assert json_safe({"x": [np.int64(3), (1.5, math.inf)], 2: BadRepr()}) == {"x": [3, [1.5, "inf"]], "2": "<BadRepr>"}
    json.dumps(json_safe({"a": np.zeros((2, 2))}), allow_nan=False)


def test_unfinished_episodes_are_stored_as_truncated_on_close_and_reset(tmp_path):
    path = tmp_path / "cut.jsonl"
    env = guess_recorder(path, keep_last=10)
    env.reset(seed=0)
    env.step("1")
    env.reset(seed=1)  # abandons the first episode
    env.step("2")
    env.step("3")
    env.close()
    first, second = read_trajectories(path)
    assert first.truncated and not first.terminated and "reset()" in first.error and len(first.turns) == 1
    assert second.truncated and "close()" in second.error and [t.action for t in second.turns] == ["2", "3"]


def test_episodes_without_a_step_are_not_stored():
    env = guess_recorder()
    env.reset(seed=0)
    env.reset(seed=1)
    env.close()
    assert env.trajectories == []


def test_an_environment_raising_is_recorded_and_re_raised():
    env = TrajectoryRecorder(Fragile())
    env.reset(seed=0)
    env.step("fine")
    with pytest.raises(RuntimeError, match="broke"):
        env.step("crash")
    [trajectory] = env.trajectories
    assert trajectory.truncated and "RuntimeError: the environment broke" in trajectory.error
    assert [t.action for t in trajectory.turns] == ["fine"]


def test_keep_last_and_a_shared_writer(tmp_path):
    path = tmp_path / "shared.jsonl"
    with TrajectoryWriter(path) as writer:
        envs = [guess_recorder(writer, keep_last=2) for _ in range(2)]
        for seed in range(3):
            for env in envs:
                play_episode(env, oracle_agent, seed=seed)
        for env in envs:
            env.close()
        assert not writer.closed  # the recorders do not close a writer they were given
        assert [t.seed for t in envs[0].trajectories] == [1, 2]
    assert writer.closed and len(read_trajectories(path)) == 6


def test_group_id_comes_from_reset_options_and_does_not_reach_the_environment():
    env = TrajectoryRecorder(Messy())
    env.reset(seed=0, options={"group_id": "g7", "level": 2})
    assert env.unwrapped.options_seen == {"level": 2}
    env.step("a")
    env.step("b")
    assert env.trajectories[0].group_id == "g7"


def test_from_dict_ignores_unknown_keys_and_fills_defaults():
    data = Trajectory(env_id="x", turns=[Turn(0, "o", "a", 1.0)]).to_dict()
    data["future_field"] = 1
    data["turns"][0]["token_ids"] = [1, 2]
    del data["metadata"]
    trajectory = Trajectory.from_dict(data)
    assert trajectory.env_id == "x" and trajectory.metadata == {} and trajectory.turns[0].reward == 1.0
    assert data["version"] == SCHEMA_VERSION and data["return"] == 1.0
