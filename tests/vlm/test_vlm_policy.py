"""HFVisionPolicy: token-exact generation with images for Qwen2-VL (M-RoPE) and Idefics3
models. Its log-probs equal the model's own teacher-forced forward pass (the model computing its
own positions from the processor's inputs), batching changes nothing but rounding, prompts built
from messages equal the rollout transcript's, and a prompt whose image tokens do not match its
images is refused alone."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf_vision import HFVisionPolicy, vision_family
from agentgym.rollout import TokenTranscript
from tests.vlm.square_world import square_image
from tests.vlm.vlm_models import IMAGE_TOKENS, bpe_tokenizer, processor, saved_vlm, tiny_vlm

RESERVED = {"qwen2_vl": ["<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>"],
            "idefics3": ["<image>", "<fake_token_around_image>", "<global-img>"]}


def images(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = random.Random(seed)
    return [square_image(rng, rng.choice(["left", "right"]), 32) for _ in range(count)]


def conversation(pictures: list[np.ndarray]) -> list[dict]:
    """System prompt, then one user turn per picture, answered in between."""
    messages = [{"role": "system", "content": "Say left or right."}]
    for i, picture in enumerate(pictures):
        if i:
            messages.append({"role": "assistant", "content": "left" if i % 2 else "right"})
        messages.append({"role": "user", "content": [{"type": "text", "text": f"Where is the square? ({i})"},
                                                     {"type": "image", "image": picture}]})
    return messages


def teacher_forced_logprobs(model, proc, family, prompt_text, pictures, generated, temperature):
    """Log-probs of ``generated`` after the prompt, from the model's own forward pass on the
    processor's inputs (the model computes its positions itself), reserved tokens excluded."""
    inputs = proc(text=[prompt_text], images=pictures, add_special_tokens=False, return_tensors="pt")
    prompt = inputs["input_ids"][0].tolist()
    ids = torch.tensor([prompt + generated])
    extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask", "mm_token_type_ids")}
    if "mm_token_type_ids" in inputs:
        types = inputs["mm_token_type_ids"]
        extra["mm_token_type_ids"] = torch.cat([types, types.new_zeros((1, len(generated)))], dim=1)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), **extra).logits[0].float()
    reserved = proc.tokenizer.convert_tokens_to_ids(RESERVED[family])
    logits[:, reserved] = float("-inf")
    logp = torch.log_softmax(logits / temperature, dim=-1)
    positions = range(len(prompt) - 1, len(prompt) + len(generated) - 1)
    return prompt, [float(logp[p, t]) for p, t in zip(positions, generated)]


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_logprobs_equal_the_models_own_forward_pass(family, bpe_parts, temperature):
    proc, model = bpe_parts
    policy = HFVisionPolicy(model, proc)
    pictures = images(3)
    messages = conversation(pictures)
    sampling = SamplingParams(max_tokens=6, temperature=temperature, seed=5)
    (generation,) = policy.generate([Request(messages)], sampling)
    assert generation.finish_reason in ("stop", "length") and generation.token_exact
    prompt_text = proc.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt, expected = teacher_forced_logprobs(model, proc, family, prompt_text, pictures, generation.token_ids,
                                               temperature or 1.0)
    assert generation.prompt_token_ids == prompt  # the policy's prompt is the processor's
    image_token = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>" if family == "qwen2_vl" else "<image>")
    assert prompt.count(image_token) == 3 * 4  # three 32x32 images, four tokens each
    np.testing.assert_allclose(generation.logprobs, expected, atol=2e-5)


def test_qwen2_5_vl_is_token_exact_too():
    """Qwen2.5-VL (windowed vision attention, Qwen2-VL's processor and M-RoPE): generation and the
    trainer's recomputation agree with the model's own forward pass."""
    from agentgym.credit import GRPO
    from agentgym.train.batching import training_rows
    from agentgym.train.update import score_rows
    from agentgym.trajectory import Trajectory, Turn

    tokenizer = bpe_tokenizer("qwen2_vl")
    proc = processor("qwen2_vl", tokenizer)
    model = tiny_vlm("qwen2_5_vl", tokenizer)
    policy = HFVisionPolicy(model, proc)
    assert policy.family.rope
    pictures = images(3)
    messages = conversation(pictures)
    (generation,) = policy.generate([Request(messages)], SamplingParams(max_tokens=6, temperature=0.8, seed=5))
    prompt_text = proc.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    _, expected = teacher_forced_logprobs(model, proc, "qwen2_vl", prompt_text, pictures, generation.token_ids, 0.8)
    np.testing.assert_allclose(generation.logprobs, expected, atol=2e-5)
    prompt, generated = generation.prompt_token_ids, generation.token_ids
    trajectory = Trajectory(messages=messages, token_ids=prompt + generated, turns=[
        Turn(0, "", generation.text, action_span=(len(prompt), len(prompt) + len(generated)),
             logprobs=generation.logprobs)])
    rows, _ = training_rows([trajectory], GRPO()([trajectory]), vision=policy.family, on_untrainable="error")
    (logprobs,), _ = score_rows(model, rows, temperature=0.8, token_budget=10_000)
    np.testing.assert_allclose(logprobs.numpy()[rows[0].loss_mask], generation.logprobs, atol=2e-5)


