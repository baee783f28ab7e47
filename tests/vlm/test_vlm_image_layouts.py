"""Every image an environment may show (``agentgym.images``: grey ``H x W`` or ``H x W x 1``,
RGB, RGBA, any size down to 1 pixel) reaches a vision-language policy as ``H x W x 3``, read
channels-last, the same way by the rollout's transcript and by the policy's model inputs."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.images import as_rgb
from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf_vision import HFVisionPolicy
from tests.vlm.vlm_models import bpe_tokenizer, processor, tiny_vlm

SHAPES = [(32, 32), (32, 32, 1), (32, 32, 4), (3, 40, 3), (1, 40, 3), (40, 1, 3), (1, 1)]


def _image(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)


def test_as_rgb_repeats_grey_and_drops_alpha():
    grey = _image((4, 5))
    assert as_rgb(grey).shape == (4, 5, 3) and (as_rgb(grey) == grey[:, :, None]).all()
    assert (as_rgb(grey[:, :, None]) == as_rgb(grey)).all()
    rgba = _image((4, 5, 4))
    assert (as_rgb(rgba) == rgba[:, :, :3]).all() and as_rgb(rgba).flags.c_contiguous
    rgb = _image((4, 5, 3))
    assert (as_rgb(rgb) == rgb).all()


@pytest.mark.parametrize("bad", [np.zeros((4, 5), dtype=np.float32), np.zeros((4, 5, 2), dtype=np.uint8),
                                 np.zeros((0, 5, 3), dtype=np.uint8), "pixels"])
def test_as_rgb_refuses_what_is_no_image(bad):
    with pytest.raises(ValueError, match="an image must be"):
        as_rgb(bad)


@pytest.mark.parametrize("family", ["qwen2_vl", "idefics3"])
def test_every_image_layout_generates_and_its_tokens_match_the_model_inputs(family):
    """Grey and RGBA images failed inside the processor (or with "an image must be an HxWx3
    array"); the prompt's image tokens are the ones the model's inputs fill."""
    tokenizer = bpe_tokenizer(family)
    policy = HFVisionPolicy(tiny_vlm(family, tokenizer), processor(family, tokenizer))
    sampling = SamplingParams(max_tokens=1, temperature=0.0)
    for shape in SHAPES:
        image = _image(shape)
        request = Request([{"role": "user", "content": [{"type": "text", "text": "Where?"},
                                                         {"type": "image", "image": image}]}])
        (generation,) = policy.generate([request], sampling)
        assert generation.error is None, (shape, generation.error)
        filled = policy.family.encode_image(image).num_tokens
        assert list(generation.prompt_token_ids).count(policy.family.image_token_id) == filled, shape


def test_short_images_are_read_channels_last():
    """A 3-pixel-tall image was read as 3 channels of a 40x3 image (transformers guesses
    channels-first when the first dimension is 1 or 3): its patch grid is the transpose of
    the 40-pixel-tall image's."""
    tokenizer = bpe_tokenizer("qwen2_vl")
    policy = HFVisionPolicy(tiny_vlm("qwen2_vl", tokenizer), processor("qwen2_vl", tokenizer))
    for wide, tall in (((3, 40, 3), (40, 3, 3)), ((1, 40, 3), (40, 1, 3))):
        t, h, w = policy.family.encode_image(_image(wide)).grid
        assert policy.family.encode_image(_image(tall)).grid == (t, w, h), wide
