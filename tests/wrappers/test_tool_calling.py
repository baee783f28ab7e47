"""ToolCalling runs the agent's calls against the environment's tools and never crashes."""

from __future__ import annotations

import json

import pytest
from gymnasium.error import ResetNeeded
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.info import ErrorKind
from agentgym.wrappers import EpisodeStatistics, ToolCalling, TurnLimit


def call(name, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


@pytest.fixture
def env(calculator):
    env = ToolCalling(calculator)
    env.reset(seed=0)
    return env


def test_a_call_runs_the_tool_without_stepping_the_environment(env):
    observation, reward, terminated, truncated, info = env.step("Let me add. " + call("add", a=2, b=3))
    assert observation == "<tool_response>\n5\n</tool_response>"
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["tool_results"] == [
        {"tool_call_id": "call_0", "name": "add", "arguments": {"a": 2, "b": 3}, "content": "5", "ok": True}
    ]
    assert info["tool_calls"] == 1
    assert info["error"] is None and info["success"] is False and info["reward_components"] == {}
    assert "error_kind" not in info
    assert env.unwrapped.answers == []  # the game was not played


def test_several_calls_run_in_order_with_ids_counted_through_the_episode(env):
    _, _, _, _, info = env.step(call("add", a=1, b=1) + call("mul", a=3, b=4))
    assert [(r["tool_call_id"], r["content"]) for r in info["tool_results"]] == [("call_0", "2"), ("call_1", "12")]
    observation, _, _, _, info = env.step(call("facts", n=4))
    assert info["tool_results"][0]["tool_call_id"] == "call_2"
    assert json.loads(info["tool_results"][0]["content"]) == {"n": 4, "even": True}
    assert observation.count("<tool_response>") == 1
    env.reset()
    _, _, _, _, info = env.step(call("add", a=1, b=1))
    assert info["tool_results"][0]["tool_call_id"] == "call_0"


def test_openai_message_dict_with_calls(env):
    message = {"role": "assistant", "content": "",
               "tool_calls": [{"id": "q1", "type": "function",
                               "function": {"name": "mul", "arguments": '{"a": 6, "b": 7}'}}]}
    _, _, _, _, info = env.step(message)
    assert info["tool_results"][0]["tool_call_id"] == "q1" and info["tool_results"][0]["content"] == "42"
    _, _, _, _, info = env.step(json.dumps(message))
    assert info["tool_results"][0]["content"] == "42"


def test_unknown_tool_lists_the_available_ones(env):
    observation, _, _, _, info = env.step(call("sqrt", x=4))
    result = info["tool_results"][0]
    assert not result["ok"] and "unknown tool 'sqrt'" in result["content"]
    for name in ("add", "mul", "divide", "crash", "repeat", "facts"):
        assert name in result["content"]
    assert info["error"] == result["content"] and "sqrt" in observation


@pytest.mark.parametrize(
    ("arguments", "message_part"),
    [({"a": 1}, "missing required argument(s): b"),
     ({"a": 1, "b": 2, "c": 3}, "unknown argument(s): c"),
     ([1, 2], "must be a JSON object")],
)
def test_bad_arguments_are_an_error_result(env, arguments, message_part):
    action = f"<tool_call>{json.dumps({'name': 'add', 'arguments': arguments})}</tool_call>"
    _, _, _, _, info = env.step(action)
    assert not info["tool_results"][0]["ok"] and message_part in info["tool_results"][0]["content"]


def test_a_tool_raising_becomes_an_error_result(env):
    _, _, _, _, info = env.step(call("divide", a=1, b=0) + call("crash") + call("divide", a=1, b=4))
    first, second, third = info["tool_results"]
    assert not first["ok"] and first["content"] == "Error: cannot divide by zero"
    assert not second["ok"] and "RuntimeError: boom" in second["content"]
    assert third["ok"] and third["content"] == "0.25"
    assert info["error"] == first["content"]
    assert info["error_kind"] is ErrorKind.TOOL


def test_calls_beyond_the_episode_limit_are_refused(calculator):
    env = ToolCalling(calculator, max_calls_per_episode=2)
    env.reset(seed=0)
    _, _, _, _, info = env.step(call("add", a=1, b=1) + call("add", a=2, b=2) + call("add", a=3, b=3))
    assert [r["ok"] for r in info["tool_results"]] == [True, True, False]
    assert "limit of 2 tool calls" in info["tool_results"][2]["content"]
    _, _, _, _, info = env.step(call("add", a=1, b=1))
    assert not info["tool_results"][0]["ok"]
    env.reset()
    _, _, _, _, info = env.step(call("add", a=1, b=1))
    assert info["tool_results"][0]["ok"]


def test_long_results_are_truncated_with_a_visible_marker(calculator):
    env = ToolCalling(calculator, max_result_chars=100)
    env.reset(seed=0)
    _, _, _, _, info = env.step(call("repeat", n=1000))
    content = info["tool_results"][0]["content"]
    assert content.startswith("x" * 100) and content.endswith("…[truncated 900 characters]")
    assert info["tool_results"][0]["ok"]


@pytest.mark.parametrize("action", ["<tool_call>{not json}</tool_call>", '<tool_call>{"arguments": {}}</tool_call>',
                                    '<tool_call>{"name": "add"'])
def test_malformed_markup_is_an_error_observation_without_a_step(env, action):
    observation, reward, terminated, _, info = env.step(action)
    assert observation.startswith("Tool call error:") and "<tool_call>" in observation
    assert info["error"] and reward == 0.0 and not terminated and info["tool_calls"] == 0
    assert info["error_kind"] is ErrorKind.FORMAT
    assert "tool_results" not in info
    assert env.unwrapped.answers == []


def test_an_action_without_calls_reaches_the_environment(env):
    a, b = env.unwrapped.a, env.unwrapped.b
    observation, reward, terminated, _, info = env.step(str(a * b))
    assert observation == "Correct!" and reward == 1.0 and terminated and info["success"]
    assert "tool_results" not in info
    with pytest.raises(ResetNeeded):
        env.step(call("add", a=1, b=1))


def test_a_message_without_calls_passes_its_content(env):
    a, b = env.unwrapped.a, env.unwrapped.b
    _, reward, _, _, _ = env.step({"role": "assistant", "content": str(a * b)})
    assert reward == 1.0 and env.unwrapped.answers == [str(a * b)]


def test_inner_episode_statistics_count_the_calls(calculator):
    env = ToolCalling(EpisodeStatistics(TurnLimit(calculator, 5)))
    env.reset(seed=0)
    env.step(call("mul", a=2, b=2) + call("add", a=1, b=1))
    env.step(call("add", a=1, b=1))
    _, _, terminated, _, info = env.step(str(calculator.a * calculator.b))
    assert terminated and info["episode"]["tool_calls"] == 3 and info["episode"]["turns"] == 1


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet='<>/tool_call{}":, nameadbrgs0123x', max_size=120))
def test_never_raises_on_garbage(calculator_class, action):
    env = ToolCalling(calculator_class())
    env.reset(seed=0)
    observation, reward, _, _, info = env.step(action)
    assert isinstance(observation, str) and isinstance(reward, float)
    assert {"error", "success", "reward_components"} <= info.keys()


