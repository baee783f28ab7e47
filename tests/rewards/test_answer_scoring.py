"""The two-pass answer scoring equals one forward pass per prefix (float32 to 1e-5, float64 to 1e-9)."""

import random

import pytest
import torch
import transformers
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from agentgym.rewards.answer_scoring import AnswerQuery, answer_log_probs, answer_log_probs_brute_force

from .tiny_lm import tiny_llama

VOCAB = 300


def random_queries(seed: int, turn_counts=(1, 3, 5, 2)) -> list[AnswerQuery]:
    """Sequences of different lengths; boundaries include the first and the last token; blocks
    of different lengths, a stub-less one among them."""
    rng = random.Random(seed)
    queries = []
    for n, turns in enumerate(turn_counts):
        length = rng.randint(40, 160)
        tokens = [rng.randrange(VOCAB) for _ in range(length)]
        boundaries = sorted(rng.sample(range(2, length), turns - 1)) + [length if n % 2 else 1]
        block = [rng.randrange(VOCAB) for _ in range(rng.randint(1, 6))]
        answer_length = len(block) if n == 0 else rng.randint(1, len(block))
        queries.append(AnswerQuery(tokens, sorted(boundaries), block, answer_length))
    return queries


def naive_values(model, query: AnswerQuery) -> list[float]:
    """Full logits of ``token_ids[:b] + block`` for one prefix at a time, no padding."""
    values = []
    for boundary in query.boundaries:
        sequence = list(query.token_ids[:boundary]) + list(query.block_ids)
        with torch.no_grad():
            log_probs = torch.log_softmax(model(torch.tensor([sequence])).logits[0].double(), dim=-1)
        n, a = len(sequence), query.answer_length
        values.append(float(sum(log_probs[p - 1, sequence[p]] for p in range(n - a, n)) / a))
    return values


def max_gap(a, b) -> float:
    assert [len(x) for x in a] == [len(x) for x in b]
    return max(abs(x - y) for xs, ys in zip(a, b) for x, y in zip(xs, ys))


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_two_pass_scoring_equals_brute_force_float32(attention):
    model = tiny_llama(VOCAB, attention=attention)
    queries = random_queries(0)
    fast = answer_log_probs(model, queries, batch_size=3)  # a batch of 3 and a batch of 1
    slow = answer_log_probs_brute_force(model, queries, batch_size=4)
    assert [len(v) for v in fast] == [1, 3, 5, 2]
    assert max_gap(fast, slow) < 1e-5
    # The values really depend on the context: a scorer ignoring it could not pass.
    assert len({round(v, 3) for values in fast for v in values}) == sum(len(v) for v in fast)


def test_two_pass_scoring_equals_brute_force_float64():
    model = tiny_llama(VOCAB, dtype=torch.float64)
    queries = random_queries(1)
    assert max_gap(answer_log_probs(model, queries, batch_size=2),
                   answer_log_probs_brute_force(model, queries, batch_size=3)) < 1e-9


def test_brute_force_reference_equals_unpadded_full_forward():
    model = tiny_llama(VOCAB, dtype=torch.float64)
    queries = random_queries(2, turn_counts=(3, 2))
    padded = answer_log_probs_brute_force(model, queries, batch_size=5)
    assert max_gap(padded, [naive_values(model, q) for q in queries]) < 1e-9


def causal_attention_without_masks(module, query, key, value, attention_mask, **kwargs):
    """An attention kernel that, like FlashAttention, ignores custom masks (always causal)."""
    kwargs.pop("is_causal", None)
    return sdpa_attention_forward(module, query, key, value, None, is_causal=True, **kwargs)


def test_a_kernel_ignoring_masks_is_swapped_for_sdpa_during_the_block_pass_and_restored():
    AttentionInterface.register("causal_only_test", causal_attention_without_masks)
    model = tiny_llama(VOCAB, attention="causal_only_test")
    assert model.config._attn_implementation == "causal_only_test"
    queries = random_queries(3)
    fast = answer_log_probs(model, queries, batch_size=4)
    # One unpadded sequence per forward: correct even with the causal-only kernel.
    assert max_gap(fast, [naive_values(model, q) for q in queries]) < 1e-5
    assert model.config._attn_implementation == "causal_only_test"


