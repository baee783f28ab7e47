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
