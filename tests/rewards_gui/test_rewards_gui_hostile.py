"""Hostile input to the GUI rewards: whatever an agent writes (NaN, inf, huge numbers, strings,
inverted boxes, megabytes of text, deeply nested JSON) scores 0 and never raises."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.rewards.gui import (
    action_type_reward,
    as_box,
    box_distance,
    box_size_reward,
    click_in_box_reward,
    format_reward,
    gaussian_coverage_reward,
    gaussian_point_reward,
    gui_g1_reward,
    iou,
    predicted_box_reward,
    text_match_reward,
    tiered_distance_reward,
)

GOOD_BOX = (10.0, 10.0, 20.0, 20.0)
NAN, INF = float("nan"), float("inf")


class HostileSequence:
    """Claims four items, then raises on access."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        raise RuntimeError("no")


class LyingLength:
    def __len__(self):
        raise OverflowError("too long")


BAD_COORDINATES = [NAN, INF, -INF, None, "15", b"15", True, False, 10**400, -(10**400), [15], {"x": 15},
                   complex(15, 0), object()]
BAD_BOXES = [
    (20, 10, 10, 20),              # inverted horizontally
    (10, 20, 20, 10),              # inverted vertically
    (10, 10, 10, 20),              # zero width
    (10, 10, 20, 10),              # zero height
    (10, 10, 20),                  # three numbers
    (10, 10, 20, 20, 30),          # five
    (NAN, 10, 20, 20), (10, 10, INF, 20), (-INF, 10, 20, 20),
    (-1.7e308, 0, 1.7e308, 1),     # finite corners but an infinite width
    ("10", "10", "20", "20"), "10,10,20,20", b"abcd", {"left": 10}, None, 7, [],
    (True, 0, 1, 1), (10**400, 0, 10**401, 1),
    HostileSequence(), LyingLength(), [[10], [10], [20], [20]],
]


def all_rewards(x, y, box, other=GOOD_BOX, frame=(100, 100)):
    return {
        "click": click_in_box_reward(x, y, box),
        "gaussian": gaussian_point_reward(x, y, box),
        "tiered": tiered_distance_reward(x, y, box),
        "tiered_screen": tiered_distance_reward(x, y, box, normalise="screen", frame=frame),
        "coverage": gaussian_coverage_reward(other, box),
        "coverage_swapped": gaussian_coverage_reward(box, other),
        "iou": iou(other, box),
        "box_reward": predicted_box_reward(box, other),
        "box_size": box_size_reward(other, box, frame=frame),
        "g1": gui_g1_reward(box, other, frame=frame),
    }


def stable_id(value):
    """A test id that is the same in every process (no memory addresses: pytest-xdist's workers
    must collect the same ids)."""
    text = repr(value)
    return f"<{type(value).__name__}>" if " at 0x" in text else text


@pytest.mark.parametrize("bad", BAD_COORDINATES, ids=stable_id)
def test_bad_coordinates_score_zero(bad):
    for values in (all_rewards(bad, 15, GOOD_BOX), all_rewards(15, bad, GOOD_BOX)):
        for name in ("click", "gaussian", "tiered", "tiered_screen"):
            assert values[name] == 0.0, name
    assert box_distance(bad, 15, GOOD_BOX) is None


@pytest.mark.parametrize("bad", BAD_BOXES, ids=stable_id)
def test_bad_boxes_score_zero(bad):
    assert as_box(bad) is None
    assert all(value == 0.0 for value in all_rewards(15, 15, bad).values())


@pytest.mark.parametrize("frame", [None, (0, 100), (100, -5), (NAN, 100), (INF, 100), "100x100", {"width": 100},
                                   {"width": "100", "height": 100}, (100,), (True, 100)], ids=repr)
def test_bad_frames_score_zero(frame):
    assert box_size_reward(GOOD_BOX, GOOD_BOX, frame=frame) == 0.0
    # with a bad frame GUI-G1 still pays the hit and the IoU, never the box term
    assert gui_g1_reward(GOOD_BOX, GOOD_BOX, frame=frame) == pytest.approx(1.25)
    if frame is not None:
        assert tiered_distance_reward(15, 15, GOOD_BOX, normalise="screen", frame=frame) == 0.0


def test_numpy_numbers_and_arrays_are_accepted():
    box = np.array([10.0, 10.0, 20.0, 20.0])
    assert as_box(box) == GOOD_BOX
    assert click_in_box_reward(np.float32(15), np.int64(15), box) == 1.0
    assert gaussian_point_reward(np.float64(15), 15, box) == 1.0
    assert click_in_box_reward(np.float64("nan"), 15, box) == 0.0


