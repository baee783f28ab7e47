"""OpenAIPolicy sends image parts as OpenAI image messages: checked on a real loopback server
that decodes every ``data:`` URL it receives."""

import base64
import copy

import numpy as np
import pytest
from fastapi import FastAPI, Request as HTTPRequest

from agentgym.images import ImageLoader, ImageStore, decode_png
from agentgym.policies import openai_compat
from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.openai_compat import OpenAIPolicy
from agentgym.serve import running_server
from agentgym.trajectory import Trajectory, TrajectoryReader, TrajectoryWriter, Turn

from .traj_images_support import side_of, square_image

PREFIX = "data:image/png;base64,"


def vision_app():
    """An OpenAI-compatible chat endpoint that looks at the images: it answers where the square of
    the last image is, and keeps every request body it got."""
    app, bodies = FastAPI(), []

    @app.post("/v1/chat/completions")
    async def chat(request: HTTPRequest):
        body = await request.json()
        bodies.append(body)
        images = [decode_png(base64.b64decode(part["image_url"]["url"][len(PREFIX):]))
                  for message in body["messages"] if isinstance(message["content"], list)
                  for part in message["content"] if part["type"] == "image_url"]
        answer = side_of(images[-1]) if images else "no image"
        return {"model": body["model"], "choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"role": "assistant", "content": answer}}]}

    return app, bodies


@pytest.fixture(scope="module")
def server():
    app, bodies = vision_app()
    with running_server(app) as base_url:
        yield base_url, bodies


def conversation(*screens):
    messages = [{"role": "system", "content": "Answer left or right."}]
    for index, screen in enumerate(screens):
        if index:
            messages.append({"role": "assistant", "content": "left"})
        messages.append({"role": "user", "content": [{"type": "text", "text": f"Round {index + 1}"},
                                                     {"type": "image", "image": screen, "detail": "low"}]})
    return messages


LEFT = square_image("left", (220, 30, 30), 3, 2)
RIGHT = square_image("right", (30, 160, 60), 20, 5)


def test_image_parts_reach_the_server_as_exact_png_data_urls(server):
    base_url, bodies = server
    bodies.clear()
    policy = OpenAIPolicy(base_url, "vlm")
    messages = conversation(LEFT, RIGHT)
    sent = copy.deepcopy(messages)
    [generation] = policy.generate([Request(messages)], SamplingParams(seed=1))
    assert generation.text == "right" and generation.error is None
    [body] = bodies
    user_turns = [m for m in body["messages"] if m["role"] == "user"]
    for message, screen in zip(user_turns, (LEFT, RIGHT)):
        text, image = message["content"]
        assert text == {"type": "text", "text": text["text"]}
        assert image.keys() == {"type", "image_url"} and image["type"] == "image_url"
        assert image["image_url"]["detail"] == "low" and image["image_url"]["url"].startswith(PREFIX)
        assert np.array_equal(decode_png(base64.b64decode(image["image_url"]["url"][len(PREFIX):])), screen)
    assert body["messages"][0] == {"role": "system", "content": "Answer left or right."}
    assert body["messages"][2] == {"role": "assistant", "content": "left"}
    # the request's own messages are untouched (the rollout keeps them in the trajectory)
    assert all(m["content"] == s["content"] for m, s in zip(messages, sent) if isinstance(m["content"], str))
    first = messages[1]["content"][1]
    assert first["image"] is LEFT and first.keys() == {"type", "image", "detail"}


def test_each_image_is_encoded_once_across_turns(server, monkeypatch):
    base_url, _ = server
    encoded, original = [], openai_compat.png_data_url
    monkeypatch.setattr(openai_compat, "png_data_url", lambda image: encoded.append(image.shape) or original(image))
    policy = OpenAIPolicy(base_url, "vlm")
    screens = [square_image(side, (40, 60, 220), 4 * i, i) for i, side in enumerate(["left", "right", "left"])]
    for turn in range(1, 4):  # each turn resends the conversation so far
        [generation] = policy.generate([Request(conversation(*screens[:turn]))])
        assert generation.text == side_of(screens[turn - 1])
    assert len(encoded) == 3


def test_images_read_back_from_a_trajectory_file_are_sent(server, tmp_path):
    """Images stored by reference, read eagerly or lazily, go out as the same pixels."""
    base_url, bodies = server
    path = tmp_path / "t.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(Trajectory(turns=[Turn(0, "Round 1", "left", observation_image=RIGHT)],
                                messages=conversation(RIGHT)))
    for lazy in (False, True):
        [trajectory] = TrajectoryReader(path, lazy_images=lazy)
        bodies.clear()
        [generation] = OpenAIPolicy(base_url, "vlm").generate([Request(trajectory.messages)])
        assert generation.text == "right"
        url = bodies[0]["messages"][1]["content"][1]["image_url"]["url"]
        assert np.array_equal(decode_png(base64.b64decode(url[len(PREFIX):])), RIGHT)


def test_requests_that_cannot_carry_their_images_fail_alone(server, tmp_path):
    base_url, bodies = server
    bodies.clear()
    policy = OpenAIPolicy(base_url, "vlm")
    not_an_image = [{"role": "user", "content": [{"type": "image", "image": np.zeros((4, 4, 3), np.float32)}]}]
    reference = {"type": "image", "image_ref": "t.images/x.png", "shape": [4, 4, 3]}  # not loaded
    reference_only = [{"role": "user", "content": [reference]}]
    stored = ImageStore(tmp_path / "gone", tmp_path).put(LEFT)
    lazy = ImageLoader(tmp_path, lazy=True).load(stored, [32, 32, 3])
    missing_file = [{"role": "user", "content": [{"type": "image", "image": lazy}]}]
    (tmp_path / stored).unlink()
    good = conversation(LEFT)
    results = policy.generate([Request(not_an_image), Request(good), Request(reference_only), Request(missing_file)])
    assert results[1].text == "left" and results[1].error is None
    assert "not an image" in results[0].error and "float32" in results[0].error
    assert "without its image" in results[2].error
    assert "is missing" in results[3].error
    assert len(bodies) == 1  # only the good request was sent


def test_token_mode_refuses_images_rather_than_drop_them(server):
    base_url, bodies = server
    bodies.clear()

    class Tokenizer:
        eos_token_id = 0

    policy = OpenAIPolicy(base_url, "vlm", tokenizer=Tokenizer())
    [generation] = policy.generate([Request(conversation(LEFT), prompt_token_ids=[1, 2, 3])])
    assert generation.finish_reason == "error" and "token mode" in generation.error
    assert bodies == []