# ------------------------------------------------------------------ bounded output
def test_a_huge_unknown_tool_name_is_echoed_cut_with_its_length(env):
    name = "n" * 100_000
    observation, _, _, _, info = env.step(call(name))
    assert len(observation) < 1_000, len(observation)
    assert "(100000 characters)" in observation and "…" in observation
    assert "Available tools: add, crash, divide" in observation
    assert len(info["tool_results"][0]["name"]) < 200 and len(info["error"]) < 1_000


def test_unknown_argument_names_in_an_error_are_cut(env):
    arguments = {f"arg{i:04d}" + "x" * 50: i for i in range(2_000)}
    arguments.update(a=1, b=2)
    observation, _, _, _, info = env.step(call("add", **arguments))
    assert "unknown argument" in observation and len(observation) < 1_000
    assert info["tool_results"][0]["ok"] is False


def test_calls_past_the_per_action_cap_are_refused_in_one_result(calculator):
    env = ToolCalling(calculator, max_calls_per_action=3)
    env.reset(seed=0)
    observation, _, _, _, info = env.step(call("add", a=1, b=1) * 2_000)
    assert info["tool_calls"] == 3 and info["tool_calls_refused"] == 1_997
    assert info["tool_calls_in_episode"] == 3, "refused calls did not run"
    assert [r["ok"] for r in info["tool_results"]] == [True, True, True, False]
    assert "1997 more tool calls were not run: at most 3 tool calls run per action" in observation
    assert observation.count("<tool_response>") == 4 and len(observation) < 1_000
    assert info["error"].startswith("Error: 1997 more tool calls")


