"""The episode's tool statistics reach ``info["episode"]`` under EpisodeStatistics, also when the
turn budget (outside ToolCalling) ends the episode, and the trajectory's metadata in rollouts."""

from __future__ import annotations

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.tools import tool


class Lookup(LLMEnv):
    instructions = "Look things up, then say done."

    def new_episode(self, options):
        return "start"

    def play(self, action):
        return Feedback("ok", {"outcome": 1.0}, terminated=action == "done", success=action == "done")

    @tool
    def lookup(self, key: str) -> str:
        """Look a key up.

        Args:
            key: what to look up.
        """
        return key.upper()


agentgym.register("testing/LookupStats-v0", Lookup, max_turns=3)

CALL = '<tool_call>{"name": "lookup", "arguments": {"key": "a"}}</tool_call>'
BAD = '<tool_call>{"name": "lookup", "arguments": {"key": 5}}</tool_call>'


def test_episode_statistics_keeps_the_tool_totals_when_the_turn_budget_ends_the_episode():
    env = agentgym.make("testing/LookupStats-v0", episode_statistics=True)
    env.reset(seed=0)
    env.step(CALL)
    env.step(BAD)
    *_, truncated, info = env.step(CALL)  # the third turn: TurnLimit truncates
    assert truncated
    tools = info["episode"]["tools"]
    assert tools["calls"]["lookup"] == 3 and tools["errors"]["lookup"] == 1
    assert info["episode"]["turns"] == 3 and info["episode"]["tool_calls"] == 3
    env.close()


def test_a_rollout_records_the_tool_totals_in_the_trajectory():
    result = rollout(ScriptedPolicy([CALL, "done"]), [Task("testing/LookupStats-v0", 0)], RolloutConfig(), progress=False)
    stats = result.trajectories[0].metadata["tool_stats"]
    assert stats["calls"] == {"lookup": 1} and result.trajectories[0].success
