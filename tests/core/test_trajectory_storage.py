"""Trajectories store each action and observation once on disk and read back whole.

In memory an action is both ``turn.action`` and an assistant message's content; on disk the
message refers to the turn (``{"role": "assistant", "action_of_turn": 3}``). These tests check
the size, the exact round trip for many shapes of trajectory, and that records written before
the scheme (version 1, every content inline) still load.
"""

import json
import math

import numpy as np
import pytest

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv, Tool
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.trajectory import (
    MIN_SHARED_CHARS,
    SCHEMA_VERSION,
    Trajectory,
    TrajectoryReader,
    TrajectoryWriter,
    Turn,
    json_safe,
    read_trajectories,
)
from agentgym.wrappers import ToolCalling

MB = 1 << 20
LONG_OBSERVATION = "The archive answers: " + "the capital of France is Paris. " * 8


def encyclopedia(query: str) -> str:
    return f"{query}: " + "Paris has been the capital of France since 987. " * 4


class Archive(LLMEnv):
    """One tool and long observations, so the rollout engine makes tool and user messages worth
    sharing."""

    instructions = "Look things up with the encyclopedia tool, then answer with the city."
    tools = (Tool("encyclopedia", "Read an article.", encyclopedia,
                  {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),)

    def new_episode(self, options):
        return LONG_OBSERVATION

    def play(self, action):
        if action.strip().lower() != "paris":
            raise InvalidAction("answer with one city name; " + LONG_OBSERVATION)
        return Feedback(LONG_OBSERVATION, {"outcome": 1.0}, terminated=True, success=True)


agentgym.register("testing/StorageArchive-v0", Archive, max_turns=6)

TOOL_CALL = '<tool_call>{"name": "encyclopedia", "arguments": {"query": "France"}}</tool_call>'


def through_json(trajectory: Trajectory) -> Trajectory:
    return Trajectory.from_dict(json.loads(json.dumps(trajectory.to_dict(), ensure_ascii=True)))


def expected(trajectory: Trajectory) -> Trajectory:
    """What a round trip must give: the trajectory with its values made JSON-safe."""
    return Trajectory.from_dict(json_safe({**trajectory.__dict__, "turns": [t.to_dict() for t in trajectory.turns]}))


def chat(*turns: tuple[str, str], system: str = "You are an agent.") -> Trajectory:
    """A trajectory whose messages are exactly what ChatHistory builds for (observation, action)
    pairs, ending with a final observation."""
    messages = [{"role": "system", "content": system}]
    for index, (observation, action) in enumerate(turns):
        messages.append({"role": "user", "content": observation})
        messages.append({"role": "assistant", "content": action})
    messages.append({"role": "user", "content": "final " * 10})
    return Trajectory(env_id="x/Y-v0", turns=[Turn(i, o, a, reward=1.0) for i, (o, a) in enumerate(turns)],
                      messages=messages)


def test_a_one_megabyte_action_is_stored_once(tmp_path):
    action = "a" * MB
    trajectory = chat(("Guess a number between 1 and 100.", action))
    record = trajectory.to_dict()
    assert record["version"] == SCHEMA_VERSION == 2
    assert {"role": "assistant", "action_of_turn": 0} in record["messages"]
    assert MB < len(json.dumps(record)) < 1.05 * MB

    path = tmp_path / "big.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(trajectory)
    assert MB < path.stat().st_size < 1.05 * MB
    (back,) = read_trajectories(path)
    assert back == trajectory
    assert back.messages[2]["content"] is back.turns[0].action  # one string in memory, too


def test_rollout_engine_trajectories_with_tool_messages_round_trip(tmp_path):
    long_answer = "Paris"
    script = [TOOL_CALL, "x" * 5000, "I am sure now that the answer is " + "P" * 100, long_answer]
    path = tmp_path / "archive.jsonl"
    result = rollout(ScriptedPolicy(script), [Task("testing/StorageArchive-v0", seed) for seed in range(2)],
                     RolloutConfig(wrappers=(ToolCalling,)), trajectories_path=path, progress=False)
    trajectories = result.trajectories
    assert all(t.success and len(t.turns) == 4 for t in trajectories)
    record = trajectories[0].to_dict()
    roles = [(m["role"], sorted(m)) for m in record["messages"]]
    assert ("assistant", ["action_of_turn", "role"]) in roles  # the 5000-character action
    assert ("user", ["observation_of_turn", "role"]) in roles  # the refusal, seen again at turn 2
    assert any(m["role"] == "tool" and "content" in m for m in record["messages"])  # tool results stay inline
    assert any(m["role"] == "assistant" and m.get("content") == long_answer for m in record["messages"])  # short
    back = read_trajectories(path)
    assert sorted(back, key=lambda t: t.seed) == sorted(trajectories, key=lambda t: t.seed)
    assert [m["content"] for m in back[0].messages if m["role"] == "assistant"][1] == "x" * 5000


def _array_observation():
    # a float array is not an image (images are stored as files: tests/trajectory_images), so it is described
    return [{"type": "text", "text": "What do you see? " * 4}, {"type": "image", "image": np.zeros((8, 8, 3), np.float32)}]


SHAPES = {
    "no messages": Trajectory(turns=[Turn(0, "o" * 40, "a" * 40)]),
    "no turns": Trajectory(messages=[{"role": "user", "content": "u" * 40}]),
    "rewritten action": Trajectory(  # a wrapper changed what the conversation shows
        turns=[Turn(0, "o" * 40, "  answer: Paris  " * 4)],
        messages=[{"role": "assistant", "content": "answer: Paris " * 4}]),
    "message dict action": Trajectory(  # the recorder stores a dict action as its JSON
        turns=[Turn(0, "o" * 40, json.dumps({"role": "assistant", "content": "c" * 40, "tool_calls": []}))],
        messages=[{"role": "assistant", "content": "c" * 40, "tool_calls": []}]),
    "tool messages": Trajectory(
        turns=[Turn(0, "Q" * 40, TOOL_CALL), Turn(1, "result " * 10, "Paris")],
        messages=[{"role": "user", "content": "Q" * 40},
                  {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function"}]},
                  {"role": "tool", "tool_call_id": "c1", "name": "encyclopedia", "content": "result " * 10},
                  {"role": "assistant", "content": "Paris"}]),
    "arrays described": Trajectory(
        turns=[Turn(0, "What do you see? " * 4, "A black square, eight pixels wide.")],
        messages=[{"role": "user", "content": _array_observation()},
                  {"role": "assistant", "content": "A black square, eight pixels wide."}]),
    "same text in two turns": chat(("o" * 40, "same action " * 5), ("o" * 40, "same action " * 5)),
    "action equals an observation": chat(("echo " * 10, "echo " * 10)),
    "hostile text": chat(("\ud800 lone high, \udfff lone low, \x00 NUL, 😀 emoji" * 3, "\udc80\x00😀" * 20)),
    "odd messages": Trajectory(
        turns=[Turn(0, "o" * 40, "a" * 40)],
        messages=["not a dict", None, {"role": "assistant", "content": None},
                  {"role": "assistant", "content": "a" * 40, "action_of_turn": 7},  # own key: kept inline
                  {"content": "a" * 40}, {"role": "assistant", "content": "a" * 40, "name": "x", "weight": 0.5},
                  {"role": "user", "action_of_turn": 0},  # looks like a reference but is a message
                  {"verbatim_message": {"role": "user"}}, {"verbatim_message": 1, "role": "user"}]),
    "non-finite and numpy": Trajectory(
        turns=[Turn(0, "o" * 40, "a" * 40, reward=float("nan"), info={"x": np.arange(3), "y": np.float32(1.5)})],
        messages=[{"role": "assistant", "content": "a" * 40}]),
}


@pytest.mark.parametrize("name", SHAPES)
def test_round_trip_is_exact(name, tmp_path):
    trajectory = SHAPES[name]
    want = expected(trajectory)
    assert through_json(trajectory).to_dict() == want.to_dict()
    if name != "non-finite and numpy":  # NaN != NaN; the dicts (with "nan" text) compare above
        assert through_json(trajectory) == want
    with TrajectoryWriter(tmp_path / "t.jsonl") as writer:
        writer.write(trajectory)
    reader = TrajectoryReader(tmp_path / "t.jsonl")
    assert [t.to_dict() for t in reader] == [want.to_dict()] and reader.bad_lines == []


def test_only_long_equal_contents_become_references():
    trajectory = chat(("short", "42"), ("x" * MIN_SHARED_CHARS, "y" * (MIN_SHARED_CHARS - 1)))
    messages = trajectory.to_dict()["messages"]
    assert messages[1:5] == [{"role": "user", "content": "short"}, {"role": "assistant", "content": "42"},
                             {"role": "user", "observation_of_turn": 1},
                             {"role": "assistant", "content": "y" * (MIN_SHARED_CHARS - 1)}]
    assert list(SHAPES["rewritten action"].to_dict()["messages"][0]) == ["role", "content"]
    assert trajectory.messages[3] == {"role": "user", "content": "x" * MIN_SHARED_CHARS}  # memory untouched


def test_the_reference_keeps_the_place_of_content_among_the_keys():
    message = {"role": "assistant", "content": "a" * 40, "name": "planner"}
    trajectory = Trajectory(turns=[Turn(0, "o", "a" * 40)], messages=[message])
    assert list(trajectory.to_dict()["messages"][0]) == ["role", "action_of_turn", "name"]
    assert list(through_json(trajectory).messages[0]) == ["role", "content", "name"]


OLD_RECORD = {  # written by hand the way version 1 wrote it: every content inline
    "version": 1, "env_id": "games/GuessTheNumber-v0", "task_id": "t0", "seed": 3, "group_id": None,
    "instructions": "Guess.", "terminated": True, "truncated": False, "success": True, "error": None,
    "created_at": "2024-05-01T00:00:00+00:00", "metadata": {"policy": "oracle"}, "policy": "oracle",
    "turns": [{"index": 0, "observation": "Guess a number between 1 and 100.", "action": "50" * 30, "reward": 1.0,
               "reward_components": {"outcome": 1.0}, "error": None, "info": {}, "seconds": 0.01,
               "action_span": None, "observation_span": None, "logprobs": None, "finish_reason": "stop",
               "generation_seconds": 0.0}],
    "messages": [{"role": "user", "content": "Guess a number between 1 and 100."},
                 {"role": "assistant", "content": "50" * 30},
                 {"role": "user", "action_of_turn": 0}],  # a version-1 message is never a reference
    "token_ids": None, "prompt_length": 0, "token_mismatches": 0, "return": 1.0,
}


@pytest.mark.parametrize("version", [1, None])
def test_files_written_by_version_one_still_load(version, tmp_path):
    record = dict(OLD_RECORD)
    if version is None:
        del record["version"]
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n", encoding="ascii")
    reader = TrajectoryReader(path)
    trajectories = list(reader)
    assert reader.bad_lines == [] and len(trajectories) == 2
    (old, _) = trajectories
    assert old.messages == OLD_RECORD["messages"] and old.turns[0].action == "50" * 30
    assert old.seed == 3 and old.success and old.episode_return == 1.0
    rewritten = old.to_dict()
    assert rewritten["messages"][1] == {"role": "assistant", "action_of_turn": 0}
    assert rewritten["messages"][2] == {"verbatim_message": {"role": "user", "action_of_turn": 0}}
    assert Trajectory.from_dict(rewritten) == old


@pytest.mark.parametrize("reference", [{"action_of_turn": 5}, {"action_of_turn": -1}, {"observation_of_turn": "0"},
                                       {"action_of_turn": True}, {"action_of_turn": 0, "observation_of_turn": 0}])
def test_a_reference_to_no_turn_is_a_damaged_line(reference, tmp_path):
    record = {**OLD_RECORD, "version": 2, "messages": [{"role": "assistant", **reference}]}
    with pytest.raises(ValueError, match="turn"):
        Trajectory.from_dict(record)
    path = tmp_path / "damaged.jsonl"
    good = json.dumps(Trajectory.from_dict(OLD_RECORD).to_dict())
    path.write_text("\n".join([good, json.dumps(record), good]) + "\n", encoding="ascii")
    reader = TrajectoryReader(path)
    assert len(list(reader)) == 2 and reader.bad_lines == [2]


def test_json_that_is_no_trajectory_is_a_skipped_line_not_an_episode(tmp_path):
    # A foreign line (another tool's log, a stray object) was read as an episode of an unknown
    # environment with no turns, and reports counted it.
    path = tmp_path / "mixed.jsonl"
    good = json.dumps(Trajectory.from_dict(OLD_RECORD).to_dict())
    path.write_text("\n".join([good, '{"garbage": 1}', "[1, 2]", '"text"', '{"turns": "no"}', good]) + "\n",
                    encoding="ascii")
    reader = TrajectoryReader(path)
    assert len(list(reader)) == 2 and reader.bad_lines == [2, 3, 4, 5]


def test_a_reference_to_a_turn_whose_text_is_not_text_is_damaged():
    record = {**OLD_RECORD, "version": 2, "turns": [{**OLD_RECORD["turns"][0], "action": ["not", "text"]}],
              "messages": [{"role": "assistant", "action_of_turn": 0}]}
    with pytest.raises(ValueError, match="action must be text"):
        Trajectory.from_dict(record)


def test_non_finite_numbers_read_back_as_floats():
    turn = Turn(0, "o", "a", reward=float("inf"), reward_components={"outcome": float("nan")},
                seconds=float("nan"), logprobs=[float("-inf"), -0.5])
    back = through_json(Trajectory(turns=[turn])).turns[0]
    assert back.reward == float("inf") and back.logprobs == [float("-inf"), -0.5]
    assert math.isnan(back.reward_components["outcome"]) and math.isnan(back.seconds)
    assert through_json(Trajectory(turns=[turn])).episode_return == float("inf")
