"""The tools format treats an empty answer or query as the tags format does: a mistake the agent
is told about, not an answer that ends the episode with exact match 0 (nor a search that counts
against the caps and the search cost)."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.info import ErrorKind
from agentgym.tools.formats import HermesFormat

HERMES = HermesFormat()


@pytest.fixture
def tools_env(world_kwargs):
    env = agentgym.make("search/MultiHopTools-v0", turn_budget=4, **world_kwargs)
    yield env
    env.close()


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_answer_call_is_a_tool_error_and_the_episode_goes_on(tools_env, world_kwargs, text):
    tools_env.reset(seed=0)
    observation, reward, terminated, truncated, info = tools_env.step(HERMES.render("answer", {"text": text}))
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["error_kind"] == ErrorKind.TOOL and "answer" not in info
    assert "the answer is empty" in observation and tools_env.unwrapped.turns_used == 1
    # As in the tags format, where an empty <answer> block is a format error:
    tags = agentgym.make("search/MultiHop-v0", **world_kwargs)
    tags.reset(seed=0)
    assert not tags.step(f"<answer>{text}</answer>")[2]
    tags.close()
    # The agent can still answer.
    _, reward, terminated, _, info = tools_env.step(HERMES.render("answer", {"text": tools_env.unwrapped.reference_answer}))
    assert terminated and reward == 1.0 and info["success"]


@pytest.mark.parametrize("query", ["", "  ", "\x00\x01"])
def test_an_empty_search_call_is_a_tool_error_not_a_search(tools_env, query):
    tools_env.reset(seed=0)
    observation, _, terminated, _, info = tools_env.step(HERMES.render("search", {"query": query}))
    assert not terminated and info["error_kind"] == ErrorKind.TOOL
    assert "the query is empty" in observation
    assert info["queries"] == [] and info["searches"] == 0