def test_training_mode_is_restored_and_no_graph_is_built():
    model = tiny_llama(VOCAB).train()
    values = answer_log_probs(model, random_queries(4, turn_counts=(2,)))
    assert model.training
    assert all(isinstance(v, float) for v in values[0])
    assert all(p.grad is None for p in model.parameters())


def test_queries_without_boundaries_get_empty_lists_and_one_token_contexts_need_no_cache():
    model = tiny_llama(VOCAB)
    assert answer_log_probs(model, [AnswerQuery([1, 2, 3], [], [4, 5], 1)]) == [[]]
    assert answer_log_probs_brute_force(model, [AnswerQuery([1, 2, 3], [], [4, 5], 1)]) == [[]]
    first_token_only = [AnswerQuery([7, 8, 9], [1], [4, 5, 6], 2)]  # nothing to cache before the block
    assert max_gap(answer_log_probs(model, first_token_only), [naive_values(model, first_token_only[0])]) < 1e-5


def small(model_class: str, config_class: str, **settings):
    """A two-to-four-layer model of another family, float64, random weights."""
    common = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                  num_key_value_heads=2, initializer_range=0.3)
    config = getattr(transformers, config_class)(**{**common, **settings})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return getattr(transformers, model_class)(config).to(torch.float64).eval()


FAMILIES = {
    # learned absolute positions, no grouped-query attention
    "gpt2": lambda: small("GPT2LMHeadModel", "GPT2Config", n_embd=32, n_layer=2, n_head=4, n_positions=512,
                          bos_token_id=0, eos_token_id=0),
    # query/key norms, `layer_types` listing full attention only
    "qwen3": lambda: small("Qwen3ForCausalLM", "Qwen3Config", num_hidden_layers=2, head_dim=8),
    # every layer a 32-token sliding window (sequences here are 40 to 160 tokens)
    "mistral-sliding-window": lambda: small("MistralForCausalLM", "MistralConfig", num_hidden_layers=2,
                                            sliding_window=32),
    # sliding and full layers mixed: one mask per layer kind
    "gemma3-hybrid": lambda: small("Gemma3ForCausalLM", "Gemma3TextConfig", num_hidden_layers=4, head_dim=8,
                                   sliding_window=32, layer_types=["sliding_attention", "full_attention"] * 2),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_other_model_families_match_one_forward_per_prefix(family):
    model = FAMILIES[family]()
    queries = random_queries(6, turn_counts=(3, 2))
    assert max_gap(answer_log_probs(model, queries, batch_size=3), [naive_values(model, q) for q in queries]) < 1e-9


def test_models_with_convolution_layers_fall_back_to_brute_force():
    model = small("Lfm2ForCausalLM", "Lfm2Config", num_hidden_layers=2, full_attn_idxs=[1])
    assert model.config.layer_types == ["conv", "full_attention"]
    queries = random_queries(7, turn_counts=(2, 2))
    with pytest.warns(UserWarning, match=r"\['conv'\] layers"):
        values = answer_log_probs(model, queries, batch_size=2)
    assert max_gap(values, [naive_values(model, q) for q in queries]) < 1e-9


@pytest.mark.parametrize("boundaries, block, answer_length", [([0], [1, 2], 1), ([4], [1, 2], 1),
                                                              ([2], [1, 2], 0), ([2], [1, 2], 3)])
def test_bad_queries_are_refused(boundaries, block, answer_length):
    with pytest.raises(ValueError):
        AnswerQuery([1, 2, 3], boundaries, block, answer_length)


def test_bad_batch_size_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        answer_log_probs(tiny_llama(VOCAB), random_queries(5), batch_size=0)
