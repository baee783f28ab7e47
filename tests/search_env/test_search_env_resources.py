"""Resources of the search environments: every environment of the process shares one open index
per corpus, and many episodes (made one environment each, as the rollout engine does, in both
formats, and through the engine itself) leave no thread, file descriptor or child process
behind; a retrieval server and its client release theirs when closed."""

from __future__ import annotations

import agentgym
from agentgym.envs.search.retrievers import world_retriever
from agentgym.policies.random import RandomPolicy
from agentgym.retrieval.client import RemoteRetriever
from agentgym.retrieval.server import serve_retriever
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.testing import play_episode, random_agent

ENV_IDS = ("search/MultiHop-v0", "search/MultiHopTools-v0")


def _warm(world_kwargs: dict) -> None:
    """Open the shared index and run one episode of each format (imports, lazy caches)."""
    for env_id in ENV_IDS:
        env = agentgym.make(env_id, **world_kwargs)
        play_episode(env, random_agent(0), seed=0)
        env.close()


def test_environments_share_one_index(world_kwargs):
    envs = [agentgym.make(env_id, **world_kwargs) for env_id in ENV_IDS for _ in range(3)]
    shared = world_retriever(world_kwargs["size"], world_kwargs["seed"], world_kwargs["cache_dir"])
    assert all(env.unwrapped.retriever is shared for env in envs)
    for env in envs:
        env.close()
    assert not shared.closed  # environments never close the shared index
    other = agentgym.make(ENV_IDS[0], **{**world_kwargs, "size": 400})
    assert other.unwrapped.retriever is not shared and len(other.unwrapped.retriever) == 400
    other.close()


def test_many_episodes_leak_nothing(world_kwargs, resources):
    _warm(world_kwargs)
    probe = type(resources)()  # after the warm-up: the shared index stays open on purpose
    for n in range(120):
        env = agentgym.make(ENV_IDS[n % 2], **world_kwargs)
        run = play_episode(env, random_agent(n), seed=n)
        assert run["terminated"] or run["truncated"]
        env.close()
    probe.assert_released()


def test_rollouts_through_the_engine_leak_nothing(world_kwargs, resources):
    _warm(world_kwargs)
    probe = type(resources)()
    tasks = [Task(env_id, seed, dict(world_kwargs)) for env_id in ENV_IDS for seed in range(10)]
    result = rollout(RandomPolicy(seed=1), tasks, RolloutConfig(group_size=2, max_concurrent_episodes=8),
                     progress=False)
    assert result.stats["episodes"] == 40 and result.stats["errors"] == 0
    probe.assert_released()


def test_a_served_index_and_its_client_are_released(world_kwargs, resources):
    _warm(world_kwargs)
    probe = type(resources)()
    index = world_retriever(world_kwargs["size"], world_kwargs["seed"], world_kwargs["cache_dir"])
    with serve_retriever(index) as server, RemoteRetriever(server.url) as remote:
        env = agentgym.make(ENV_IDS[1], **world_kwargs, retriever=remote)
        for seed in range(10):
            play_episode(env, random_agent(seed), seed=seed)
        env.close()
    probe.assert_released()
