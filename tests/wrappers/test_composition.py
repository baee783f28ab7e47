"""The wrappers stacked over agentgym.make(...) play a whole episode together."""

from __future__ import annotations

import re

import pytest

import agentgym
from agentgym import Tool
from agentgym.testing import check_hostile_actions
from agentgym.trajectory import read_trajectories
from agentgym.wrappers import AnswerFormat, ChatHistory, ToolCalling, TrajectoryRecorder

MIDPOINT = Tool(
    "midpoint", "The whole number halfway between low and high.", lambda low, high: (low + high) // 2,
    {"type": "object", "properties": {"low": {"type": "integer"}, "high": {"type": "integer"}},
     "required": ["low", "high"]},
)


def stack(order: str, path):
    game = agentgym.make("games/GuessTheNumber-v0", difficulty="easy", episode_statistics=True)
    game.unwrapped.tools = (MIDPOINT,)
    inner = ToolCalling(AnswerFormat(game))
    if order == "history outside":
        return ChatHistory(TrajectoryRecorder(inner, path), max_context_chars=20_000)
    return TrajectoryRecorder(ChatHistory(inner, max_context_chars=20_000), path)


def find_recorder(env) -> TrajectoryRecorder:
    while not isinstance(env, TrajectoryRecorder):
        env = env.env
    return env


@pytest.mark.parametrize("order", ["history outside", "recorder outside"])
def test_a_full_episode_through_every_wrapper(tmp_path, order):
    path = tmp_path / "episodes.jsonl"
    env = stack(order, path)
    _, info = env.reset(seed=4)
    assert info["tools"][0]["function"]["name"] == "midpoint"
    assert "<answer>...</answer>" in info["messages"][1]["content"]

    # A format slip and a broken call cost nothing in the game; then binary search with the tool.
    _, reward, _, _, info = env.step("It is probably 5.")
    assert reward == pytest.approx(-0.1) and info["format_ok"] is False
    _, _, _, _, info = env.step("<tool_call>{midpoint}</tool_call>")
    assert info["error"] and env.unwrapped.guesses == 0

    low, high, steps, calls = 1, 20, 2, 0
    while True:
        observation, _, _, _, info = env.step(
            f'<tool_call>{{"name": "midpoint", "arguments": {{"low": {low}, "high": {high}}}}}</tool_call>')
        guess = int(info["tool_results"][0]["content"])
        observation, reward, terminated, truncated, info = env.step(f"Halfway: <answer>{guess}</answer>")
        steps, calls = steps + 2, calls + 1
        if terminated or truncated:
            break
        if "higher" in observation:
            low = guess + 1
        else:
            high = guess - 1

    assert terminated and info["success"] and reward == 1.0 and info["format_ok"]
    assert info["episode"]["tool_calls"] == calls and info["episode"]["turns"] == calls
    assert env.unwrapped.guesses == calls

    messages = info["messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user"] + ["assistant", "user"] * 2 + ["assistant", "tool", "assistant", "user"] * calls
    assert messages[-1]["content"] == observation and messages[-2]["content"].endswith(f"<answer>{guess}</answer>")
    assert all(m["tool_calls"][0]["function"]["name"] == "midpoint" for m in messages[6::4])
    assert info["context_overflow"] is False

    env.close()
    [trajectory] = read_trajectories(path)
    assert trajectory == find_recorder(env).trajectories[0]
    assert len(trajectory.turns) == steps and trajectory.success and trajectory.terminated
    assert trajectory.episode_return == pytest.approx(1.0 - 0.1)
    assert trajectory.turns[0].error.startswith("Format error")
    assert trajectory.turns[2].info["tool_results"][0]["name"] == "midpoint"
    assert all("messages" not in t.info for t in trajectory.turns)
    assert re.search(r"<answer>\.\.\.</answer>", trajectory.instructions)


@pytest.mark.parametrize("order", ["history outside", "recorder outside"])
def test_the_stack_survives_hostile_actions(tmp_path, order):
    env = stack(order, tmp_path / "hostile.jsonl")
    check_hostile_actions(env, 300)
    messages = env.get_wrapper_attr("messages")
    assert messages[0]["role"] == "system" and messages[-1]["role"] in ("user", "tool")
    env.close()
    assert read_trajectories(tmp_path / "hostile.jsonl")