def test_huge_but_finite_coordinates_stay_in_range():
    for x in (1e308, -1e308, 5e-324):
        values = all_rewards(x, x, GOOD_BOX)
        assert all(0.0 <= v <= 1.375 for v in values.values()), values
    huge_box = (-1e307, -1e307, 1e307, 1e307)
    assert click_in_box_reward(0, 0, huge_box) == 1.0
    assert gaussian_point_reward(0, 0, huge_box) == 1.0
    assert 0.0 <= gaussian_coverage_reward(huge_box, GOOD_BOX) <= 1.0
    tiny_box = (0.0, 0.0, 1e-300, 1e-300)
    assert 0.0 <= gaussian_point_reward(1e-300, 0, tiny_box) <= 1.0
    assert 0.0 <= gaussian_coverage_reward(tiny_box, GOOD_BOX) <= 1.0
    assert tiered_distance_reward(1e308, 0, tiny_box) == 0.0


anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                     st.lists(st.floats(), max_size=5), st.tuples(st.floats(), st.floats(), st.floats(), st.floats()),
                     st.tuples(st.integers(), st.integers(), st.integers(), st.integers()))


@settings(max_examples=300, deadline=None)
@given(anything, anything, anything, anything)
def test_nothing_raises_and_everything_stays_in_range(x, y, box, other):
    values = all_rewards(x, y, box, other if as_box(other) else GOOD_BOX)
    values.update(all_rewards(x, y, GOOD_BOX, box))
    for name, value in values.items():
        assert isinstance(value, float), name
        assert 0.0 <= value <= (1.375 if name == "g1" else 1.0), (name, value)
    assert action_type_reward(x, y) in (0.0, 1.0)
    assert text_match_reward(x, y) in (0.0, 1.0)
    assert format_reward(x) in (0.0, 1.0)


_NO_TAG = r"(?:(?!</?think>|</?answer>).)*"
_REFERENCE = {
    "think_answer": re.compile(rf"\s*<think>{_NO_TAG}</think>\s*<answer>({_NO_TAG})</answer>\s*", re.DOTALL),
    "answer": re.compile(rf"\s*<answer>({_NO_TAG})</answer>\s*", re.DOTALL),
}
PIECES = ["<think>", "</think>", "<answer>", "</answer>",
          " ", "\n", "x", "{", "}", '"', "action", ":", "\ud800", "\x00"]


soup = st.lists(st.sampled_from(PIECES), max_size=5).map("".join)
blank = st.sampled_from(["", " ", "\n\t", "x "])


body = st.one_of(st.sampled_from(["x", " a b ", '{"action": "click"}', "", "  "]), soup)


@st.composite
def near_misses(draw):
    """The right template with blanks or junk around and between, plain text or tag soup inside,
    and at most one tag dropped."""
    parts = [draw(blank), "<think>", draw(body), "</think>", draw(blank),
             "<answer>", draw(body), "</answer>", draw(blank)]
    dropped = draw(st.sampled_from([None, None, None, 1, 3, 5, 7]))
    return "".join(part for index, part in enumerate(parts) if index != dropped)


@settings(max_examples=400, deadline=None)
@given(st.one_of(near_misses(), st.lists(st.sampled_from(PIECES), max_size=14).map("".join)))
def test_tag_soup_is_judged_like_a_reference_regex(text):
    # the single-pass tag scanner agrees with a (slow, backtracking) regular expression
    for pattern, reference in _REFERENCE.items():
        match = reference.fullmatch(text)
        expected = float(match is not None and match.group(1).strip() != "")
        assert format_reward(text, pattern=pattern) == expected, (pattern, text)
    assert format_reward(text, pattern="json_action") in (0.0, 1.0)
    assert format_reward(text, pattern="think_answer_json") <= format_reward(text, pattern="think_answer")


def test_huge_and_strange_texts_are_judged_quickly():
    megabytes = "<think>" + "a</think>" * 200_000 + "<answer>x</answer>"        # ~1.8 MB, 200k closing tags
    nested = "[" * 200_000 + "]" * 200_000                                       # deeper than json's recursion
    answer_nested = "<think></think><answer>" + "{\"a\":" * 100_000 + "</answer>"
    start = time.perf_counter()
    assert format_reward(megabytes) == 0.0
    assert format_reward("<think>" + "x" * 5_000_000 + "</think><answer>ok</answer>") == 1.0
    assert format_reward(nested, pattern="json_action") == 0.0
    assert format_reward(answer_nested, pattern="think_answer_json") == 0.0
    assert format_reward("\ud800\udfff garbage \x00", pattern="json_action") == 0.0
    assert text_match_reward("word " * 200_000, "word") == 0.0    # F1 tiny, but computed
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize("bad", [None, 3, b"click", ["click"], "   ", "\x00"])
def test_action_type_of_garbage_never_matches(bad):
    assert action_type_reward(bad, "click") == 0.0
    assert action_type_reward("click", "click") == 1.0
