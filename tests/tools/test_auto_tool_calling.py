"""Environments that declare tools get tool calling from agentgym.make — and so from rollouts,
evaluate() and `agentgym eval` — without extra wrappers; environments without tools (every game)
are made exactly as before."""

from __future__ import annotations

import functools
import json
import runpy
from pathlib import Path

import gymnasium as gym
import pytest

import agentgym
from agentgym import ConfigError, Feedback, LLMEnv
from agentgym.tools import tool
from agentgym.wrappers import AnswerFormat, ToolCalling, WrapperSpec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_tool.py"
runpy.run_path(str(EXAMPLE))  # registers mine/Bill-v0 and the bill-v0 suite


def layers(env: gym.Env) -> list[str]:
    names = []
    while isinstance(env, gym.Wrapper):
        names.append(type(env).__name__)
        env = env.env
    return names + [type(env).__name__]


def call(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def test_make_puts_tool_calling_inside_the_turn_budget():
    assert layers(agentgym.make("mine/Bill-v0")) == ["TurnLimit", "ToolCalling", "Bill"]
    assert layers(agentgym.make("mine/Bill-v0", wrappers=[AnswerFormat])) == [
        "TurnLimit", "ToolCalling", "AnswerFormat", "Bill"]
    assert layers(agentgym.make("mine/Bill-v0", max_turns=None, episode_statistics=True)) == [
        "EpisodeStatistics", "ToolCalling", "Bill"]


@pytest.mark.parametrize("given", [ToolCalling, functools.partial(ToolCalling, max_calls_per_episode=3),
                                   WrapperSpec("ToolCalling", {"max_result_chars": 500})],
                         ids=["class", "partial", "spec"])
def test_a_tool_calling_the_caller_added_is_not_doubled(given):
    env = agentgym.make("mine/Bill-v0", wrappers=[given, AnswerFormat])
    assert layers(env).count("ToolCalling") == 1


def test_opting_out():
    assert layers(agentgym.make("mine/Bill-v0", tool_calling=False)) == ["TurnLimit", "Bill"]
    with pytest.raises(ConfigError, match="tool_calling must be True or False"):
        agentgym.make("mine/Bill-v0", tool_calling="no")


def test_every_game_is_made_as_before():
    games = agentgym.list_envs(family="games")
    assert len(games) >= 15
    for info in games:
        env = agentgym.make(info.id)
        assert env.unwrapped.all_tools() == (), f"{info.id} declares tools"
        assert layers(env) == ["TurnLimit", type(env.unwrapped).__name__], info.id
        # A tool-call lookalike still reaches the game, which refuses it as a move.
        env.reset(seed=0)
        _, _, _, _, step_info = env.step('<tool_call>{"name": "move", "arguments": {}}</tool_call>')
        assert "tool_results" not in step_info and "tool_stats" not in step_info, info.id
        env.close()


class MethodTools(LLMEnv):
    """Tools can be methods of the environment itself, reading the episode's state."""

    instructions = "Peek, then say the secret."

    def new_episode(self, options):
        self.secret = self.rng.choice(["red", "blue"])
        return "Guess the colour."

    def play(self, action):
        won = action.strip() == self.secret
        return Feedback("yes" if won else "no", {"outcome": float(won)}, terminated=True, success=won)

    @tool
    def peek(self) -> str:
        """Show the secret colour."""
        return self.secret


agentgym.register("testing/AutoMethodTools-v0", MethodTools, max_turns=3, override=True)


def test_an_environments_own_tool_methods_are_tools():
    env = agentgym.make("testing/AutoMethodTools-v0")
    _, info = env.reset(seed=3)
    assert [t["function"]["name"] for t in info["tools"]] == ["peek"]
    observation, _, _, _, _ = env.step(call("peek"))
    secret = env.unwrapped.secret
    assert observation == f"<tool_response>\n{secret}\n</tool_response>"
    assert env.step(secret)[1] == 1.0
    other = MethodTools()
    other.reset(seed=4)
    assert other.call_tool("peek", {}).content == other.secret  # bound to its own environment


@pytest.mark.parametrize("name", ["close", "play", "reset", "step", "new_episode", "render"])
def test_a_tool_method_may_not_replace_a_method_the_environment_inherits(name):
    # It did so silently: env.close() ran the tool (the episode's resources were never released),
    # step() crashed on the tool's string where play's Feedback belongs, reset(seed=) raised a
    # TypeError from the tool's signature.
    def method(self) -> str:
        """Do it."""
        return "done"

    with pytest.raises(TypeError, match=rf"Shadow: the @tool method {name!r} would replace the method "
                                        rf"[A-Za-z]+\.{name} it inherits; give the method another name"):
        type("Shadow", (LLMEnv,), {name: tool(method, name=name), "instructions": "x"})

    @tool(name=name)  # the agent may still see that name: only the attribute matters
    def renamed(self) -> str:
        """Do it."""
        return "done"

    kept = type("Renamed", (LLMEnv,), {"renamed": renamed, "instructions": "x"})
    assert kept._method_tools == ("renamed",)


def test_a_rollout_runs_the_tools_without_wrappers():
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import RolloutConfig, Task, rollout

    script = [call("peek"), "red"]
    result = rollout(ScriptedPolicy(script, then="red"), [Task("testing/AutoMethodTools-v0", seed=s) for s in range(4)],
                     RolloutConfig(), progress=False)
    for trajectory in result.trajectories:
        first, last = trajectory.turns[0], trajectory.turns[-1]
        assert first.info["tool_results"][0]["content"] in ("red", "blue")
        assert last.info["episode"]["tools"]["calls"] == {"peek": 1}
        assert trajectory.success == (first.info["tool_results"][0]["content"] == "red")


def test_evaluate_and_the_command_line_run_a_tool_environment(tmp_path, capsys):
    from agentgym.cli import main
    from agentgym.eval import evaluate

    evaluation = evaluate("oracle", "bill-v0", progress=False)
    assert len(evaluation.trajectories) == 5 and all(t.success for t in evaluation.trajectories)
    assert all(t.turns[0].info["tool_calls"] == 3 for t in evaluation.trajectories)  # three records at once

    # The file imported as a module registers its own Bill over the one run_path registered above.
    with pytest.warns(UserWarning, match=r"'mine/Bill-v0' was registered by <run_path>:Bill and is now "
                                         r"replaced by custom_tool:Bill \(override=True\)"):
        code = main(["--import", str(EXAMPLE), "eval", "--suite", "bill-v0", "--policy", "oracle", "--no-progress",
                     "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0 and "mine/Bill-v0" in out and "100%" in out
    lines = (tmp_path / "run" / "trajectories.jsonl").read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["success"] for line in lines)
