"""Fixtures for the prefix-cache tests: a tiny random Llama (two layers, grouped-query attention)
over a byte-level BPE with a ChatML template, both built in well under a second, one torch thread.

Tolerance. A prompt that reuses cached keys and values is computed by other float32 forward
passes than a full prefill (the prefix's keys came from earlier passes, in other batches): the
sums are associated differently, so log-probs move by rounding. Measured on these models: at
most 5e-6 between cache on and off, the same size as the batching noise of a full prefill (a
request decoded alone vs in a padded batch: 7e-6). ``LOGPROB_TOLERANCE`` allows 6x that; a real
error (a wrong position, a masked or missing token) moves log-probs by 1e-2 or more.
"""

from __future__ import annotations

import pytest
import torch

from agentgym.policies.base import Request
from agentgym.policies.hf import HFPolicy
from tests.policies.conftest import make_tiny_model
from tests.rewards.tiny_lm import tiny_tokenizer

LOGPROB_TOLERANCE = 3e-5


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One thread: a tiny model gains nothing from more, and busy shared cores slow OpenMP's
    spinning threads tenfold. Results are compared within one thread count only."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tokenizer():
    return tiny_tokenizer()


@pytest.fixture
def model(tokenizer):
    return make_tiny_model(len(tokenizer), max_position_embeddings=2048)


@pytest.fixture
def policies(model, tokenizer):
    """``(on, off)``: two policies on one model, prefix caching on and off."""
    return HFPolicy(model, tokenizer, name="tiny"), HFPolicy(model, tokenizer, name="tiny", prefix_cache=False)


def chat_ids(tokenizer, text: str) -> list[int]:
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                             add_generation_prompt=True)
    return list(tokenizer.encode(rendered, add_special_tokens=False))


def observation_ids(tokenizer, text: str) -> list[int]:
    """The tokens a transcript appends after a generation: end of turn, a user message, the next
    generation prompt."""
    return list(tokenizer.encode(f"<|im_end|>\n<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n",
                                 add_special_tokens=False))


def requests(prompts: list[list[int]], seeds: list[int] | None = None) -> list[Request]:
    return [Request([], prompt_token_ids=list(prompt), seed=None if seeds is None else seeds[i])
            for i, prompt in enumerate(prompts)]


def max_logprob_difference(first, second) -> float:
    """The largest |log-prob difference| between two lists of generations with the same tokens."""
    worst = 0.0
    for a, b in zip(first, second, strict=True):
        assert a.token_ids == b.token_ids
        worst = max([worst, *(abs(x - y) for x, y in zip(a.logprobs, b.logprobs, strict=True))])
    return worst
