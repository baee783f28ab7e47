"""The GUI reward providers read ``turn.info["gui"]`` (the contract in agentgym/rewards/gui.py)
and write their components into the turns."""

from __future__ import annotations

import json
import math
import re

import pytest

from agentgym.rewards import (
    CombinedReward,
    GuiActionReward,
    GuiActionTypeReward,
    GuiBoxIoUReward,
    GuiClickReward,
    GuiFormatReward,
    GuiG1Reward,
    GuiGaussianCoverageReward,
    GuiGaussianPointReward,
    GuiTextReward,
    GuiTieredDistanceReward,
    component_means,
)
from agentgym.trajectory import Trajectory, Turn

FRAME = {"kind": "pixels", "width": 100, "height": 100}
TARGET = {"type": "click", "box": [10, 10, 30, 30]}       # centre (20, 20), σ = (10, 10) at s = ½
THINK = "<think>the button</think><answer>{}</answer>"


def turn(index, predicted, target=TARGET, frame=FRAME, action=None, **extra):
    record = {"predicted": predicted, "target": target, "frame": frame, **extra}
    text = action if action is not None else THINK.format(json.dumps(predicted))
    return Turn(index, "obs", text, info={"gui": record})


def run(provider, *turns):
    trajectory = Trajectory(turns=list(turns))
    provider([trajectory])
    return [t.reward_components.get(provider.name) for t in trajectory.turns]


def test_click_gaussian_and_tiered_on_three_clicks():
    turns = [turn(0, {"type": "click", "x": 20, "y": 20}),     # the centre
             turn(1, {"type": "tap", "x": 30, "y": 20}),       # the right edge
             turn(2, {"type": "click", "x": 35, "y": 20})]     # 5 px right of it: d = 5/20 = ¼ box
    assert run(GuiClickReward(), *turns) == [1.0, 1.0, 0.0]
    # u = 0, 1, 1.5 → exp(0), exp(−½), exp(−1.125)
    assert run(GuiGaussianPointReward(), *turns) == pytest.approx([1.0, math.exp(-0.5), math.exp(-1.125)])
    assert run(GuiTieredDistanceReward(), *turns) == [1.0, 1.0, 0.5]
    # screen tiers: 5 px over a diagonal of √(100² + 100²) = 141.4 → 0.0354 > 0.03 → 0
    assert run(GuiTieredDistanceReward(normalise="screen"), *turns) == [1.0, 1.0, 0.0]
    assert run(GuiActionTypeReward(), *turns) == [1.0, 1.0, 1.0]


def test_predicted_boxes():
    pred = {"type": "click", "box": [12, 10, 30, 26]}
    # no x/y: the box's centre (21, 18) is the click
    assert run(GuiClickReward(), turn(0, pred)) == [1.0]
    # IoU: 18·16 / 20·20 = 0.72; GUI-G1: 1 + 0.25·0.72 + 0.125·R_box(0.98, 1, 1, 0.96)
    assert run(GuiBoxIoUReward(), turn(0, pred)) == pytest.approx([0.72])
    assert run(GuiBoxIoUReward(threshold=0.75), turn(0, pred)) == [0.0]
    assert run(GuiG1Reward(), turn(0, pred)) == pytest.approx([1 + 0.18 + 0.125 * 4 / (1 / 0.98 + 2 + 1 / 0.96)])
    # coverage: x: q = 18/20 = 0.9, centres 21 vs 20 → d = 1/10; y: q = 16/20 = 0.8, 18 vs 20 → d = −2/10
    expected = 1.0
    for q, d in ((0.9, 0.1), (0.8, -0.2)):
        expected *= math.sqrt(2 * q / (1 + q * q)) * math.exp(-d * d / (4 * (1 + q * q)))
    assert run(GuiGaussianCoverageReward(), turn(0, pred)) == pytest.approx([expected])
    # a click without a box: the box rewards have nothing to score → 0
    assert run(GuiBoxIoUReward(), turn(0, {"type": "click", "x": 20, "y": 20})) == [0.0]


