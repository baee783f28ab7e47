"""The search environment in the tools format (``search/MultiHopTools-v0``): the contract and
malformed tool calls, search/open/answer through the tool machinery, tool steps as full turns
(info fields, the turn budget, the answer ending the episode), replies without a tool call."""

from __future__ import annotations

import json

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.envs.search.tool_turns import SearchToolCalling
from agentgym.info import ErrorKind
from agentgym.testing import check_llm_env
from agentgym.tools.formats import HermesFormat
from agentgym.wrappers import ToolCalling, TurnLimit

HERMES = HermesFormat()
ENV_ID = "search/MultiHopTools-v0"


def call(name: str, **arguments) -> str:
    return HERMES.render(name, arguments)


@pytest.fixture
def tools_env(world_kwargs):
    made = []

    def make(**kwargs):
        env = agentgym.make(ENV_ID, **{**world_kwargs, **kwargs})
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


def test_made_with_one_tool_calling_layer(tools_env):
    env = tools_env()
    assert isinstance(env, TurnLimit) and isinstance(env.env, SearchToolCalling)
    layers, layer = [], env
    while hasattr(layer, "env"):
        layers.append(layer)
        layer = layer.env
    assert sum(isinstance(layer, ToolCalling) for layer in layers) == 1
    _, info = env.reset(seed=0)
    assert [tool["function"]["name"] for tool in info["tools"]] == ["search", "open", "answer"]
    assert "search(query)" in info["instructions"]
    with pytest.raises(ConfigError, match="sze"):
        agentgym.make(ENV_ID, sze=10)
    with pytest.raises(ConfigError, match="action_format"):
        agentgym.make(ENV_ID, action_format="tags")


def test_agentgym_contract_and_malformed_tool_calls(tools_env):
    check_llm_env(tools_env(), hostile=60)


def test_search_open_answer_are_full_turns(tools_env):
    env = tools_env(open_chars=150)
    env.reset(seed=0)
    assert env.unwrapped.task.hop_queries == ("Gefoba Ri Accord", "Ligo Belo Foundation")  # see test_search_env
    observation, reward, terminated, _, info = env.step(call("search", query="Gefoba Ri Accord"))
    assert (reward, terminated, info["error"]) == (0.0, False, None)
    assert info["retrieved"] == ["e0000199", "e0000198", "e0000055"] and info["gold_retrieved"] == ["e0000199"]
    assert info["searches"] == 1 and info["tool_results"][0]["ok"]
    assert "Doc 1 [e0000199] (Title: Gefoba Ri Accord) " in observation

    observation, _, _, _, info = env.step(call("open", doc_id="e0000473"))
    assert info["opened"] == ["e0000473"] and info["retrieved"] == [] and info["searches"] == 1
    content = info["tool_results"][0]["content"]
    assert content.startswith("[e0000473] Title: Ligo Belo Foundation\n\nLigo Belo Foundation (also known as LBF-0123)")
    assert "more characters not shown]" in content and len(content) < 300

    two = call("search", query="Ligo Belo Foundation") + call("answer", text="1841")
    observation, reward, terminated, truncated, info = env.step(two)
    assert (reward, terminated, truncated, info["success"]) == (1.0, True, False, True)
    assert info["reward_components"] == {"outcome": 1.0} and (info["answer"], info["em"]) == ("1841", 1.0)
    assert info["retrieved"] == ["e0000473", "e0000618", "e0000115"] and info["searches"] == 2
    episode = info["episode"]
    assert (episode["gold_recall"], episode["searches"], episode["answered"]) == (1.0, 2, True)
    assert episode["tools"]["calls"] == {"search": 2, "open": 1, "answer": 1}
    assert not env.unwrapped.episode_active


def test_tool_errors_and_caps(tools_env):
    env = tools_env(max_searches_per_turn=2, max_query_chars=20)
    env.reset(seed=0)
    three = "".join(call("search", query=q) for q in ("Gefoba Ri Accord", "x" * 500, "Ligo"))
    observation, _, _, _, info = env.step(three)
    results = info["tool_results"]
    assert [r["ok"] for r in results] == [True, True, False] and info["error_kind"] == ErrorKind.TOOL
    assert "(The query was cut to its first 20 characters.)" in results[1]["content"]
    assert results[2]["content"].startswith("Error: at most 2 searches run per turn")
    assert info["queries"] == ["Gefoba Ri Accord", "x" * 20] and info["searches"] == 2

    _, _, _, _, info = env.step(call("open", doc_id="e9999999\ud800" + "y" * 300))
    content = info["tool_results"][0]["content"]
    assert content.startswith('Error: no document has the id "e9999999?yyy') and "(309 characters)" in content
    assert "opened" not in info and info["error_kind"] == ErrorKind.TOOL

    answered_twice = call("answer", text="1841") + call("answer", text="1842") + call("search", query="x")
    _, reward, terminated, _, info = env.step(answered_twice)
    assert terminated and reward == 1.0 and info["answer"] == "1841"
    assert [r["ok"] for r in info["tool_results"]] == [True, False, False]
    assert "you have already answered" in info["tool_results"][1]["content"]


def test_replies_without_a_tool_call(tools_env):
    env = tools_env(turn_budget=3)
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step("I would search for the accord.")
    assert not terminated and info["error_kind"] == ErrorKind.FORMAT
    assert observation.startswith("No tool call found: the reply has no tool call.")
    assert '<tool_call>{"name": "search", "arguments": {"query": "your query"}}</tool_call>' in observation
    assert info["searches"] == 0 and env.unwrapped.turns_used == 1
    observation, _, _, _, info = env.step("<tool_call>{not json}</tool_call>")  # the wrapper's markup error
    assert info["error_kind"] == ErrorKind.FORMAT and observation.startswith("Tool call error:")
    assert info["retrieved"] == [] and env.unwrapped.turns_used == 2
    _, reward, terminated, _, info = env.step("The answer is <answer>1841</answer>")
    assert terminated and reward == 1.0 and info["answer"] == "1841"


def test_openai_messages_and_the_turn_budget(tools_env):
    env = tools_env(turn_budget=2)
    env.reset(seed=0)
    message = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "a", "type": "function", "function": {"name": "search", "arguments": json.dumps({"query": "Ligo"})}}]}
    _, _, terminated, _, info = env.step(message)
    assert not terminated and info["queries"] == ["Ligo"]
    observation, reward, terminated, truncated, info = env.step(call("search", query="Gefoba Ri Accord"))
    assert (reward, terminated, truncated) == (0.0, True, False)
    assert info["out_of_turns"] and observation.endswith("You are out of turns without an answer.")
    assert info["episode"]["answered"] is False and info["episode"]["searches"] == 2
    assert info["reward_components"] == {"outcome": 0.0}


def test_oracle_and_random_write_tool_calls(tools_env):
    env = tools_env()
    env.reset(seed=0)
    assert env.unwrapped.oracle_action() == call("search", query="Gefoba Ri Accord")
    assert env.unwrapped.answer_stub == '<tool_call>{"name": "answer", "arguments": {"text": "'
    import random
    actions = {env.unwrapped.random_action(random.Random(n)).split('"name": "')[1].split('"')[0] for n in range(40)}
    assert actions == {"search", "answer"}
