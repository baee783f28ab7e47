"""Multi-turn rollouts through agentgym.rollout with prefix caching on and off: the same tokens
(greedy, and seeded sampling), log-probs within rounding (conftest's tolerance), fewer tokens
prefilled, memory within the budget, and batch-invariant rollouts still independent of the
concurrency."""

from __future__ import annotations

import pytest

from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import HFPolicy, kv_bytes_per_token
from agentgym.rollout import RolloutConfig, Task, rollout
from tests.policies_prefix_cache.conftest import LOGPROB_TOLERANCE

TASKS = [Task("games/GuessTheNumber-v0", 0, {"difficulty": "easy"}), Task("games/Wordle-v0", 1),
         Task("games/FrozenLake-v0", 2, {"difficulty": "easy"})]


def play(policy: HFPolicy, sampling: SamplingParams, *, concurrency: int = 8):
    config = RolloutConfig(group_size=2, max_turns=4, sampling=sampling, max_concurrent_episodes=concurrency)
    result = rollout(policy, TASKS, config, progress=False)
    assert result.stats["errors"] == 0 and result.stats["token_mismatches"] == 0
    return result


def compare(cached, full) -> float:
    """Assert the same trajectories token for token; return the largest |log-prob difference|."""
    worst = 0.0
    assert len(cached.trajectories) == len(full.trajectories) == 2 * len(TASKS)
    for a, b in zip(cached.trajectories, full.trajectories):
        assert (a.env_id, a.seed, a.token_ids) == (b.env_id, b.seed, b.token_ids)
        assert [turn.action for turn in a.turns] == [turn.action for turn in b.turns]
        for x, y in zip(a.turns, b.turns):
            worst = max([worst, *(abs(p - q) for p, q in zip(x.logprobs, y.logprobs, strict=True))])
    return worst


@pytest.mark.parametrize("sampling", [SamplingParams(max_tokens=12, temperature=0),
                                      SamplingParams(max_tokens=12, temperature=1.0, seed=4)],
                         ids=["greedy", "seeded"])
def test_a_rollout_gives_the_same_trajectories_with_the_cache_on_and_off(model, tokenizer, sampling):
    on, off = HFPolicy(model, tokenizer), HFPolicy(model, tokenizer, prefix_cache=False)
    cached, full = play(on, sampling), play(off, sampling)
    assert compare(cached, full) <= LOGPROB_TOLERANCE
    with_cache, without = on.prefix_cache.stats, off.prefix_cache.stats
    turns = sum(len(t.turns) for t in cached.trajectories)
    assert turns > 2 * len(TASKS)  # multi-turn: later turns exist to reuse prefixes
    assert with_cache.hits == turns - 2 * len(TASKS) and with_cache.misses == 2 * len(TASKS)
    assert with_cache.tokens_reused + with_cache.tokens_prefilled == without.tokens_prefilled
    assert with_cache.tokens_prefilled < without.tokens_prefilled / 2


def test_a_tight_budget_evicts_and_still_gives_the_same_trajectories(model, tokenizer):
    sampling = SamplingParams(max_tokens=12, temperature=0)
    full = play(HFPolicy(model, tokenizer, prefix_cache=False), sampling)
    # Room for two of the six episodes' longest sequences: they keep evicting one another.
    budget = 2 * max(len(t.token_ids) for t in full.trajectories) * kv_bytes_per_token(model)
    tight = HFPolicy(model, tokenizer, prefix_cache_bytes=budget)
    cached = play(tight, sampling)
    assert compare(cached, full) <= LOGPROB_TOLERANCE
    stats = tight.prefix_cache.stats
    assert stats.evictions > 0 and stats.hits > 0 and stats.misses > 2 * len(TASKS)
    assert stats.peak_bytes <= budget


def test_batch_invariant_cached_rollouts_do_not_depend_on_the_concurrency(model, tokenizer):
    sampling = SamplingParams(max_tokens=12, temperature=1.0, seed=0)
    wide = play(HFPolicy(model, tokenizer, batch_invariant=True), sampling, concurrency=6)
    narrow_policy = HFPolicy(model, tokenizer, batch_invariant=True)
    narrow = play(narrow_policy, sampling, concurrency=2)
    assert narrow_policy.prefix_cache.stats.hits > 0
    # Bit-identical: every stored sequence was computed alone, whatever ran beside it.
    assert [(t.token_ids, [turn.logprobs for turn in t.turns]) for t in wide.trajectories] == [
        (t.token_ids, [turn.logprobs for turn in t.turns]) for t in narrow.trajectories]