def test_unparsed_or_hostile_predictions_score_zero():
    hostile = [None, {}, "click", {"type": "click", "x": float("nan"), "y": 20}, {"type": "click", "x": "20", "y": 20},
               {"type": 5, "x": 10**400, "y": 20}, {"type": "click", "box": [30, 30, 10, 10]}]
    turns = [turn(i, p, action="garbage") for i, p in enumerate(hostile)]
    for provider in (GuiClickReward(), GuiGaussianPointReward(), GuiTieredDistanceReward(), GuiBoxIoUReward(),
                     GuiG1Reward(), GuiGaussianCoverageReward(), GuiActionTypeReward(), GuiFormatReward(),
                     GuiActionReward()):
        values = run(provider, *turns)
        expected = [0.0] * len(hostile)
        if isinstance(provider, GuiActionTypeReward) or isinstance(provider, GuiActionReward):
            expected = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0]   # the type still matched where it was "click"
        assert values == expected, provider


def test_turns_without_a_record_or_a_target_get_no_component():
    plain = Turn(0, "obs", "act", info={})
    no_target = turn(1, {"type": "click", "x": 1, "y": 1}, target=None)
    back = turn(2, {"type": "back"}, target={"type": "back"})                 # no box
    for provider in (GuiClickReward(), GuiGaussianPointReward(), GuiG1Reward()):
        assert run(provider, plain, no_target, back) == [None, None, None]
    assert run(GuiActionTypeReward(), plain, no_target, back) == [None, None, 1.0]
    # the format is judged on every turn of a GUI episode, target or not
    assert run(GuiFormatReward(), plain, no_target, back) == [None, 1.0, 1.0]
    assert run(GuiTextReward(), plain, no_target, back) == [None, None, None]


def test_malformed_environment_data_is_an_error_that_names_the_turn():
    with pytest.raises(ValueError, match="turn 3: the target box"):
        run(GuiClickReward(), turn(3, {"x": 1, "y": 1}, target={"type": "click", "box": [5, 5, 1, 1]}))
    with pytest.raises(ValueError, match="turn 0: .*target'. must be a mapping"):
        run(GuiClickReward(), turn(0, {"x": 1, "y": 1}, target=[1, 2, 3, 4]))
    with pytest.raises(ValueError, match="turn 0: gui_g1 needs info\\['gui'\\]\\['frame'\\]"):
        run(GuiG1Reward(), turn(0, {"box": [1, 1, 2, 2]}, frame=None))
    with pytest.raises(ValueError, match="frame"):
        run(GuiTieredDistanceReward(normalise="screen"), turn(0, {"x": 1, "y": 1}, frame={"width": 0, "height": 9}))
    with pytest.raises(ValueError, match="non-blank string"):
        run(GuiActionTypeReward(), turn(0, {"type": "click"}, target={"type": ""}))
    with pytest.raises(ValueError, match="must be a mapping"):
        run(GuiClickReward(), Turn(0, "o", "a", info={"gui": "click"}))
    # box-relative tiers and the click reward do not need the frame
    assert run(GuiTieredDistanceReward(), turn(0, {"x": 20, "y": 20}, frame=None)) == [1.0]


def test_ui_r1_action_reward_sums_type_coordinate_and_format():
    good = turn(0, {"type": "click", "x": 20, "y": 20})                                  # 1 + 1 + 1
    wrong_place = turn(1, {"type": "click", "x": 90, "y": 90})                           # 1 + 0 + 1
    wrong_type = turn(2, {"type": "long_press", "x": 20, "y": 20}, action="long_press(20, 20)")  # 0 + 1 + 0
    back = turn(3, {"type": "press_back"}, target={"type": "back"})                      # 1 + (no box) + 1
    typed = turn(4, {"type": "type", "text": "hello"}, target={"type": "type", "text": "Hello!"})  # 1 + 1 + 1
    assert run(GuiActionReward(), good, wrong_place, wrong_type, back, typed) == [3.0, 2.0, 1.0, 2.0, 3.0]
    weighted = GuiActionReward(weights={"format": 0.5, "point": 2.0})
    assert run(weighted, good, wrong_place, wrong_type, back, typed) == [3.5, 1.5, 2.0, 1.5, 2.5]
    json_only = GuiActionReward(format_pattern="json_action")
    plain_json = turn(0, {"type": "click", "x": 20, "y": 20}, action='{"action": "click", "x": 20, "y": 20}')
    assert run(json_only, plain_json) == [3.0]
    with pytest.raises(ValueError, match="unknown term"):
        GuiActionReward(weights={"speed": 1.0})
    with pytest.raises(ValueError, match="weight"):
        GuiActionReward(weights={"type": -1})


