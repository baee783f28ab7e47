"""Coordinate frames: the map between the agent's coordinates and the screen is exact both ways,
boxes map with it, and a resized image shows at each pixel exactly the screen region the map
sends that pixel to (no drift)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agentgym.core import ConfigError
from agentgym.envs.gui.frames import FRAMES, CoordinateFrame
from agentgym.envs.gui.themes import DEVICE_SIZES

SCREENS = list(DEVICE_SIZES.values())


def frames():
    for screen in SCREENS:
        yield CoordinateFrame.make("pixels", screen)
        yield CoordinateFrame.make("normalized_1000", screen)
        yield CoordinateFrame.make("resized", screen)  # longer side 1024: an upscale
        yield CoordinateFrame.make("resized", screen, max_side=640)
        yield CoordinateFrame.make("resized", screen, max_side=1000, multiple_of=28)


@pytest.mark.parametrize("frame", list(frames()), ids=lambda f: f"{f.name}-{f.screen}-{f.image}")
def test_every_screen_pixel_maps_to_the_frame_and_back(frame):
    width, height = frame.screen
    xs = np.arange(width, dtype=float)
    ys = np.arange(height, dtype=float)
    for x, y in itertools.product(xs[:: max(1, width // 97)], ys[:: max(1, height // 89)]):
        fx, fy = frame.from_screen(x, y)
        assert frame.contains(fx, fy)
        back = frame.to_screen(fx, fy)
        assert back == pytest.approx((x, y), abs=1e-9)
    # and the corners of the frame itself
    assert frame.to_screen(0, 0) == (0, 0)
    if frame.name != "normalized_1000":
        assert frame.to_screen(*frame.extent) == pytest.approx(frame.screen)


@pytest.mark.parametrize("frame", list(frames()), ids=lambda f: f"{f.name}-{f.screen}-{f.image}")
def test_a_point_is_in_a_box_in_the_frame_exactly_when_it_is_on_the_screen(frame):
    rng = np.random.default_rng(0)
    width, height = frame.screen
    for _ in range(200):
        left, top = rng.uniform(0, width - 30), rng.uniform(0, height - 30)
        box = [left, top, left + rng.uniform(3, 30), top + rng.uniform(3, 30)]
        framed = frame.box_from_screen(box)
        assert frame.box_to_screen(framed) == pytest.approx(box, abs=1e-9)
        for _ in range(20):
            fx = rng.uniform(framed[0] - 5, framed[2] + 5)
            fy = rng.uniform(framed[1] - 5, framed[3] + 5)
            inside_frame = framed[0] <= fx <= framed[2] and framed[1] <= fy <= framed[3]
            sx, sy = frame.to_screen(fx, fy)
            inside_screen = box[0] - 1e-9 <= sx <= box[2] + 1e-9 and box[1] - 1e-9 <= sy <= box[3] + 1e-9
            assert inside_frame == inside_screen or min(abs(sx - box[0]), abs(sx - box[2]), abs(sy - box[1]),
                                                        abs(sy - box[3])) < 1e-6


def test_the_resized_image_shows_each_pixel_where_the_frame_says():
    """A screenshot with one white rectangle on black: after resizing, an image pixel whose
    region (mapped by the frame) lies wholly inside the rectangle is white, one wholly outside is
    black, whatever the rounding of the image's size did to the aspect ratio."""
    screen = (412, 915)
    frame = CoordinateFrame.make("resized", screen, max_side=1000, multiple_of=28)
    assert frame.image == (448, 980)  # not 412:915 exactly: per-axis scales differ
    assert frame.scale[0] != pytest.approx(frame.scale[1], abs=1e-3)
    shot = np.zeros((screen[1], screen[0], 3), dtype=np.uint8)
    rect = (101, 203, 297, 611)  # left, top, right, bottom in screen pixels
    shot[rect[1]:rect[3], rect[0]:rect[2]] = 255
    image = frame.image_of(shot)
    assert image.shape == (frame.image[1], frame.image[0], 3)
    sx, sy = frame.scale
    checked = 0
    for v in range(0, frame.image[1], 7):
        for u in range(0, frame.image[0], 7):
            left, top, right, bottom = u * sx, v * sy, (u + 1) * sx, (v + 1) * sy
            if left >= rect[0] and right <= rect[2] and top >= rect[1] and bottom <= rect[3]:
                assert image[v, u, 0] == 255, (u, v)
                checked += 1
            elif right <= rect[0] or left >= rect[2] or bottom <= rect[1] or top >= rect[3]:
                assert image[v, u, 0] == 0, (u, v)
                checked += 1
    assert checked > 5000


def test_normalized_far_edge_stays_on_the_screen():
    frame = CoordinateFrame.make("normalized_1000", (1280, 800))
    assert frame.contains(1000, 1000) and not frame.contains(1000.5, 0)
    assert frame.to_screen(1000, 1000) == (1279.5, 799.5)
    assert frame.to_screen(500, 500) == (640.0, 400.0)
    assert frame.describe()["width"] == 1000 and frame.describe()["kind"] == "normalized_1000"


def test_pixels_frame_is_the_identity_and_excludes_the_far_edge():
    frame = CoordinateFrame.make("pixels", (412, 915))
    assert frame.to_screen(12.5, 7) == (12.5, 7.0) and frame.scale == (1.0, 1.0)
    assert frame.contains(411.9, 914.9) and not frame.contains(412, 0) and not frame.contains(-0.1, 3)


def test_describe_records_everything_needed_to_map_back():
    frame = CoordinateFrame.make("resized", (1280, 800), max_side=512)
    record = frame.describe()
    assert record["kind"] == "resized" and (record["width"], record["height"]) == frame.image == (512, 320)
    assert (record["screen_width"], record["screen_height"]) == (1280, 800)
    assert record["scale_x"] * record["width"] == 1280 and record["scale_y"] * record["height"] == 800


@pytest.mark.parametrize("kwargs", [{"name": "pixel"}, {"name": "resized", "max_side": 8},
                                    {"name": "resized", "multiple_of": 0},
                                    {"name": "resized", "max_side": 64, "multiple_of": 100}])
def test_bad_frames_are_config_errors(kwargs):
    name = kwargs.pop("name")
    with pytest.raises(ConfigError):
        CoordinateFrame.make(name, (412, 915), **kwargs)


def test_a_resized_side_past_the_limit_is_refused_before_any_image_is_made():
    """``gui/Navigation-v0`` with ``frame="resized", max_side=200000`` ended in a MemoryError at
    ``make()`` (a 70 GB image); the side is now checked with the other arguments."""
    with pytest.raises(ConfigError, match="max_side must be at most 4096, got 200000"):
        CoordinateFrame.make("resized", (412, 915), max_side=200_000)
    assert CoordinateFrame.make("resized", (412, 915), max_side=4096).extent[1] == 4096


def test_all_frames_are_listed():
    assert FRAMES == ("pixels", "normalized_1000", "resized")
