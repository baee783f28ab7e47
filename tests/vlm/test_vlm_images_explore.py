"""Hostile images for vision-language policies: PIL images whose pixels ``numpy.asarray`` does
not give as colours (palette, CMYK, grey with alpha) reach the model in their true colours."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from agentgym.images import as_rgb


def _colours():
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[:, :3] = (200, 10, 30)
    rgb[:, 3:] = (20, 180, 90)
    return rgb


@pytest.mark.parametrize("mode", ["P", "PA", "CMYK", "LA", "1"])
def test_as_rgb_of_a_pil_image_gives_its_colours_as_pillow_converts_them(mode):
    """``numpy.asarray`` of a palette image gives palette indices (read as grey), of CMYK four
    ink channels (read as RGBA): the colours must come back as Pillow's ``convert("RGB")``."""
    image = Image.fromarray(_colours()).convert(mode)

    out = as_rgb(image)

    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    assert (out == np.asarray(image.convert("RGB"))).all()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_as_rgb_of_a_plain_pil_image_is_as_of_its_array(mode):
    image = Image.fromarray(_colours()).convert(mode)
    assert (as_rgb(image) == as_rgb(np.asarray(image))).all()


def test_as_rgb_of_a_pil_image_of_wide_pixels_is_refused_not_clipped():
    """16-bit and float images hold values past 255: refused, not silently clipped."""
    with pytest.raises(ValueError, match="an image must be"):
        as_rgb(Image.new("I;16", (5, 4), 1000))