def test_the_default_cap_bounds_an_action_of_2000_unknown_calls(env):
    observation, _, _, _, info = env.step(call("x" * 100) * 2_000)
    assert info["tool_calls"] == env.max_calls_per_action == 16
    assert len(observation) < 10_000, len(observation)


def test_the_results_of_one_step_share_a_character_budget(calculator):
    env = ToolCalling(calculator, max_result_chars=10_000, max_observation_chars=15_000)
    env.reset(seed=0)
    observation, _, _, _, info = env.step(call("repeat", n=9_000) * 3)
    contents = [r["content"] for r in info["tool_results"]]
    assert len(contents[0]) == 9_000 and contents[1].startswith("x" * 6_000) and "cut 3000 characters" in contents[1]
    assert contents[2].startswith("\n…[cut 9000 characters")
    assert sum(c.count("x") for c in contents) == 15_000
    assert len(observation) < 15_000 + 3 * 200


@pytest.mark.parametrize("option, value", [("max_calls_per_action", 0), ("max_observation_chars", True),
                                           ("max_result_chars", "10"), ("max_calls_per_episode", -1)])
def test_caps_must_be_positive_integers(calculator, option, value):
    with pytest.raises(ValueError, match=option):
        ToolCalling(calculator, **{option: value})


def test_caps_take_numpy_integers_as_integers(calculator):
    """A cap read from a NumPy array or config is an integer like any other (a bool is not)."""
    import numpy as np

    env = ToolCalling(calculator, max_calls_per_episode=np.int64(2), max_calls_per_action=np.int32(3))
    env.close()
    with pytest.raises(ValueError, match="max_calls_per_episode"):
        ToolCalling(calculator, max_calls_per_episode=True)


# ------------------------------------------------------------------ a plain Gymnasium environment
def test_a_gymnasium_env_with_a_tools_list_gets_checked_calls():
    import gymnasium as gym

    from agentgym import Tool
    from agentgym.spaces import UnicodeText

    class Plain(gym.Env):
        observation_space, action_space = UnicodeText(), UnicodeText()
        tools = (Tool("double", "Double n.", lambda n: 2 * n,
                      {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}),)

        def reset(self, *, seed=None, options=None):
            return "go", {}

        def step(self, action):
            return "moved", 0.0, False, False, {"reward_components": {}, "error": None, "success": False}

    env = ToolCalling(Plain())
    env.reset()
    assert env.step(call("double", n=21))[0] == "<tool_response>\n42\n</tool_response>"
    _, _, _, _, info = env.step(call("double", n="x"))
    assert info["tool_results"][0]["content"] == "Error: argument 'n' of double must be an integer, got the string 'x'."
    assert "Available tools: double" in env.step(call("triple"))[0]
    assert env.step("a move")[0] == "moved"
