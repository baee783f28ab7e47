"""Seeded runs are reproducible on one machine (see the docstrings of ``agentgym.policies.hf`` and
``agentgym.rollout.batcher`` for exactly what is guaranteed).

- A seeded rollout, run twice, gives the same batches and bit-identical token ids and
  log-probs, even when its environments take a random, different time for each step (lockstep
  batching: timing never decides which requests share a batch).
- With ``HFPolicy(batch_invariant=True)`` a request's result does not depend on its batch-mates,
  so a seeded rollout gives the same trajectories at any concurrency.

A tiny random Llama over a tiny byte-level BPE keeps every test to a few seconds.
"""

from __future__ import annotations

import random
import time

import gymnasium as gym
import pytest
import torch

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from tests.policies.conftest import make_tiny_model
from tests.rewards.tiny_lm import tiny_tokenizer

SAMPLING = SamplingParams(max_tokens=12, temperature=1.0, seed=0)
TASKS = [Task("games/GuessTheNumber-v0", 0, {"difficulty": "easy"}), Task("games/Wordle-v0", 1),
         Task("games/FrozenLake-v0", 2, {"difficulty": "easy"})]
PROMPTS = ["hi", "Guess a number between 1 and 20. Answer with the number only.",
           "The secret word is crane. " * 6, "You are an agent acting in an interactive environment."]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One thread: a tiny model gains nothing from more, and on busy shared cores OpenMP's
    spinning threads slow it tenfold. (Results are compared within one thread count only.)"""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class BatchRecorder(HFPolicy):
    """HFPolicy that records the request seeds of every call it gets, in order."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[list[int | None]] = []

    async def agenerate(self, requests, sampling):
        self.batches.append([request.seed for request in requests])
        return await super().agenerate(requests, sampling)


class Jitter(gym.Wrapper):
    """Each step takes a random 0-15 ms more, drawn from ``timing`` (not the episode's seed):
    runs with different ``timing`` generators interleave their episodes differently."""

    def __init__(self, env: gym.Env, timing: random.Random) -> None:
        super().__init__(env)
        self.timing = timing

    def step(self, action):
        time.sleep(self.timing.uniform(0, 0.015))
        return self.env.step(action)


def policy(**kwargs) -> BatchRecorder:
    tokenizer = tiny_tokenizer()
    return BatchRecorder(make_tiny_model(len(tokenizer), max_position_embeddings=2048), tokenizer, name="tiny",
                         **kwargs)


def seeded_rollout(agent: HFPolicy, *, concurrency: int, timing_seed: int):
    timing = random.Random(timing_seed)
    config = RolloutConfig(group_size=2, max_turns=3, sampling=SAMPLING, max_concurrent_episodes=concurrency,
                           wrappers=[lambda env: Jitter(env, timing)])
    return rollout(agent, TASKS, config, progress=False)


def fingerprint(result) -> list[tuple]:
    """What a trainer reads of each trajectory: its tokens, log-probs, actions and rewards."""
    return [(t.env_id, t.seed, t.metadata["rollout_index"], t.token_ids, [turn.logprobs for turn in t.turns],
             [turn.action for turn in t.turns], [turn.reward for turn in t.turns], t.error)
            for t in result.trajectories]


def test_a_seeded_rollout_is_reproducible_whatever_the_timing():
    first_policy, second_policy = policy(), policy()
    first = seeded_rollout(first_policy, concurrency=4, timing_seed=1)
    second = seeded_rollout(second_policy, concurrency=4, timing_seed=2)
    assert first.stats["errors"] == 0 and first.stats["token_mismatches"] == 0
    assert all(len(t.turns) >= 1 and t.token_ids for t in first.trajectories)
    # The same requests shared the same policy calls, in the same order...
    assert first_policy.batches == second_policy.batches
    assert max(map(len, first_policy.batches)) > 1  # ...and they really were batched
    # ...so every token and log-prob is bit-identical (== on floats, not approx).
    assert fingerprint(first) == fingerprint(second)


def test_batch_invariant_rollouts_do_not_depend_on_the_concurrency():
    wide_policy, narrow_policy = policy(batch_invariant=True), policy(batch_invariant=True)
    wide = seeded_rollout(wide_policy, concurrency=6, timing_seed=3)
    narrow = seeded_rollout(narrow_policy, concurrency=2, timing_seed=4)
    assert wide.stats["errors"] == 0
    assert wide_policy.batches != narrow_policy.batches  # other batch-mates for most requests
    assert max(map(len, narrow_policy.batches)) == 2 and max(map(len, wide_policy.batches)) == 6
    assert fingerprint(wide) == fingerprint(narrow)


@pytest.mark.parametrize("sampling", [SamplingParams(max_tokens=16, temperature=0),
                                      SamplingParams(max_tokens=16, temperature=1.0, top_p=0.9, seed=5)],
                         ids=["greedy", "seeded"])
def test_batch_invariant_requests_get_the_same_result_alone_or_in_any_batch(sampling):
    agent = policy(batch_invariant=True)
    requests = [Request([{"role": "user", "content": text}], seed=100 + i) for i, text in enumerate(PROMPTS)]
    alone = [agent.generate([request], sampling)[0] for request in requests]
    assert len({len(g.prompt_token_ids) for g in alone}) == len(PROMPTS)  # a batch of them needs padding
    batched = agent.generate(requests, sampling)
    shuffled = agent.generate(requests[::-1] + requests[:2], sampling)
    for i, generation in enumerate(alone):
        assert len(generation.token_ids) == 16
        for other in (batched[i], shuffled[len(PROMPTS) - 1 - i]):
            assert (other.token_ids, other.logprobs) == (generation.token_ids, generation.logprobs)
    assert (shuffled[-2].token_ids, shuffled[-2].logprobs) == (alone[0].token_ids, alone[0].logprobs)


def test_the_same_batch_gives_bit_identical_results():
    agent = policy()
    requests = [Request([{"role": "user", "content": text}], seed=7 + i) for i, text in enumerate(PROMPTS)]
    first, second = agent.generate(requests, SAMPLING), agent.generate(requests, SAMPLING)
    assert [(g.token_ids, g.logprobs) for g in first] == [(g.token_ids, g.logprobs) for g in second]
