"""Fixtures for the vision-language tests: the SquareSide world, tiny VLMs of two families
(Qwen2-VL: M-RoPE; Idefics3: one position per token) and their processors."""

from __future__ import annotations

import pytest
import torch

from tests.vlm.square_world import register
from tests.vlm.vlm_models import FAMILIES, bpe_tokenizer, processor, tiny_vlm, word_tokenizer


@pytest.fixture(scope="session", autouse=True)
def _registered_world():
    register()


@pytest.fixture(autouse=True)
def _one_thread():
    """Models this small run faster on one thread than on several shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=FAMILIES)
def family(request) -> str:
    return request.param


@pytest.fixture
def bpe_parts(family):
    """(processor, model) of ``family`` over the byte-level BPE tokenizer."""
    tokenizer = bpe_tokenizer(family)
    return processor(family, tokenizer), tiny_vlm(family, tokenizer, seed=0)


@pytest.fixture
def word_parts(family):
    """(processor, model) of ``family`` over the word-level tokenizer."""
    tokenizer = word_tokenizer(family)
    return processor(family, tokenizer), tiny_vlm(family, tokenizer, seed=0, hidden_size=32, initializer_range=0.2)
