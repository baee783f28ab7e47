"""decode_png of PNG files other encoders write (palette, 1-bit, grey with alpha, as optimisers
and remote environments produce them): the image's colours, as ``is_image`` defines an image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from agentgym.images import decode_png, is_image


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _colours():
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[:, :3] = (200, 10, 30)
    rgb[:, 3:] = (20, 180, 90)
    return rgb


@pytest.mark.parametrize("mode, as_mode", [("P", "RGB"), ("1", "L"), ("LA", "RGBA")])
def test_decode_png_gives_the_colours_of_a_png_of_another_mode(mode, as_mode):
    """A palette PNG decoded to its palette indices was a grey image of other pixels; grey with
    alpha was ``H x W x 2``, no image at all."""
    image = Image.fromarray(_colours()).convert(mode)

    decoded = decode_png(_png(image))

    assert is_image(decoded)
    assert np.array_equal(decoded, np.asarray(image.convert(as_mode)))


def test_decode_png_of_a_palette_png_with_transparency_keeps_its_alpha():
    image = Image.fromarray(_colours()).convert("P")
    image.info["transparency"] = int(np.asarray(image)[0, 0])

    decoded = decode_png(_png(image))

    assert decoded.shape == (4, 6, 4) and decoded[0, 0, 3] == 0 and decoded[0, 5, 3] == 255
    assert np.array_equal(decoded, np.asarray(image.convert("RGBA")))


def test_decode_png_refuses_sixteen_bit_pixels():
    with pytest.raises(ValueError, match="not uint8"):
        decode_png(_png(Image.new("I;16", (5, 4), 1000)))
