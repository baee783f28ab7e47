"""HFPolicy with multi-turn prefix caching, turn by turn on a tiny random Llama.

The reference is the same policy with the cache off (same batches: same greedy tokens, log-probs
within rounding, see conftest's tolerance) and a teacher-forced forward pass over the whole
sequence. Each turn's prompt is the previous prompt, the sampled tokens and an observation's
tokens, as the rollout engine's token-exact transcript builds them.
"""

from __future__ import annotations

import asyncio

import pytest
import torch
from transformers import MistralConfig, MistralForCausalLM

from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import HFPolicy, kv_bytes_per_token
from tests.policies_prefix_cache.conftest import (
    LOGPROB_TOLERANCE,
    chat_ids,
    max_logprob_difference,
    observation_ids,
    requests,
)

GREEDY = SamplingParams(max_tokens=10, temperature=0)
SEEDED = SamplingParams(max_tokens=10, temperature=1.0, top_p=0.9, seed=3)
TEXTS = ["hi", "Guess a number between 1 and 20.", "The secret word is crane. " * 4]
OBSERVATIONS = ["higher", "The secret number is lower than 15. " * 3, "12 is correct!"]


def play(policy: HFPolicy, tokenizer, turns: int, sampling: SamplingParams, first=None, observations=None):
    """``turns`` calls, each continuing every conversation; returns the generations of each turn."""
    prompts = first or [chat_ids(tokenizer, text) for text in TEXTS]
    observations = observations or OBSERVATIONS
    history = []
    for turn in range(turns):
        generations = policy.generate(requests(prompts, seeds=[10 * turn + i for i in range(len(prompts))]), sampling)
        assert all(g.finish_reason != "error" for g in generations), [g.error for g in generations]
        history.append(generations)
        prompts = [g.prompt_token_ids + g.token_ids + observation_ids(tokenizer, observations[i % len(observations)])
                   for i, g in enumerate(generations)]
    return history


def teacher_forced_logprobs(model, prompt: list[int], generated: list[int], temperature: float) -> list[float]:
    with torch.no_grad():
        logits = model(torch.tensor([prompt + generated])).logits[0, len(prompt) - 1: -1].float()
    scaled = logits / temperature if temperature > 0 else logits
    return torch.log_softmax(scaled, -1).gather(-1, torch.tensor(generated)[:, None]).squeeze(-1).tolist()


@pytest.mark.parametrize("sampling", [GREEDY, SEEDED], ids=["greedy", "seeded"])
def test_later_turns_reuse_their_prefix_and_match_a_full_prefill(policies, model, tokenizer, sampling):
    on, off = policies
    cached, full = play(on, tokenizer, 4, sampling), play(off, tokenizer, 4, sampling)
    worst = 0.0
    for turn, (with_cache, without) in enumerate(zip(cached, full)):
        worst = max(worst, max_logprob_difference(with_cache, without))  # same tokens, asserted inside
        for generation in with_cache:
            expected = teacher_forced_logprobs(model, generation.prompt_token_ids, generation.token_ids,
                                               sampling.temperature)
            assert generation.logprobs == pytest.approx(expected, abs=1e-4)
        if turn:  # every prompt but the first turn's reuses all it can: the previous prompt and generation
            for now, before in zip(with_cache, cached[turn - 1]):
                assert now.metadata["cached_prompt_tokens"] == len(before.prompt_token_ids) + len(before.token_ids) - 1
        else:
            assert all(g.metadata["cached_prompt_tokens"] == 0 for g in with_cache)
    assert worst <= LOGPROB_TOLERANCE
    stats = on.prefix_cache.stats
    assert (stats.hits, stats.misses) == (9, 3)
    fed = sum(len(g.prompt_token_ids) for turn in cached for g in turn)
    assert stats.tokens_reused + stats.tokens_prefilled == fed
    # After turn 1, a prompt's new tokens are the last sampled token and the observation's.
    assert stats.tokens_prefilled == sum(len(g.prompt_token_ids) for g in cached[0]) + sum(
        1 + len(observation_ids(tokenizer, OBSERVATIONS[i])) for _ in range(3) for i in range(3))
    assert stats.entries == 3 and stats.bytes == sum(
        kv_bytes_per_token(model) * (len(g.prompt_token_ids) + len(g.token_ids) - 1) for g in cached[-1])
    off_stats = off.prefix_cache.stats
    assert (off_stats.hits, off_stats.misses, off_stats.tokens_prefilled, off_stats.bytes) == (0, 12, fed, 0)


