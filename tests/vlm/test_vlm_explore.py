"""Hostile requests to HFVisionPolicy: a request whose image tokens cannot be placed is refused
alone, without sinking the requests batched with it."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf_vision import HFVisionPolicy, vision_family
from tests.vlm.vlm_models import bpe_tokenizer, processor, tiny_vlm


def test_image_tokens_split_in_two_runs_fail_their_request_alone():
    """The right number of image tokens, but not in one run: M-RoPE cannot place the image. Only
    that request is an error generation; the well-formed request beside it generates."""
    tokenizer = bpe_tokenizer("qwen2_vl")
    policy = HFVisionPolicy(tiny_vlm("qwen2_vl", tokenizer), processor("qwen2_vl", tokenizer))
    image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    messages = [{"role": "user", "content": [{"type": "text", "text": "Where?"}, {"type": "image", "image": image}]}]
    sampling = SamplingParams(max_tokens=2, temperature=0.0)
    (plain,) = policy.generate([Request(messages)], sampling)
    prompt, pad = list(plain.prompt_token_ids), policy.family.image_token_id
    start = prompt.index(pad)
    assert prompt[start:start + 4] == [pad] * 4 and prompt[start + 4] != pad
    split = prompt[:start] + [pad, pad, prompt[start + 4], pad, pad] + prompt[start + 4:]

    good, bad = policy.generate([Request(messages), Request(messages, prompt_token_ids=split)], sampling)

    assert bad.finish_reason == "error" and "fills 4 tokens" in bad.error
    assert good.error is None and good.token_ids == plain.token_ids and good.logprobs == plain.logprobs


def test_close_releases_the_processed_images_and_the_policy_stays_usable():
    tokenizer = bpe_tokenizer("qwen2_vl")
    policy = HFVisionPolicy(tiny_vlm("qwen2_vl", tokenizer), processor("qwen2_vl", tokenizer))
    image = np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    request = Request([{"role": "user", "content": [{"type": "image", "image": image}]}])
    sampling = SamplingParams(max_tokens=2, temperature=0.0)
    (before,) = policy.generate([request], sampling)
    assert policy.family.cached_bytes > 0

    policy.close()
    policy.close()  # twice is fine

    assert policy.family.cached_bytes == 0
    (after,) = policy.generate([request], sampling)
    assert after.error is None and after.token_ids == before.token_ids and policy.family.cached_bytes > 0


@pytest.mark.parametrize("cache_bytes", ["1GB", -1, 1.5, True, None])
def test_a_cache_size_that_is_no_byte_count_is_refused_when_the_family_is_made(cache_bytes):
    """Not at the first image, where every request of a rollout would become an error."""
    tokenizer = bpe_tokenizer("qwen2_vl")
    with pytest.raises(ValueError, match="cache_bytes must be an integer >= 0"):
        vision_family(tiny_vlm("qwen2_vl", tokenizer), processor("qwen2_vl", tokenizer), cache_bytes=cache_bytes)
