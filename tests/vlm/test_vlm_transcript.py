"""TokenTranscript with a vision-language processor: each image's tokens appear exactly once,
expanded by the processor, and prompt(t+1) == prompt(t) + generated(t) + appended(t) holds over
turns that each bring a new image. Text-only conversations tokenise as with the plain tokenizer."""

from __future__ import annotations

import random

import numpy as np
import pytest

from agentgym.rollout import TokenTranscript
from agentgym.rollout.transcript import encode_text, message_images
from tests.vlm.square_world import square_image


def picture(seed: int, size: int = 32) -> np.ndarray:
    rng = random.Random(seed)
    return square_image(rng, rng.choice(["left", "right"]), size)


def user(text: str, image: np.ndarray | None = None) -> dict:
    if image is None:
        return {"role": "user", "content": text}
    return {"role": "user", "content": [{"type": "text", "text": text}, {"type": "image", "image": image}]}


def image_token_id(proc) -> int:
    return int(proc.image_token_id)


def play(proc, replies):
    """A conversation whose every turn brings a new image (32x32, then 48x48, ...); replies
    are sampled as the canonical tokens of their text plus the end-of-turn token."""
    transcript = TokenTranscript(proc, [{"role": "system", "content": "Say left or right."},
                                        user("Where is the square?", picture(0))])
    prompts = [transcript.prompt_ids]
    eos = proc.tokenizer.eos_token_id
    for turn, text in enumerate(replies, start=1):
        generated = proc.tokenizer.encode(text, add_special_tokens=False) + [eos]
        transcript.add_generation(generated, [-0.1] * len(generated), text)
        transcript.add_observation([user(f"And now? ({turn})", picture(turn, 32 + 16 * (turn % 2)))])
        prompts.append(transcript.prompt_ids)
    return transcript, prompts


def test_each_images_tokens_appear_once_and_prefixes_hold(bpe_parts):
    proc, _ = bpe_parts
    transcript, prompts = play(proc, ["left", "The square is on the right", "left"])
    assert transcript.token_exact and transcript.mismatches == 0
    for before, after in zip(prompts, prompts[1:]):
        assert after[: len(before)] == before
    assert len(transcript.images) == 4
    assert all(a is b for a, b in zip(transcript.images, message_images(transcript.messages)))
    # The whole conversation, tokenised at once by the processor with all its images, is the
    # same sequence: the per-turn differences expanded exactly their own images.
    rendered = proc.apply_chat_template(transcript.messages, tokenize=False, add_generation_prompt=True)
    assert transcript.token_ids == encode_text(proc, rendered, transcript.images)
    counts = [len(tokens) for tokens in _image_runs(transcript.token_ids, image_token_id(proc))]
    bigger = 9 if "image_grid_thw" in proc.model_input_names else 4  # 48x48: Qwen2-VL 3x3, Idefics3 resizes
    assert counts == [4, bigger, 4, bigger]


def test_generated_spans_are_exactly_the_sampled_tokens(bpe_parts):
    proc, _ = bpe_parts
    transcript = TokenTranscript(proc, [user("Where?", picture(1))])
    generated = proc.tokenizer.encode("right", add_special_tokens=False) + [proc.tokenizer.eos_token_id]
    action = transcript.add_generation(generated, [-0.5] * len(generated), "right")
    observation = transcript.add_observation([user("Again?", picture(2))])
    assert transcript.token_ids[action.start: action.end] == generated
    assert transcript.loss_mask()[action.start: action.end] == [1] * len(generated)
    assert sum(transcript.loss_mask()) == len(generated)
    assert transcript.token_ids[observation.start: observation.end].count(image_token_id(proc)) == 4


def test_text_only_conversations_tokenise_as_with_the_plain_tokenizer(bpe_parts):
    proc, _ = bpe_parts
    messages = [{"role": "system", "content": "Say left or right."}, user("No picture this time.")]
    with_processor = TokenTranscript(proc, messages)
    with_tokenizer = TokenTranscript(proc.tokenizer, messages)
    assert with_processor.token_ids == with_tokenizer.token_ids and with_processor.images == []
    for transcript in (with_processor, with_tokenizer):
        generated = proc.tokenizer.encode("left", add_special_tokens=False)
        transcript.add_generation(generated, None, "left")
        transcript.add_observation([user("Right.")])
    assert with_processor.token_ids == with_tokenizer.token_ids
    assert with_processor.retokenization_drift == with_tokenizer.retokenization_drift


def test_a_plain_tokenizer_ignores_image_parts_as_before(bpe_parts):
    """With a text tokenizer the images are the template's business: nothing is expanded."""
    proc, _ = bpe_parts
    transcript = TokenTranscript(proc.tokenizer, [user("Where?", picture(3))])
    assert transcript.images == []
    assert transcript.token_ids.count(image_token_id(proc)) == 1  # the bare placeholder, unexpanded


def test_an_image_part_without_pixels_is_an_error(bpe_parts):
    proc, _ = bpe_parts
    with pytest.raises(ValueError, match="without its pixels"):
        TokenTranscript(proc, [{"role": "user", "content": [{"type": "image", "image_ref": "a.png"}]}])


def test_an_openai_image_url_part_is_an_error_saying_how_to_give_the_pixels(bpe_parts):
    """A chat template draws a placeholder for it; without this check the error blamed the processor."""
    proc, _ = bpe_parts
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    with pytest.raises(ValueError, match=r"of type 'image_url' \(OpenAI's form\): give the pixels as"):
        TokenTranscript(proc, [{"role": "user", "content": [part, {"type": "text", "text": "What is it?"}]}])
    assert message_images([{"role": "user", "content": [{"type": "text", "text": "no image"}]}]) == []


def _image_runs(token_ids, image_token):
    runs, current = [], []
    for token in token_ids:
        if token == image_token:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])