@pytest.mark.parametrize("apart", [True, False], ids=["misses-apart", "one-forward"])
def test_a_batch_of_hits_of_different_lengths_with_misses_matches_a_full_prefill(policies, tokenizer, apart):
    """One call holding hits with different cached and new lengths, a new conversation and an
    edited history (prefilled apart from the hits, or in one forward pass with them), then a
    prompt equal to a stored sequence: each row sees exactly its own sequence."""
    on, off = policies
    on.prefill_misses_apart = apart
    first = [chat_ids(tokenizer, text) for text in TEXTS]
    turn1 = on.generate(requests(first), GREEDY)
    assert max_logprob_difference(turn1, off.generate(requests(first), GREEDY)) <= LOGPROB_TOLERANCE
    stored = [g.prompt_token_ids + g.token_ids[:-1] for g in turn1]
    edited = list(stored[2])
    edited[len(edited) // 2] = (edited[len(edited) // 2] + 1) % len(tokenizer)
    batch = [
        stored[0] + [turn1[0].token_ids[-1]] + observation_ids(tokenizer, "a long observation " * 5),
        chat_ids(tokenizer, "A new episode, long enough to need padding. " * 3),
        stored[1] + [turn1[1].token_ids[-1]] + observation_ids(tokenizer, "short"),
        edited + observation_ids(tokenizer, "edited"),
    ]
    hits = on.generate(requests(batch), GREEDY)
    assert [g.metadata["cached_prompt_tokens"] for g in hits] == [len(stored[0]), 0, len(stored[1]), 0]
    assert max_logprob_difference(hits, off.generate(requests(batch), GREEDY)) <= LOGPROB_TOLERANCE
    # The edited history did not consume the third conversation's entry: its exact sequence still hits,
    # reusing all but its last token (a forward pass needs one new token).
    again = on.generate(requests([stored[2]]), GREEDY)
    assert again[0].metadata["cached_prompt_tokens"] == len(stored[2]) - 1
    assert max_logprob_difference(again, off.generate(requests([stored[2]]), GREEDY)) <= LOGPROB_TOLERANCE
    stats = on.prefix_cache.stats
    assert (stats.hits, stats.misses) == (3, 5)


def test_a_batch_of_hits_uses_holes_in_the_attention_mask(tokenizer):
    """The cache and suffix regions put padding between a row's reused and new tokens; the model
    must ignore it. Direct check: a forward pass over tokens with holes in the mask equals the
    pass over the same tokens packed."""
    from tests.policies.conftest import make_tiny_model

    model = make_tiny_model(len(tokenizer), max_position_embeddings=2048)
    ids = torch.tensor(chat_ids(tokenizer, "The secret word is crane."))
    n = len(ids)
    packed = model(ids[None], position_ids=torch.arange(n)[None]).logits[0, -1]
    holes = torch.cat([torch.full((3,), 7), ids[: n // 2], torch.full((5,), 9), ids[n // 2:]])
    mask = torch.cat([torch.zeros(3), torch.ones(n // 2), torch.zeros(5), torch.ones(n - n // 2)]).long()
    positions = (mask.cumsum(0) - 1).clamp(min=0)
    with_holes = model(holes[None], attention_mask=mask[None], position_ids=positions[None]).logits[0, -1]
    assert torch.allclose(packed, with_holes, atol=1e-5)
    # ...and the holes matter: unmasked, the padding changes the result.
    unmasked = model(holes[None], position_ids=positions[None]).logits[0, -1]
    assert (unmasked - packed).abs().max() > 1e-2


def test_eviction_under_a_tiny_budget_recomputes_and_never_exceeds_it(model, tokenizer):
    per_token = kv_bytes_per_token(model)
    budget = per_token * 90  # room for about one conversation
    tight = HFPolicy(model, tokenizer, prefix_cache_bytes=budget)
    off = HFPolicy(model, tokenizer, prefix_cache=False)
    cached, full = play(tight, tokenizer, 4, GREEDY), play(off, tokenizer, 4, GREEDY)
    for with_cache, without in zip(cached, full):
        assert max_logprob_difference(with_cache, without) <= LOGPROB_TOLERANCE
    stats = tight.prefix_cache.stats
    assert stats.evictions + stats.rejected > 0 and stats.misses > 3 and stats.hits > 0
    assert stats.peak_bytes <= budget and stats.bytes <= budget


def test_two_concurrent_calls_are_safe_and_give_the_sequential_results(model, tokenizer):
    def conversations(offset: int):
        return [chat_ids(tokenizer, f"{text} ({offset})") for text in TEXTS]

    async def both(policy, prompts_a, prompts_b):
        return await asyncio.gather(policy.agenerate(requests(prompts_a), GREEDY),
                                    policy.agenerate(requests(prompts_b), GREEDY))

    concurrent, sequential = HFPolicy(model, tokenizer), HFPolicy(model, tokenizer)
    a, b = conversations(1), conversations(2)
    results = {"concurrent": [], "sequential": []}
    for _ in range(3):
        ga, gb = asyncio.run(both(concurrent, a, b))
        sa, sb = sequential.generate(requests(a), GREEDY), sequential.generate(requests(b), GREEDY)
        results["concurrent"] += ga + gb
        results["sequential"] += sa + sb
        a = [g.prompt_token_ids + g.token_ids + observation_ids(tokenizer, "ok") for g in ga]
        b = [g.prompt_token_ids + g.token_ids + observation_ids(tokenizer, "no") for g in gb]
    # Each call is its own batch whichever runs first, and reuses its own conversations' prefixes:
    # bit-identical.
    assert [(g.token_ids, g.logprobs) for g in results["concurrent"]] == [
        (g.token_ids, g.logprobs) for g in results["sequential"]]
    assert concurrent.prefix_cache.stats.hits == 12 and concurrent.prefix_cache.stats.entries == 6


def test_new_weights_drop_the_store(model, tokenizer):
    policy = HFPolicy(model, tokenizer)
    turn1 = policy.generate(requests([chat_ids(tokenizer, text) for text in TEXTS]), GREEDY)
    second = [g.prompt_token_ids + g.token_ids + observation_ids(tokenizer, "go on") for g in turn1]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    model(torch.tensor([second[0]])).logits.logsumexp(-1).mean().backward()
    optimizer.step()  # in place, as a trainer sharing the policy's model does
    optimizer.zero_grad()
    after = policy.generate(requests(second), GREEDY)
    stats = policy.prefix_cache.stats
    assert stats.invalidations == 1 and stats.hits == 0 and stats.misses == 6
    fresh = HFPolicy(model, tokenizer, prefix_cache=False).generate(requests(second), GREEDY)
    assert [(g.token_ids, g.logprobs) for g in after] == [(g.token_ids, g.logprobs) for g in fresh]
    with torch.no_grad():
        model.lm_head.weight.mul_(1.5)  # any in-place change counts
    third = [g.prompt_token_ids + g.token_ids + observation_ids(tokenizer, "more") for g in after]
    policy.generate(requests(third), GREEDY)
    assert policy.prefix_cache.stats.invalidations == 2 and policy.prefix_cache.stats.hits == 0


def test_batch_invariant_policies_still_reuse_prefixes(model, tokenizer):
    on = HFPolicy(model, tokenizer, batch_invariant=True)
    off = HFPolicy(model, tokenizer, batch_invariant=True, prefix_cache=False)
    cached, full = play(on, tokenizer, 3, SEEDED), play(off, tokenizer, 3, SEEDED)
    for with_cache, without in zip(cached, full):
        assert max_logprob_difference(with_cache, without) <= LOGPROB_TOLERANCE
    assert on.prefix_cache.stats.hits == 6


def test_the_off_switch_and_models_it_cannot_serve(model, tokenizer):
    off = HFPolicy(model, tokenizer, prefix_cache=False)
    assert not off.prefix_cache.enabled and off.prefix_cache_off_reason == "prefix_cache=False"
    zero = HFPolicy(model, tokenizer, prefix_cache_bytes=0)
    assert not zero.prefix_cache.enabled and zero.prefix_cache_off_reason == "prefix_cache_bytes=0"
    on = HFPolicy(model, tokenizer)
    assert on.prefix_cache.enabled and on.prefix_cache_off_reason is None
    assert on.prefix_cache.max_bytes >= 16 * 2048 * kv_bytes_per_token(model)
    with pytest.raises(ValueError, match="prefix_cache_bytes"):
        HFPolicy(model, tokenizer, prefix_cache_bytes=-1)

    class OwnLoop(HFPolicy):  # e.g. HFVisionPolicy: the store is fed by HFPolicy's loop only
        def _decode(self, rows, sampling, cancelled):
            return super()._decode(rows, sampling, cancelled)

    assert "own decode loop" in OwnLoop(model, tokenizer).prefix_cache_off_reason
    sliding = MistralForCausalLM(MistralConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                               sliding_window=16, max_position_embeddings=256))
    windowed = HFPolicy(sliding, tokenizer)
    assert not windowed.prefix_cache.enabled and "DynamicSlidingWindowLayer" in windowed.prefix_cache_off_reason
    # Off, it still works and counts what it prefilled.
    generations = windowed.generate(requests([chat_ids(tokenizer, "hi")]), GREEDY)
    assert generations[0].finish_reason != "error"
    assert windowed.prefix_cache.stats.tokens_prefilled == len(generations[0].prompt_token_ids)


def test_a_bad_request_beside_hits_fails_alone(policies, tokenizer):
    on, off = policies
    turn1 = on.generate(requests([chat_ids(tokenizer, text) for text in TEXTS[:2]]), GREEDY)
    second = [g.prompt_token_ids + g.token_ids + observation_ids(tokenizer, "next") for g in turn1]
    results = on.generate(requests([second[0], [len(tokenizer) + 5], second[1]]), GREEDY)
    assert results[1].finish_reason == "error" and "vocabulary" in results[1].error
    assert [g.metadata["cached_prompt_tokens"] for g in (results[0], results[2])] == [
        len(g.prompt_token_ids) + len(g.token_ids) - 1 for g in turn1]
    reference = off.generate(requests([second[0], second[1]]), GREEDY)
    assert max_logprob_difference([results[0], results[2]], reference) <= LOGPROB_TOLERANCE
