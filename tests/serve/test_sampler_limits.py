"""HFPolicy's sampler at the edges of its parameters: temperatures so small that
``logits / temperature`` overflows, and a ``top_p`` below float32's range. Both must act as
greedy decoding with finite log-probs (they used to give NaN log-probs and token 0)."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import sample_next_tokens


def logits_and_generators(rows: int = 3, vocab: int = 300):
    torch.manual_seed(0)
    logits = torch.randn(rows, vocab) * 5
    # The argmax must not be token 0, or a sampler that falls back to token 0 would pass.
    logits[:, 0] = logits.min() - 1
    return logits, [torch.Generator().manual_seed(i) for i in range(rows)]


@pytest.mark.parametrize("temperature", [1e-40, 1e-320, 5e-324, 1e-30])
def test_a_vanishing_temperature_is_greedy_with_finite_logprobs(temperature):
    logits, generators = logits_and_generators()
    tokens, logprobs = sample_next_tokens(logits, SamplingParams(temperature=temperature), generators)
    assert tokens.tolist() == logits.argmax(dim=-1).tolist()
    assert torch.isfinite(logprobs).all() and logprobs.tolist() == [0.0] * len(tokens)


def test_a_vanishing_temperature_splits_an_exact_tie():
    logits = torch.tensor([[1.0, 3.0, 3.0, -2.0]])
    tokens, logprobs = sample_next_tokens(logits, SamplingParams(temperature=1e-40), [torch.Generator().manual_seed(0)])
    assert tokens.item() in (1, 2) and logprobs.item() == pytest.approx(-math.log(2))


@pytest.mark.parametrize("top_p", [1e-300, 5e-324, 1e-45])
def test_a_vanishing_top_p_keeps_the_most_likely_token(top_p):
    logits, generators = logits_and_generators()
    tokens, logprobs = sample_next_tokens(logits, SamplingParams(top_p=top_p), generators)
    assert tokens.tolist() == logits.argmax(dim=-1).tolist()
    expected = torch.log_softmax(logits, dim=-1).gather(-1, tokens[:, None]).squeeze(-1)
    assert torch.isfinite(logprobs).all() and torch.allclose(logprobs, expected, atol=1e-5)


def test_ordinary_temperatures_keep_their_logprobs():
    logits, generators = logits_and_generators()
    tokens, logprobs = sample_next_tokens(logits, SamplingParams(temperature=0.7), generators)
    expected = torch.log_softmax(logits / 0.7, dim=-1).gather(-1, tokens[:, None]).squeeze(-1)
    assert torch.allclose(logprobs, expected, atol=1e-5)
