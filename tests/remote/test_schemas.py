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
