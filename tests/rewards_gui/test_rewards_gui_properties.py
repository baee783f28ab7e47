"""Properties of the GUI rewards (hypothesis): ranges, monotone in distance, invariant to
translating point and boxes together, the Gaussian's dependence on the relative position only,
and invariance to rescaling the coordinate frame."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agentgym.rewards.gui import (
    DEFAULT_BOX_TIERS,
    box_distance,
    box_size_reward,
    click_in_box_reward,
    gaussian_coverage_reward,
    gaussian_point_reward,
    gui_g1_reward,
    iou,
    tiered_distance_reward,
)

SETTINGS = settings(max_examples=150, deadline=None)

# screen-like coordinates: integers (exact in floats, so translations are exact too)
coordinate = st.integers(min_value=-5000, max_value=5000)
size = st.integers(min_value=1, max_value=3000)
shift = st.integers(min_value=-100_000, max_value=100_000)
real = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
fraction = st.floats(min_value=-3.0, max_value=4.0, allow_nan=False)   # relative position, off the box too
sigma = st.floats(min_value=0.05, max_value=5.0)


@st.composite
def boxes(draw):
    left, top = draw(coordinate), draw(coordinate)
    return (left, top, left + draw(size), top + draw(size))


def moved(box, dx, dy):
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


@SETTINGS
@given(real, real, boxes(), boxes(), sigma)
def test_every_reward_lies_in_its_range(x, y, box, other, s):
    frame = (10_000, 10_000)
    for value in (click_in_box_reward(x, y, box), gaussian_point_reward(x, y, box, sigma_scale=s),
                  tiered_distance_reward(x, y, box), gaussian_coverage_reward(other, box, sigma_scale=s),
                  iou(other, box), box_size_reward(other, box, frame=frame),
                  tiered_distance_reward(x, y, box, normalise="screen", frame=frame)):
        assert 0.0 <= value <= 1.0
    assert 0.0 <= gui_g1_reward(other, box, frame=frame) <= 1.375


@SETTINGS
@given(boxes(), st.floats(min_value=0, max_value=2 * math.pi), st.floats(min_value=0, max_value=5000),
       st.floats(min_value=0, max_value=5000), sigma)
def test_rewards_do_not_grow_as_the_click_moves_away_from_the_centre(box, angle, t1, t2, s):
    near, far = sorted((t1, t2))
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2

    def at(t):
        return centre_x + t * math.cos(angle), centre_y + t * math.sin(angle)

    for reward in (lambda x, y: gaussian_point_reward(x, y, box, sigma_scale=s),
                   lambda x, y: tiered_distance_reward(x, y, box),
                   lambda x, y: click_in_box_reward(x, y, box),
                   lambda x, y: tiered_distance_reward(x, y, box, normalise="screen", frame=(1920, 1080))):
        assert reward(*at(far)) <= reward(*at(near))
    assert box_distance(*at(far), box) >= box_distance(*at(near), box)


@SETTINGS
@given(coordinate, coordinate, boxes(), boxes(), shift, shift)
def test_translating_point_and_boxes_together_changes_nothing(x, y, box, other, dx, dy):
    frame = (8000, 6000)
    moved_box, moved_other = moved(box, dx, dy), moved(other, dx, dy)
    assert click_in_box_reward(x + dx, y + dy, moved_box) == click_in_box_reward(x, y, box)
    assert tiered_distance_reward(x + dx, y + dy, moved_box) == tiered_distance_reward(x, y, box)
    assert tiered_distance_reward(x + dx, y + dy, moved_box, normalise="screen", frame=frame) == \
        tiered_distance_reward(x, y, box, normalise="screen", frame=frame)
    assert iou(moved_other, moved_box) == iou(other, box)
    assert box_size_reward(moved_other, moved_box, frame=frame) == \
        pytest.approx(box_size_reward(other, box, frame=frame))
    assert gaussian_point_reward(x + dx, y + dy, moved_box) == pytest.approx(gaussian_point_reward(x, y, box),
                                                                             rel=1e-9, abs=1e-300)
    assert gaussian_coverage_reward(moved_other, moved_box) == pytest.approx(gaussian_coverage_reward(other, box),
                                                                             rel=1e-9, abs=1e-300)
    assert gui_g1_reward(moved_other, moved_box, frame=frame) == pytest.approx(gui_g1_reward(other, box, frame=frame))


@SETTINGS
@given(boxes(), boxes(), fraction, fraction, sigma)
def test_the_gaussian_depends_only_on_the_position_relative_to_the_box(box_a, box_b, u, v, s):
    def point_in(box):
        return box[0] + u * (box[2] - box[0]), box[1] + v * (box[3] - box[1])

    # u, v = fractions of the box's width and height from its top-left corner
    expected = math.exp(-0.5 * (((u - 0.5) / s) ** 2 + ((v - 0.5) / s) ** 2))
    for box in (box_a, box_b):
        reward = gaussian_point_reward(*point_in(box), box, sigma_scale=s)
        assert reward == pytest.approx(expected, rel=1e-6, abs=1e-300)
    # the box-relative distance (hence the tiers, away from a tier's edge) likewise
    distance_a, distance_b = box_distance(*point_in(box_a), box_a), box_distance(*point_in(box_b), box_b)
    assert distance_a == pytest.approx(distance_b, rel=1e-6, abs=1e-9)
    assume(all(abs(distance_a - radius) > 1e-6 for radius, _ in DEFAULT_BOX_TIERS))
    assert tiered_distance_reward(*point_in(box_a), box_a) == tiered_distance_reward(*point_in(box_b), box_b)


@SETTINGS
@given(coordinate, coordinate, boxes(), boxes(), st.sampled_from([0.25, 0.5, 2.0, 1000 / 1280]),
       st.sampled_from([0.25, 0.5, 4.0, 1000 / 800]))
def test_rescaling_the_frame_changes_nothing(x, y, box, other, kx, ky):
    # pixels → a resized image or the 0–1000 frame: every coordinate scaled per axis
    def scaled(b):
        return (b[0] * kx, b[1] * ky, b[2] * kx, b[3] * ky)

    frame, scaled_frame = (10_000, 10_000), (10_000 * kx, 10_000 * ky)
    sx, sy = x * kx, y * ky
    assert gaussian_point_reward(sx, sy, scaled(box)) == pytest.approx(gaussian_point_reward(x, y, box),
                                                                       rel=1e-9, abs=1e-300)
    assert gaussian_coverage_reward(scaled(other), scaled(box)) == pytest.approx(gaussian_coverage_reward(other, box),
                                                                                 rel=1e-9, abs=1e-300)
    assert iou(scaled(other), scaled(box)) == pytest.approx(iou(other, box), abs=1e-12)
    assert box_size_reward(scaled(other), scaled(box), frame=scaled_frame) == \
        pytest.approx(box_size_reward(other, box, frame=frame))
    assert box_distance(sx, sy, scaled(box)) == pytest.approx(box_distance(x, y, box), rel=1e-9, abs=1e-12)
    if kx in (0.25, 0.5, 2.0) and ky in (0.25, 0.5, 4.0):  # powers of two scale exactly
        assert click_in_box_reward(sx, sy, scaled(box)) == click_in_box_reward(x, y, box)


@SETTINGS
@given(boxes(), boxes(), sigma)
def test_overlap_rewards_are_symmetric_and_one_on_the_diagonal(a, b, s):
    assert iou(a, b) == pytest.approx(iou(b, a))
    assert gaussian_coverage_reward(a, b, sigma_scale=s) == pytest.approx(gaussian_coverage_reward(b, a, sigma_scale=s))
    assert iou(a, a) == 1.0
    assert gaussian_coverage_reward(a, a, sigma_scale=s) == pytest.approx(1.0)
    assert box_size_reward(a, a, frame=(20_000, 20_000)) == 1.0
