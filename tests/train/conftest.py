"""Fixtures for trainer tests: the FindTheWord world, its tokenizer, tiny models, real rollouts."""

from __future__ import annotations

import pytest

from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from tests.train.word_world import ENV_ID, register, tiny_model, word_tokenizer

ROLLOUT_TEMPERATURE = 0.7


@pytest.fixture(scope="session", autouse=True)
def _registered_world():
    register()


@pytest.fixture(scope="session")
def tokenizer():
    return word_tokenizer()


@pytest.fixture(scope="session")
def world_rollout(tokenizer):
    """Real token-exact trajectories of a tiny random model in FindTheWord (4 tasks x 4),
    sampled at ``ROLLOUT_TEMPERATURE``, and the model's seed (rebuild it with
    ``tiny_model(seed)`` to get the very weights that sampled them)."""
    policy = HFPolicy(tiny_model(0), tokenizer)
    config = RolloutConfig(group_size=4, system_prompt=None,
                           sampling=SamplingParams(max_tokens=2, temperature=ROLLOUT_TEMPERATURE, seed=3))
    result = rollout(policy, [Task(ENV_ID, seed=seed) for seed in range(4)], config, progress=False)
    assert all(t.token_exact for t in result.trajectories)
    return result.trajectories
