"""The wire codec: images travel as PNG and come back as the same pixels; text survives as is."""

import json

import numpy as np

from agentgym.remote.schemas import PNG_KEY, decode_observation, dumps, encode_observation


def test_images_travel_as_png_and_come_back_identical():
    rng = np.random.default_rng(0)
    for shape in ((8, 6, 3), (5, 7), (4, 4, 4)):
        image = rng.integers(0, 256, size=shape, dtype=np.uint8)
        wire = json.loads(dumps(encode_observation({"text": "look", "image": image})))
        assert wire["text"] == "look" and set(wire["image"]) == {PNG_KEY}
        import base64

        assert base64.b64decode(wire["image"][PNG_KEY]).startswith(b"\x89PNG")
        back = decode_observation(wire)
        assert back["text"] == "look" and back["image"].dtype == np.uint8
        np.testing.assert_array_equal(back["image"], image)


def test_text_and_other_values_are_json_safe():
    assert json.loads(dumps(encode_observation("\ud800 é 中"))) == "\ud800 é 中"
    wire = json.loads(dumps(encode_observation({"text": "x", "grid": np.zeros((2, 2), dtype=np.float32)})))
    assert wire == {"text": "x", "grid": "<ndarray shape=(2, 2) dtype=float32>"}


def test_frames_encode_text_png_none_and_lists_and_refuse_the_rest():
    import pytest

    from agentgym.remote.schemas import FrameError, decode_frame, encode_frame

    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    assert encode_frame("board\n") == "board\n" and encode_frame(None) is None
    wire = json.loads(dumps(encode_frame([image, image[:, :, 0]])))
    back = decode_frame(wire)
    np.testing.assert_array_equal(back[0], image)
    np.testing.assert_array_equal(back[1], image[:, :, 0])
    for bad in (image.astype(np.float64), np.zeros((2, 2, 7), dtype=np.uint8), object(), {"a": 1}):
        with pytest.raises(FrameError, match="render"):
            encode_frame(bad)


def test_answers_written_by_dumps_answer_read_back_as_dumps_writes_them():
    """The server's answer encoder (orjson when installed, the standard library otherwise and
    for what orjson refuses) gives the JSON that dumps gives, value for value."""
    import enum
    from dataclasses import dataclass

    import pytest

    from agentgym.remote.schemas import dumps_answer
    from agentgym.trajectory import json_safe

    class Colour(enum.IntEnum):
        RED = 1

    answers = [
        {"type": "result", "id": 7, "result": {"observation": "The secret is higher than 7.", "reward": 0.0,
                                               "terminated": False, "truncated": False,
                                               "info": {"reward_components": {"progress": 0.25}, "error": None}}},
        {"text": "é 中文 \U0001F600 \x00 \u2028 \"quoted\" \\ back", "float": 1e16, "small": 5e-324, "neg": -0.0},
        {"lone": "\ud800 surrogate", "nested": [[{"deep": ["\udfff"]}]]},  # orjson refuses: the stdlib writes it
        {"big": 2**70, "minus": -(2**65), "max64": 2**64 - 1, "enum": Colour.RED, "tuple": (1, 2)},
        json_safe({"nan": float("nan"), "inf": float("-inf"), "array": np.zeros(3), 3: "int key", (1,): "tuple key"}),
        [], {}, "", None, True, 0, 3.5,
    ]
    for answer in answers:
        text = dumps_answer(answer)
        assert isinstance(text, str) and json.loads(text) == json.loads(dumps(answer)), answer
    assert "\\ud800" in dumps_answer({"lone": "\ud800"})  # the lone surrogate crosses, escaped

    @dataclass
    class Point:
        x: int

    for not_json in (Point(1), object(), {1j: 2}, np.int64(3)):  # refused, as by dumps
        with pytest.raises(TypeError):
            dumps_answer({"value": not_json})
        with pytest.raises(TypeError):
            dumps({"value": not_json})