def test_text_reward_reads_the_typed_text():
    turns = [turn(0, {"type": "type", "text": "hello world"}, target={"type": "type", "text": "hello world"}),
             turn(1, {"type": "type", "text": "hello there friend"}, target={"type": "type", "text": "hello world"}),
             turn(2, {"type": "type"}, target={"type": "type", "text": "hello world"})]
    assert run(GuiTextReward(), *turns) == [1.0, 0.0, 0.0]


def test_format_provider_patterns():
    turns = [turn(0, {"type": "click"}, action='{"action": "click", "x": 1, "y": 2}'),
             turn(1, {"type": "click"}, action="<think>a</think><answer>x</answer>")]
    assert run(GuiFormatReward(), *turns) == [0.0, 1.0]
    assert run(GuiFormatReward(pattern="json_action"), *turns) == [1.0, 0.0]
    assert run(GuiFormatReward(pattern=re.compile(r"\{.*\}")), *turns) == [1.0, 0.0]
    with pytest.raises(ValueError, match="pattern"):
        GuiFormatReward(pattern="yaml")


def test_configuration_errors_at_construction():
    with pytest.raises(ValueError, match="sigma_scale"):
        GuiGaussianPointReward(sigma_scale=-1)
    with pytest.raises(ValueError, match="tier"):
        GuiTieredDistanceReward(tiers=((0.0, 0.2), (1.0, 0.9)))
    with pytest.raises(ValueError, match="normalise"):
        GuiTieredDistanceReward(normalise="pixels")
    with pytest.raises(ValueError, match="alpha"):
        GuiG1Reward(beta=float("nan"))
    with pytest.raises(ValueError, match="threshold"):
        GuiBoxIoUReward(threshold=0)


def test_combined_with_weights_keeps_the_reward_the_sum_of_components():
    turns = [turn(0, {"type": "click", "x": 30, "y": 20}), turn(1, {"type": "scroll"}, target={"type": "scroll"})]
    for t in turns:
        t.reward = t.reward_components["env"] = 0.25
    trajectory = Trajectory(turns=turns)
    rewards = CombinedReward([(GuiClickReward(), 1.0), (GuiGaussianPointReward(), 0.5), (GuiActionTypeReward(), 0.2),
                              (GuiFormatReward(), 0.1)])
    rewards([trajectory])
    first, second = trajectory.turns
    assert first.reward_components == pytest.approx({"env": 0.25, "gui_click": 1.0, "gui_gaussian_point":
                                                     0.5 * math.exp(-0.5), "gui_action_type": 0.2, "gui_format": 0.1})
    assert second.reward_components == pytest.approx({"env": 0.25, "gui_action_type": 0.2, "gui_format": 0.1})
    for t in trajectory.turns:
        assert t.reward == pytest.approx(sum(t.reward_components.values()))
    rewards([trajectory])   # scoring again replaces, never adds
    assert first.reward == pytest.approx(0.25 + 1.0 + 0.5 * math.exp(-0.5) + 0.2 + 0.1)
    assert component_means([trajectory])["gui_action_type"] == pytest.approx(0.4)


def test_records_survive_a_json_round_trip_of_the_trajectory():
    trajectory = Trajectory(turns=[turn(0, {"type": "click", "x": 21.5, "y": 18}),
                                   turn(1, {"type": "click", "box": [12, 10, 30, 26]})])
    restored = Trajectory.from_dict(json.loads(json.dumps(trajectory.to_dict())))
    assert GuiClickReward().score([restored]) == [[1.0, 1.0]]
    assert GuiG1Reward().score([restored]) == GuiG1Reward().score([trajectory])
