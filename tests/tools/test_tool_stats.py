"""Per-episode tool statistics: calls, errors and seconds by tool, in info and at episode end."""

from __future__ import annotations

import json
import time

from agentgym import Feedback, LLMEnv
from agentgym.tools import ToolError, tool
from agentgym.wrappers import EpisodeStatistics, ToolCalling, TurnLimit


def call(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


@tool
def nap(seconds: float) -> str:
    """Sleep a little."""
    time.sleep(seconds)
    return "rested"


@tool
def fail() -> str:
    """Always fails."""
    raise ToolError("no")


class Napping(LLMEnv):
    instructions = "Say done."
    tools = (nap, fail)

    def new_episode(self, options):
        return "go"

    def play(self, action):
        return Feedback("ok", {"outcome": 1.0}, terminated=action == "done", success=action == "done")


EMPTY = {"calls": {}, "errors": {}, "seconds": {}, "unknown_tool_calls": 0, "refused_calls": 0,
         "malformed_actions": 0}


def test_counts_by_tool_on_every_step_and_in_the_episode_summary():
    env = ToolCalling(Napping(), max_calls_per_action=2, max_calls_per_episode=5)
    env.reset(seed=0)
    _, _, _, _, info = env.step("thinking")
    assert info["tool_stats"] == EMPTY and "episode" not in info
    _, _, _, _, info = env.step(call("nap", seconds=0.05) + call("fail"))
    stats = info["tool_stats"]
    assert stats["calls"] == {"nap": 1, "fail": 1} and stats["errors"] == {"fail": 1}
    assert stats["seconds"]["nap"] >= 0.05 and stats["seconds"]["fail"] < 0.05
    env.step(call("nap", seconds="x") + call("ghost") + call("nap", seconds=0))  # 1 refused by the action cap
    env.step("<tool_call>{broken</tool_call>")
    _, _, _, _, info = env.step(call("nap", seconds=0) + call("nap", seconds=0))  # the 6th call: episode limit
    _, _, terminated, _, info = env.step("done")
    assert terminated
    summary = info["episode"]["tools"]
    assert summary["calls"] == {"nap": 3, "fail": 1} and summary["errors"] == {"fail": 1, "nap": 1}
    assert summary["unknown_tool_calls"] == 1 and summary["refused_calls"] == 2 and summary["malformed_actions"] == 1
    assert summary == info["tool_stats"] and json.loads(json.dumps(summary)) == summary
    env.reset()
    assert env.tool_stats == EMPTY


def test_an_inner_episode_statistics_gets_the_tools_beside_its_own_summary():
    env = ToolCalling(EpisodeStatistics(TurnLimit(Napping(), 3)))
    env.reset(seed=0)
    env.step(call("nap", seconds=0))
    env.step("wait")
    env.step("wait")
    _, _, _, truncated, info = env.step("wait")
    assert truncated
    assert info["episode"]["tool_calls"] == 1 and info["episode"]["turns"] == 3
    assert info["episode"]["tools"]["calls"] == {"nap": 1}


def test_a_turn_budget_outside_leaves_the_totals_in_the_last_steps_tool_stats():
    env = TurnLimit(ToolCalling(Napping()), 2)
    env.reset(seed=0)
    env.step(call("fail"))
    _, _, _, truncated, info = env.step(call("nap", seconds=0))
    assert truncated and info["tool_stats"]["calls"] == {"fail": 1, "nap": 1}