def test_images_of_other_sizes_fill_other_token_counts(bpe_parts):
    """Qwen2-VL's grid follows the image size (a 48x32 image: 6 tokens); Idefics3 resizes every
    image to its fixed size (4 tokens)."""
    proc, model = bpe_parts
    family = vision_family(model, proc)
    wide = np.zeros((32, 48, 3), dtype=np.uint8)
    encoded = family.encode_image(wide)
    assert encoded.num_tokens == (6 if family.rope else 4)
    policy = HFVisionPolicy(model, proc)
    messages = [{"role": "user", "content": [{"type": "image", "image": wide}, {"type": "text", "text": "where?"}]}]
    (generation,) = policy.generate([Request(messages)], SamplingParams(max_tokens=3, temperature=0))
    assert generation.error is None
    assert generation.prompt_token_ids.count(family.image_token_id) == encoded.num_tokens


def test_a_batch_decodes_as_each_request_alone(bpe_parts):
    """Left padding, different numbers of images per row (none, one, three) and rows finishing at
    different times change nothing beyond rounding."""
    proc, model = bpe_parts
    requests = [Request(conversation(images(n, seed=n))) for n in (1, 3)]
    requests.append(Request([{"role": "user", "content": "No image here, just text."}]))
    requests.append(Request(conversation(images(2, seed=9))))
    for sampling in (SamplingParams(max_tokens=5, temperature=0), SamplingParams(max_tokens=5, temperature=1.0, seed=3)):
        batched = HFVisionPolicy(model, proc, max_batch_size=8).generate(requests, sampling)
        alone = HFVisionPolicy(model, proc, batch_invariant=True).generate(requests, sampling)
        for a, b in zip(batched, alone):
            assert a.error is None and b.error is None
            assert a.prompt_token_ids == b.prompt_token_ids
            assert a.token_ids == b.token_ids
            np.testing.assert_allclose(a.logprobs, b.logprobs, atol=1e-4)


def test_the_prompt_from_messages_is_the_transcripts(bpe_parts):
    proc, model = bpe_parts
    policy = HFVisionPolicy(model, proc)
    messages = conversation(images(2))
    transcript = TokenTranscript(policy.tokenizer, messages)
    assert policy.tokenizer is proc
    assert policy._prompt_ids(Request(messages)) == transcript.prompt_ids
    (generation,) = policy.generate([Request(messages, prompt_token_ids=transcript.prompt_ids)],
                                    SamplingParams(max_tokens=3, temperature=0))
    (again,) = policy.generate([Request(messages)], SamplingParams(max_tokens=3, temperature=0))
    assert generation.token_ids == again.token_ids


def test_a_prompt_whose_image_tokens_do_not_match_its_images_fails_alone(bpe_parts):
    proc, model = bpe_parts
    policy = HFVisionPolicy(model, proc)
    pictures = images(2)
    two = TokenTranscript(proc, conversation(pictures)).prompt_ids
    one_image_messages = conversation(pictures[:1])
    text_only = [{"role": "user", "content": "hello"}]
    bad, good, unrelated = policy.generate(
        [Request(one_image_messages, prompt_token_ids=two), Request(one_image_messages), Request(text_only)],
        SamplingParams(max_tokens=3, temperature=0))
    assert bad.finish_reason == "error" and "image tokens" in bad.error
    assert good.error is None and unrelated.error is None
    missing = [{"role": "user", "content": [{"type": "image", "image_ref": "x.png"}]}]
    (no_pixels,) = policy.generate([Request(missing)], SamplingParams(max_tokens=2))
    assert no_pixels.finish_reason == "error" and "without its pixels" in no_pixels.error


def test_a_page_whose_text_holds_the_image_placeholder_is_read_as_text(family, bpe_parts):
    # A web page or a tool's output may hold the model's placeholder ("<image>", "<|image_pad|>")
    # as text: it asked the processor for an image that was not there, and the request failed.
    proc, model = bpe_parts
    policy = HFVisionPolicy(model, proc)
    pictures = images(1)
    messages = conversation(pictures)
    page = " ".join(RESERVED[family]) + " <|endoftext|> the page's text"
    messages[1]["content"][0]["text"] = page
    transcript = TokenTranscript(proc, messages)
    assert transcript.images == pictures
    expected = TokenTranscript(proc, conversation(pictures)).prompt_ids.count(int(proc.image_token_id))
    assert transcript.prompt_ids.count(int(proc.image_token_id)) == expected  # the one picture's tokens only
    (generation,) = policy.generate([Request(messages)], SamplingParams(max_tokens=2, temperature=0))
    assert generation.error is None and generation.prompt_token_ids == transcript.prompt_ids
    assert messages[1]["content"][0]["text"] == page  # the stored conversation keeps what was written


