"""Storage under hostile trajectories: nothing lost, nothing stored twice, everything exportable.

75 episodes shaped as the rollout engine records them (a system prompt, the observations as user
messages, the actions as assistant messages) carry what a long run eventually meets: 1 MB
actions, lone surrogates, NUL, emoji, deeply nested info, NaN and infinite rewards, numpy arrays
in info. They go through :class:`TrajectoryWriter` into one JSONL file, which must

* hold each text once (the file about the size of the distinct texts, not twice it),
* read back equal, and after a crash mid-line lose only the line being written,
* export whole to Parquet and to a Hugging Face dataset.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq

from agentgym.export import to_hf_dataset, to_parquet, unescape_text
from agentgym.trajectory import Trajectory, TrajectoryReader, TrajectoryWriter, Turn

MB = 1 << 20
EPISODES = 75
KINDS = ("1 MB action", "invalid unicode", "deep info", "non-finite rewards", "numpy info")
HOSTILE_TEXT = "\ud800 high, \udfff low, \x00 NUL, 😀 emoji, \\ud800 literal, é "


def nested(depth: int) -> dict:
    value: dict = {"leaf": "bottom"}
    for level in range(depth):
        value = {"level": level, "child": value}
    return value


def hostile_episode(number: int) -> Trajectory:
    kind = KINDS[(number + 1) % len(KINDS)]  # the last episode has a 1 MB action
    first_observation = f"Episode {number}: guess a number between 1 and 100 ({kind})."
    actions = [f"{number:03d} " + "a" * MB, "50"] if kind == "1 MB action" else [
        HOSTILE_TEXT * 50 if kind == "invalid unicode" else f"I think it is {number} and here is why: " + "b" * 200,
        "50"]
    observations = [first_observation, "Higher. " * 8 + HOSTILE_TEXT]
    rewards = [float("nan"), float("-inf")] if kind == "non-finite rewards" else [0.0, 1.0]
    info = {
        "deep info": {"trace": nested(100)},
        "numpy info": {"board": np.arange(64, dtype=np.int8).reshape(8, 8), "score": np.float32(0.5)},
    }.get(kind, {"kind": kind})
    turns = [Turn(i, observations[i], actions[i], reward=rewards[i], reward_components={"outcome": rewards[i]},
                  info=info, finish_reason="stop") for i in range(2)]
    messages = [{"role": "system", "content": "You are an agent."}]
    for observation, action in zip(observations, actions):
        messages += [{"role": "user", "content": observation}, {"role": "assistant", "content": action}]
    messages.append({"role": "user", "content": "Correct! " + HOSTILE_TEXT})
    return Trajectory(env_id="hostile/Storage-v0", task_id=f"task-{number}", seed=number, turns=turns,
                      messages=messages, terminated=True, success=kind != "non-finite rewards",
                      metadata={"kind": kind})


def distinct_text_bytes(trajectory: Trajectory) -> int:
    """What the trajectory's texts take as JSON when each distinct text is written once."""
    texts = {t.action for t in trajectory.turns} | {t.observation for t in trajectory.turns}
    texts |= {m["content"] for m in trajectory.messages}
    return sum(len(json.dumps(text)) for text in texts)


def write(trajectories, path) -> None:
    with TrajectoryWriter(path) as writer:
        for trajectory in trajectories:
            writer.write(trajectory)


def test_hostile_episodes_are_stored_once_survive_a_crash_and_export_whole(tmp_path, resources):
    trajectories = [hostile_episode(number) for number in range(EPISODES)]
    path = tmp_path / "hostile.jsonl"
    write(trajectories, path)

    # Each text once: the whole file, and the 1 MB-action episodes on their own.
    size, distinct = path.stat().st_size, sum(distinct_text_bytes(t) for t in trajectories)
    assert distinct < size < 1.3 * distinct
    big = [t for t in trajectories if t.metadata["kind"] == "1 MB action"]
    write(big, tmp_path / "big.jsonl")
    raw_actions = sum(len(turn.action) for t in big for turn in t.turns)
    assert len(big) * MB < raw_actions < (tmp_path / "big.jsonl").stat().st_size < 1.3 * raw_actions

    # Everything reads back as written (NaN compares unequal, so compare the records).
    reader = TrajectoryReader(path)
    back = list(reader)
    assert reader.bad_lines == [] and len(back) == EPISODES
    assert [t.to_dict() for t in back] == [t.to_dict() for t in trajectories]
    assert back[4].messages[2]["content"] == trajectories[4].turns[0].action and len(back[4].turns[0].action) > MB
    assert back[4].messages[2]["content"] is back[4].turns[0].action  # shared in memory, too
    assert math.isnan(back[2].turns[0].reward) and back[2].turns[1].reward == float("-inf")
    assert back[0].turns[0].action == HOSTILE_TEXT * 50  # surrogates and NUL kept exactly
    assert back[0].messages[2]["content"] == HOSTILE_TEXT * 50

    # A crash in the middle of the last line (a 1 MB one) loses that line only.
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == EPISODES and len(lines[-1]) > MB
    crashed = tmp_path / "crashed.jsonl"
    crashed.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    reader = TrajectoryReader(crashed)
    survivors = list(reader)
    assert reader.bad_lines == [EPISODES] and [t.task_id for t in survivors] == [f"task-{n}" for n in range(EPISODES - 1)]
    with TrajectoryWriter(crashed) as writer:  # a restarted run appends after the partial line
        writer.write(trajectories[-1])
    reader = TrajectoryReader(crashed)
    assert [t.task_id for t in reader][-1] == f"task-{EPISODES - 1}" and reader.bad_lines == [EPISODES]

    # Every trajectory reaches Parquet and a Hugging Face dataset, in both shapes.
    assert to_parquet(back, tmp_path / "episodes.parquet") == EPISODES
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    assert [row["task_id"] for row in episodes] == [t.task_id for t in trajectories]
    assert json.loads(episodes[4]["messages"])[2]["content"] == trajectories[4].turns[0].action
    assert json.loads(episodes[0]["messages"])[2]["content"] == HOSTILE_TEXT * 50
    assert to_parquet(back, tmp_path / "turns.parquet", shape="turns") == 2 * EPISODES
    turns = pq.read_table(tmp_path / "turns.parquet").to_pylist()
    for row in turns:
        action = row["action"]
        original = unescape_text(action) if "action" in row["escaped"] else action
        assert original == trajectories[row["trajectory"]].turns[row["turn"]].action
    dataset = to_hf_dataset(back[:10])
    assert dataset.num_rows == 10 and dataset[1]["task_id"] == "task-1"
    assert json.loads(dataset[0]["messages"])[2]["content"] == HOSTILE_TEXT * 50
    assert to_hf_dataset(back, shape="turns").num_rows == 2 * EPISODES

    resources.assert_released()
