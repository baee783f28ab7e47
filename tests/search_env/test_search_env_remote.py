"""The search environment over a remote retriever (a real retrieval server on loopback serving the
test world's BM25 index): results equal the in-process index's, and when the server goes down
every failed search or read is an observation that says so while the episode goes on."""

from __future__ import annotations

import pytest

from agentgym.envs.search.env import SearchEnv
from agentgym.envs.search.retrievers import world_retriever
from agentgym.envs.search.tool_turns import SearchToolCalling
from agentgym.info import ErrorKind
from agentgym.retrieval.client import RemoteRetriever
from agentgym.retrieval.server import serve_retriever
from agentgym.tools.formats import HermesFormat

HERMES = HermesFormat()


@pytest.fixture
def served(world_kwargs):
    """A retrieval server over the shared index of the test world, and a client of it."""
    index = world_retriever(world_kwargs["size"], world_kwargs["seed"], world_kwargs["cache_dir"])
    server = serve_retriever(index)
    remote = RemoteRetriever(server.url, timeout=5.0)
    yield server, remote
    remote.close()
    server.close()


def test_remote_results_equal_the_local_index(make_env, served):
    _, remote = served
    local, distant = make_env(), make_env(retriever=remote)
    assert distant.retriever is remote and local.retriever is not remote
    for seed in range(5):
        local.reset(seed=seed)
        distant.reset(seed=seed)
        while local.episode_active:
            action = local.oracle_action()
            assert distant.oracle_action() == action
            assert local.step(action) == distant.step(action)


def test_a_server_down_is_an_observation_and_the_episode_goes_on(make_env, served):
    server, remote = served
    env = make_env(retriever=remote)
    env.reset(seed=0)
    _, _, _, _, info = env.step("<search>Gefoba Ri Accord</search>")
    assert info["retrieved"][0] == "e0000199" and "retrieval_error" not in info
    server.close()
    observation, reward, terminated, _, info = env.step("<search>Ligo Belo Foundation</search>")
    assert (reward, terminated, info["error"]) == (0.0, False, None)
    assert observation.startswith('Search error: the search for "Ligo Belo Foundation" failed (')
    assert observation.endswith("Try again.") and server.url in info["retrieval_error"]
    assert info["queries"] == ["Ligo Belo Foundation"] and info["retrieved"] == [] and info["searches"] == 2
    _, reward, terminated, _, info = env.step("<answer>1841</answer>")
    assert terminated and reward == 1.0 and info["episode"]["gold_recall"] == 0.5


def test_a_server_down_in_the_tools_format(world_kwargs, served):
    server, remote = served
    env = SearchToolCalling(SearchEnv(**world_kwargs, action_format="tools", retriever=remote))
    env.reset(seed=0)
    server.close()
    _, _, terminated, _, info = env.step(HERMES.render("search", {"query": "Gefoba Ri Accord"}))
    [result] = info["tool_results"]
    assert not terminated and not result["ok"] and info["error_kind"] == ErrorKind.TOOL
    assert result["content"].startswith('Error: Search error: the search for "Gefoba Ri Accord" failed (')
    assert "retrieval_error" in info and info["searches"] == 1 and info["retrieved"] == []
    _, _, _, _, info = env.step(HERMES.render("open", {"doc_id": "e0000199"}))
    assert info["tool_results"][0]["content"].startswith("Error: the document could not be read (")
    assert "opened" not in info
    env.close()
