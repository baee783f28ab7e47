"""The GUI reward functions against cases worked by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math
import re

import pytest

from agentgym.rewards.gui import (
    DEFAULT_BOX_TIERS,
    action_type_reward,
    box_distance,
    box_size_normalised_reward,
    box_size_reward,
    canonical_action_type,
    check_tiers,
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


# --------------------------------------------------------------------------- action type

@pytest.mark.parametrize("predicted, target, expected", [
    ("click", "click", 1.0),
    ("CLICK", "click", 1.0),          # case-insensitive
    (" Tap ", "click", 1.0),          # alias, surrounding blanks
    ("double click", "double_click", 1.0),
    ("DoubleClick", "double_click", 1.0),
    ("long-press", "long_press", 1.0),
    ("input_text", "type", 1.0),
    ("press_back", "back", 1.0),
    ("navigate_home", "home", 1.0),
    ("done", "finish", 1.0),
    ("scroll", "swipe", 0.0),         # different actions stay different
    ("click", "long_press", 0.0),
    ("", "", 0.0),                    # a blank type never matches, not even a blank one
    (None, "click", 0.0),
    ("click", None, 0.0),
])
def test_action_type_reward(predicted, target, expected):
    assert action_type_reward(predicted, target) == expected


def test_action_type_extra_aliases_take_precedence():
    assert action_type_reward("select", "click") == 0.0
    assert action_type_reward("select", "click", aliases={"select": "click"}) == 1.0
    assert canonical_action_type("Open App", {"open_app": "launch"}) == "launch"


# --------------------------------------------------------------------------- click in box

@pytest.mark.parametrize("x, y, expected", [
    (20, 30, 1.0),         # inside
    (10, 20, 1.0),         # top-left corner: edges count as inside
    (30, 40, 1.0),         # bottom-right corner
    (30, 25, 1.0),         # on the right edge
    (30.0001, 30, 0.0),    # just right of it
    (9.999, 30, 0.0),
    (20, 40.5, 0.0),
    (-20, -30, 0.0),       # negative coordinates are legal, just off the box
])
def test_click_in_box(x, y, expected):
    assert click_in_box_reward(x, y, (10, 20, 30, 40)) == expected


def test_click_in_box_accepts_lists_and_ints():
    assert click_in_box_reward(1, 1, [0, 0, 2, 2]) == 1.0


# --------------------------------------------------------------------------- Gaussian point (GUI-G²)

# box (100, 200, 140, 220): w = 40, h = 20, centre (120, 210); s = 0.5 → σ_x = 20, σ_y = 10
BOX = (100, 200, 140, 220)


@pytest.mark.parametrize("x, y, expected", [
    (120, 210, 1.0),                          # the centre
    (140, 210, math.exp(-0.5)),               # right edge: u = 20/20 = 1 → exp(−½) = 0.6065
    (100, 210, math.exp(-0.5)),               # left edge, symmetric
    (120, 220, math.exp(-0.5)),               # bottom edge: v = 10/10 = 1
    (130, 215, math.exp(-0.25)),              # u = v = ½ → exp(−½(¼ + ¼)) = exp(−¼) = 0.7788
    (140, 220, math.exp(-1.0)),               # corner: u = v = 1 → exp(−1) = 0.3679
    (520, 210, math.exp(-200.0)),             # u = 400/20 = 20 → exp(−200)
])
def test_gaussian_point_reward(x, y, expected):
    assert gaussian_point_reward(x, y, BOX) == pytest.approx(expected, rel=1e-12)


def test_gaussian_point_sigma_scale():
    # s = 1 → σ = (40, 20); corner: u = 20/40 = ½, v = 10/20 = ½ → exp(−¼)
    assert gaussian_point_reward(140, 220, BOX, sigma_scale=1.0) == pytest.approx(math.exp(-0.25))
    with pytest.raises(ValueError, match="sigma_scale"):
        gaussian_point_reward(1, 1, BOX, sigma_scale=0)
    with pytest.raises(ValueError, match="sigma_scale"):
        gaussian_point_reward(1, 1, BOX, sigma_scale=float("nan"))


def test_gaussian_a_large_box_does_not_pay_more_for_a_relatively_sloppy_click():
    # a click on the right edge of a 20-px icon and of a 400-px banner: both exp(−½)
    icon, banner = (0, 0, 20, 20), (0, 0, 400, 100)
    assert gaussian_point_reward(20, 10, icon) == pytest.approx(gaussian_point_reward(400, 50, banner))
    # while the hit reward pays both 1, and the same 10-px miss pays the icon far less
    assert click_in_box_reward(20, 10, icon) == click_in_box_reward(400, 50, banner) == 1.0
    # icon: u = (20 − 10)/10 = 1 → exp(−½); banner: u = (210 − 200)/200 = 0.05 → exp(−0.00125)
    assert gaussian_point_reward(20, 10, icon) == pytest.approx(math.exp(-0.5))
    assert gaussian_point_reward(210, 50, banner) == pytest.approx(math.exp(-0.00125))


# --------------------------------------------------------------------------- Gaussian coverage (GUI-G²)

def test_coverage_of_equal_boxes_is_one():
    assert gaussian_coverage_reward((3, 4, 50, 9), (3, 4, 50, 9)) == pytest.approx(1.0)


def test_coverage_of_a_box_twice_as_wide_with_the_same_centre():
    # x axis: σ_p = ½·20 = 10, σ_t = ½·10 = 5; factor √(2·10·5/(100 + 25)) = √0.8 = 0.894427
    # (Bhattacharyya: σ̄² = 62.5, D_B = ½ ln(62.5/50) = ½ ln 1.25 → exp(−D_B) = 1.25^−½); y axis equal: 1
    assert gaussian_coverage_reward((0, 0, 20, 10), (5, 0, 15, 10)) == pytest.approx(math.sqrt(0.8))


def test_coverage_of_a_shifted_box():
    # same size 10x10, centres 5 apart on x: σ = 5 both, σ̄² = 25, D_B = ⅛·25/25 = 0.125
    assert gaussian_coverage_reward((5, 0, 15, 10), (0, 0, 10, 10)) == pytest.approx(math.exp(-0.125))
    # s = 1: σ = 10, D_B = ⅛·25/100 = 1/32
    assert gaussian_coverage_reward((5, 0, 15, 10), (0, 0, 10, 10), sigma_scale=1.0) == pytest.approx(math.exp(-1 / 32))


def test_coverage_is_symmetric_and_penalises_inflated_boxes():
    target = (40, 40, 60, 60)
    exact, inflated, huge = target, (30, 30, 70, 70), (0, 0, 100, 100)
    # inflated: q = 2 per axis → (√0.8)² = 0.8; huge: q = 5 → (√(10/26))² = 10/26
    assert gaussian_coverage_reward(inflated, target) == pytest.approx(0.8)
    assert gaussian_coverage_reward(huge, target) == pytest.approx(10 / 26)
    assert gaussian_coverage_reward(target, huge) == pytest.approx(gaussian_coverage_reward(huge, target))
    assert gaussian_coverage_reward(exact, target) > gaussian_coverage_reward(inflated, target) > \
        gaussian_coverage_reward(huge, target)


# --------------------------------------------------------------------------- IoU

@pytest.mark.parametrize("a, b, expected", [
    ((0, 0, 2, 2), (1, 1, 3, 3), 1 / 7),      # overlap 1, union 4 + 4 − 1 = 7
    ((0, 0, 4, 4), (1, 1, 3, 3), 0.25),       # containment: 4 / 16
    ((0, 0, 1, 1), (1, 0, 2, 1), 0.0),        # touching edges: no area in common
    ((0, 0, 1, 1), (5, 5, 6, 6), 0.0),        # apart
    ((0, 0, 3, 2), (0, 0, 3, 2), 1.0),        # equal
    ((0, 0, 10, 2), (5, 0, 15, 2), 1 / 3),    # overlap 5·2 = 10, union 20 + 20 − 10 = 30
])
def test_iou(a, b, expected):
    assert iou(a, b) == pytest.approx(expected)
    assert iou(b, a) == pytest.approx(expected)


def test_predicted_box_reward_plain_and_thresholded():
    assert predicted_box_reward((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
    assert predicted_box_reward((0, 0, 2, 2), (1, 1, 3, 3), threshold=0.5) == 0.0
    assert predicted_box_reward((0, 0, 4, 4), (1, 1, 3, 3), threshold=0.25) == 1.0   # IoU 0.25 ≥ 0.25
    with pytest.raises(ValueError, match="threshold"):
        predicted_box_reward((0, 0, 1, 1), (0, 0, 1, 1), threshold=1.5)


# --------------------------------------------------------------------------- GUI-G1's R_box and total

def test_box_size_reward_square_frame():
    # frame 100x100, target (10, 10, 30, 30), pred (12, 10, 30, 26):
    # r = (1 − 2/100, 1 − 0/100, 1 − 0/100, 1 − 4/100) = (0.98, 1, 1, 0.96)
    # R_box = 4 / (1/0.98 + 1 + 1 + 1/0.96) = 4 / 4.0620748 = 0.9847184
    expected = 4 / (1 / 0.98 + 1 + 1 + 1 / 0.96)
    assert expected == pytest.approx(0.9847184, abs=1e-7)
    assert box_size_reward((12, 10, 30, 26), (10, 10, 30, 30), frame=(100, 100)) == pytest.approx(expected)
    assert box_size_reward((12, 10, 30, 26), (10, 10, 30, 30), frame={"width": 100, "height": 100}) == \
        pytest.approx(expected)
    assert box_size_normalised_reward is box_size_reward


def test_box_size_reward_uses_width_for_x_and_height_for_y():
    # frame 200 wide, 100 high; pred moved 20 px right: r = (1 − 20/200, 1, 1 − 20/200, 1) = (0.9, 1, 0.9, 1)
    # R_box = 4 / (2/0.9 + 2) = 4 / 4.2222 = 0.9473684
    assert box_size_reward((30, 10, 50, 30), (10, 10, 30, 30), frame=(200, 100)) == pytest.approx(0.9473684, abs=1e-7)
    # the same 20 px moved down: (1, 0.8, 1, 0.8) → 4 / (2 + 2/0.8) = 4 / 4.5 = 0.8889
    assert box_size_reward((10, 30, 30, 50), (10, 10, 30, 30), frame=(200, 100)) == pytest.approx(4 / 4.5)


def test_box_size_reward_is_zero_when_a_corner_is_a_whole_frame_away():
    # left differs by 100 = W → r_1 = 0 → R_box = 0 (harmonic mean of a zero term)
    assert box_size_reward((110, 10, 130, 30), (10, 10, 30, 30), frame=(100, 100)) == 0.0


def test_gui_g1_total():
    # hit: pred centre (21, 18) lies in the target → 1
    # IoU: pred (12,10,30,26) ⊂ target: 18·16 = 288 over 20·20 = 400 → 0.72
    # R_box = 0.9847184 (above) → total 1 + 0.25·0.72 + 0.125·0.9847184 = 1.3030898
    total = gui_g1_reward((12, 10, 30, 26), (10, 10, 30, 30), frame=(100, 100))
    assert total == pytest.approx(1 + 0.25 * 0.72 + 0.125 * (4 / (1 / 0.98 + 2 + 1 / 0.96)))
    assert total == pytest.approx(1.3030898, abs=1e-7)


def test_gui_g1_pays_the_right_size_more_than_either_hack():
    # GUI-G1's argument: the hit reward alone pays a tiny box and a huge box alike (their centres
    # both hit), which lets GRPO drift in box size; IoU + R_box rank the right size first.
    target, frame = (40, 40, 60, 60), (100, 100)
    tiny, huge = (49, 49, 51, 51), (0, 0, 100, 100)
    for box in (target, tiny, huge):
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        assert click_in_box_reward(*centre, target) == 1.0
    # exact: 1 + 0.25 + 0.125 = 1.375
    # tiny: IoU 4/400 = 0.01; r_i = 1 − 9/100 = 0.91 → 1 + 0.0025 + 0.11375 = 1.11625
    # huge: IoU 400/10000 = 0.04; r_i = 1 − 40/100 = 0.6 → 1 + 0.01 + 0.075 = 1.085
    assert gui_g1_reward(target, target, frame=frame) == pytest.approx(1.375)
    assert gui_g1_reward(tiny, target, frame=frame) == pytest.approx(1.11625)
    assert gui_g1_reward(huge, target, frame=frame) == pytest.approx(1.085)
    # a box whose centre misses: no hit; IoU 0; R_box with r = (0.6, 1, 0.6, 1) → 4/(2/0.6 + 2) = 0.75
    assert gui_g1_reward((0, 40, 20, 60), target, frame=frame) == pytest.approx(0.125 * 0.75)
    with pytest.raises(ValueError, match="alpha and beta"):
        gui_g1_reward(target, target, frame=frame, alpha=-1)


# --------------------------------------------------------------------------- tiered distance (SSL)

# box (10, 10, 20, 20): w = h = 10; default tiers: d ≤ 0 → 1, ≤ 0.5 → 0.5, ≤ 1 → 0.25, else 0
@pytest.mark.parametrize("x, y, distance, reward", [
    (15, 15, 0.0, 1.0),                         # inside
    (20, 20, 0.0, 1.0),                         # on the corner
    (25, 15, 0.5, 0.5),                         # d_x = 5 → 5/10 = 0.5
    (26, 15, 0.6, 0.25),                        # 6/10
    (30, 15, 1.0, 0.25),                        # 10/10: the tier's edge is inside it
    (31, 15, 1.1, 0.0),
    (26, 26, math.hypot(0.6, 0.6), 0.25),       # corner region: √(0.36 + 0.36) = 0.8485
    (15, 4, 0.6, 0.25),                         # above: d_y = 10 − 4 = 6
])
def test_tiered_distance_box_relative(x, y, distance, reward):
    box = (10, 10, 20, 20)
    assert box_distance(x, y, box) == pytest.approx(distance)
    assert tiered_distance_reward(x, y, box) == reward


def test_tiered_distance_is_per_axis_relative_to_the_box():
    wide = (0, 0, 40, 10)                                      # w = 40, h = 10
    assert tiered_distance_reward(50, 5, wide) == 0.5          # d_x = 10 → 10/40 = 0.25
    assert tiered_distance_reward(20, 14, wide) == 0.5         # d_y = 4 → 0.4
    assert tiered_distance_reward(20, 16, wide) == 0.25        # d_y = 6 → 0.6


def test_tiered_distance_screen_relative():
    # frame 300x400 → diagonal 500; default screen tiers: 0 → 1, ≤ 0.01 → 0.5, ≤ 0.03 → 0.25
    box, frame = (100, 100, 120, 120), (300, 400)
    assert tiered_distance_reward(125, 100, box, normalise="screen", frame=frame) == 0.5    # 5/500 = 0.01
    assert tiered_distance_reward(130, 100, box, normalise="screen", frame=frame) == 0.25   # 10/500 = 0.02
    assert tiered_distance_reward(135, 100, box, normalise="screen", frame=frame) == 0.25   # 15/500 = 0.03
    assert tiered_distance_reward(136, 100, box, normalise="screen", frame=frame) == 0.0    # 16/500 = 0.032
    assert box_distance(123, 124, box, normalise="screen", frame={"width": 300, "height": 400}) == \
        pytest.approx(5 / 500)                                                              # √(3² + 4²) = 5
    with pytest.raises(ValueError, match="frame"):
        tiered_distance_reward(1, 1, box, normalise="screen")
    with pytest.raises(ValueError, match="normalise"):
        tiered_distance_reward(1, 1, box, normalise="diagonal")


def test_custom_tiers_and_a_floor():
    tiers = ((0.0, 1.0), (2.0, 0.3), (math.inf, 0.1))
    assert tiered_distance_reward(15, 15, (10, 10, 20, 20), tiers=tiers) == 1.0
    assert tiered_distance_reward(40, 15, (10, 10, 20, 20), tiers=tiers) == 0.3    # d = 2
    assert tiered_distance_reward(1e6, 15, (10, 10, 20, 20), tiers=tiers) == 0.1
    assert check_tiers(DEFAULT_BOX_TIERS) == DEFAULT_BOX_TIERS


@pytest.mark.parametrize("tiers, words", [
    ((), "at least one"),
    (((0.0, 0.5), (1.0, 0.8)), "not increase"),
    (((0.0, 1.0), (0.0, 0.5)), "strictly increasing"),
    (((0.5, 1.0), (0.2, 0.5)), "strictly increasing"),
    (((0.0, 1.5),), r"\[0, 1\]"),
    (((float("nan"), 1.0),), "radii"),
    (((0.0, 1.0), (math.inf, 0.5), (9e9, 0.1)), "radii"),
    (((-1.0, 1.0),), "radii"),
    ("abc", "pairs"),
])
def test_bad_tiers_are_a_configuration_error(tiers, words):
    with pytest.raises(ValueError, match=words):
        tiered_distance_reward(1, 1, (0, 0, 2, 2), tiers=tiers)


# --------------------------------------------------------------------------- typed text (GUI-R1)

@pytest.mark.parametrize("predicted, target, expected", [
    ("hello world", "hello world", 1.0),
    ("Hello, World!", "hello world", 1.0),       # SQuAD normalisation: case and punctuation
    ("hello", "hello world", 1.0),               # P = 1, R = ½ → F1 = 2·½/1.5 = 0.667 > 0.5
    ("hello there friend", "hello world", 0.0),  # P = ⅓, R = ½ → F1 = 2·⅙/(⅚) = 0.4
    ("hello big world", "hello world", 1.0),     # P = ⅔, R = 1 → F1 = 0.8
    ("", "", 1.0),                               # both empty: equal
    ("", "hello", 0.0),
    (None, "hello", 0.0),
])
def test_text_match_reward(predicted, target, expected):
    assert text_match_reward(predicted, target) == expected


# --------------------------------------------------------------------------- format

@pytest.mark.parametrize("text, expected", [
    ("<think>the Save button is top right</think><answer>click(1200, 40)</answer>", 1.0),
    ("  <think>\n a \n</think>\n\n<answer> x </answer>\n", 1.0),     # whitespace around and between
    ("<think></think><answer>x</answer>", 1.0),                      # fast thinking: empty reasoning is fine
    ("<think>a</think><answer>  </answer>", 0.0),                    # blank answer
    ("<answer>x</answer>", 0.0),                                     # no reasoning block
    ("ok <think>a</think><answer>x</answer>", 0.0),                  # text before
    ("<think>a</think><answer>x</answer> thanks", 0.0),              # text after
    ("<think>a</think> so <answer>x</answer>", 0.0),                 # text between
    ("<answer>x</answer><think>a</think>", 0.0),                     # reversed
    ("<think>a</think><answer>x</answer><answer>y</answer>", 0.0),   # two answers
    ("<think>a <answer>x</answer></think><answer>x</answer>", 0.0),  # nested
    ("<think>a</think><answer>x", 0.0),                              # unclosed
    ('{"action": "click", "x": 1, "y": 2}', 0.0),
])
def test_think_answer_format(text, expected):
    assert format_reward(text) == expected
    assert format_reward(text, pattern="think_answer") == expected


def test_answer_only_format():
    assert format_reward("<answer>click</answer>", pattern="answer") == 1.0
    assert format_reward("<think>a</think><answer>click</answer>", pattern="answer") == 0.0
    assert format_reward("<answer></answer>", pattern="answer") == 0.0


@pytest.mark.parametrize("text, expected", [
    ('{"action": "click", "x": 120, "y": 340}', 1.0),
    ('  {"action": "back"}\n', 1.0),
    ('{"action": "type", "text": "héllo ✓"}', 1.0),
    ('{"x": 1, "y": 2}', 0.0),                  # no action
    ('{"action": ""}', 0.0),
    ('{"action": 3}', 0.0),
    ('[{"action": "click"}]', 0.0),             # a list, not an object
    ('click(120, 340)', 0.0),                   # the function-call spelling is not JSON
    ('```json\n{"action": "click"}\n```', 0.0),  # bare JSON only
    ('{"action": "click", "x": 1', 0.0),        # truncated
])
def test_json_action_format(text, expected):
    assert format_reward(text, pattern="json_action") == expected


def test_think_answer_json_format():
    good = '<think>Save is top right</think><answer>{"action": "click", "x": 3, "y": 4}</answer>'
    assert format_reward(good, pattern="think_answer_json") == 1.0
    assert format_reward("<think>t</think><answer>click(3, 4)</answer>", pattern="think_answer_json") == 0.0


def test_regex_pattern_and_unknown_names():
    assert format_reward("123", pattern=re.compile(r"\d+")) == 1.0
    assert format_reward("12a", pattern=re.compile(r"\d+")) == 0.0      # the whole text must match
    with pytest.raises(ValueError, match="pattern"):
        format_reward("x", pattern="xml")