def test_reserved_image_tokens_are_never_sampled(family, bpe_parts):
    """A model that strongly prefers its image placeholder still writes only ordinary tokens,
    and the log-probs are those of the distribution without the reserved tokens."""
    proc, model = bpe_parts
    reserved = proc.tokenizer.convert_tokens_to_ids(RESERVED[family])
    bias = torch.zeros(model.lm_head.out_features)
    bias[reserved] = 30.0
    handle = model.lm_head.register_forward_hook(lambda module, args, output: output + bias)
    try:
        policy = HFVisionPolicy(model, proc)
        assert sorted(policy.family.reserved_token_ids) == sorted(reserved)
        pictures = images(1)
        (generation,) = policy.generate([Request(conversation(pictures))],
                                        SamplingParams(max_tokens=8, temperature=1.0, seed=1))
        assert not set(generation.token_ids) & set(reserved)
        assert all(np.isfinite(generation.logprobs))
        prompt_text = proc.apply_chat_template(conversation(pictures), tokenize=False, add_generation_prompt=True)
        _, expected = teacher_forced_logprobs(model, proc, family, prompt_text, pictures, generation.token_ids, 1.0)
        np.testing.assert_allclose(generation.logprobs, expected, atol=2e-5)
    finally:
        handle.remove()


def test_models_and_processors_it_cannot_take_are_refused_clearly():
    tokenizer = bpe_tokenizer("idefics3")
    proc = processor("idefics3", tokenizer)
    model = tiny_vlm("idefics3", tokenizer)
    with pytest.raises(TypeError, match="processor"):
        HFVisionPolicy(model, tokenizer)

    class Other(torch.nn.Module):
        config = type("Config", (), {"model_type": "llava", "image_token_id": 3})()

    with pytest.raises(ValueError, match="llava.*supported: qwen2_vl"):
        vision_family(Other(), proc)


def test_from_pretrained_loads_a_saved_model(tmp_path):
    proc, model = saved_vlm("idefics3", tmp_path)
    loaded = HFVisionPolicy.from_pretrained(str(tmp_path), local_files_only=True)
    request = Request(conversation(images(2)))
    sampling = SamplingParams(max_tokens=4, temperature=0)
    (a,), (b,) = HFVisionPolicy(model, proc).generate([request], sampling), loaded.generate([request], sampling)
    assert a.prompt_token_ids == b.prompt_token_ids and a.token_ids == b.token_ids
    assert set(IMAGE_TOKENS["idefics3"]) <= set(loaded.processor.tokenizer.get_vocab())


def test_mrope_positions_by_hand():
    """Two text tokens, a 32x32 image (grid 1x4x4, merged 2x2: four tokens), two text tokens:
    text (0,0,0), (1,1,1); the image's cells at (2 + 0, 2 + row, 2 + col); the text after it
    continues at 2 + max(2, 2) = 4."""
    tokenizer = bpe_tokenizer("qwen2_vl")
    proc = processor("qwen2_vl", tokenizer)
    family = vision_family(tiny_vlm("qwen2_vl", tokenizer), proc)
    image = family.encode_image(np.zeros((32, 32, 3), dtype=np.uint8))
    assert image.grid == (1, 4, 4) and image.num_tokens == 4
    pad = family.image_token_id
    positions = family.rope_positions([7, 8, pad, pad, pad, pad, 9, 10], [image])
    assert positions.T.tolist() == [[0, 0, 0], [1, 1, 1], [2, 2, 2], [2, 2, 3], [2, 3, 2], [2, 3, 3],
                                    [4, 4, 4], [5, 5, 5]]
    with pytest.raises(ValueError, match="fills 4 tokens"):
        family.rope_positions([7, pad, pad, 9], [image])
    with pytest.raises(ValueError, match="fewer images"):
        family.rope_positions([7, 8], [image])


def test_processed_images_are_cached_by_content_within_a_byte_budget():
    tokenizer = bpe_tokenizer("qwen2_vl")
    proc = processor("qwen2_vl", tokenizer)
    model = tiny_vlm("qwen2_vl", tokenizer)
    one = vision_family(model, proc).encode_image(np.zeros((32, 32, 3), dtype=np.uint8))
    size = sum(t.numel() * t.element_size() for t in one.tensors.values())
    family = vision_family(model, proc, cache_bytes=2 * size)
    first = images(1, seed=1)[0]
    encoded = family.encode_image(first)
    assert family.encode_image(first.copy()) is encoded  # equal pixels, another array: a cache hit
    for seed in (2, 3):
        family.encode_image(images(1, seed=seed)[0])
    assert len(family._cache) == 2 and family._cached_bytes <= 2 * size  # the oldest went first
    again = family.encode_image(first)
    assert again is not encoded and all(torch.equal(again.tensors[k], encoded.tensors[k]) for k in encoded.tensors)
    with pytest.raises(ValueError, match="H x W or H x W x 1/3/4"):
        family.encode_image(np.zeros((32, 32, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        family.encode_image(np.zeros((32, 32, 3), dtype=np.float32))
