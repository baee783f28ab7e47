"""Defects found in the ninth exploratory round of the GUI rewards."""

from __future__ import annotations

import pytest

from agentgym.rewards.gui import GuiActionReward, GuiActionTypeReward, action_type_reward, canonical_action_type
from agentgym.trajectory import Trajectory, Turn


@pytest.mark.parametrize("aliases", [{"Select": "click"}, {"SELECT ": "click"}, {"select": "Click"},
                                     {"select": " CLICK "}])
def test_extra_aliases_are_spelt_like_the_types_they_map(aliases):
    assert canonical_action_type("select", aliases) == "click"
    assert action_type_reward("Select", "click", aliases=aliases) == 1.0
    assert action_type_reward("select", "type", aliases=aliases) == 0.0


def test_an_alias_with_spaces_or_hyphens_applies():
    aliases = {"press and hold": "long_press", "Go-Up": "back"}
    assert action_type_reward("Press and Hold", "long_press", aliases=aliases) == 1.0
    assert action_type_reward("go up", "back", aliases=aliases) == 1.0


def test_the_provider_applies_extra_aliases_spelt_in_capitals():
    turn = Turn(0, "obs", "x", info={"gui": {"predicted": {"type": "select"}, "target": {"type": "click"}}})
    trajectory = Trajectory(turns=[turn])
    assert GuiActionTypeReward(aliases={"Select": "Click"}).score([trajectory]) == [[1.0]]


@pytest.mark.parametrize("threshold", [float("nan"), -1, 50, 1.5, None, True, "0.5"])
def test_a_text_threshold_outside_0_1_is_a_configuration_error(threshold):
    """-1 made every text match (F1 0 > -1), 50 or NaN none but identical ones, silently."""
    from agentgym.rewards.gui import GuiTextReward, text_match_reward

    with pytest.raises(ValueError, match="threshold"):
        GuiTextReward(threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        text_match_reward("milk", "eggs", threshold=threshold)


@pytest.mark.parametrize("threshold", [0, 0.5, 1])
def test_text_thresholds_from_0_to_1_are_taken(threshold):
    from agentgym.rewards.gui import GuiTextReward, text_match_reward

    assert GuiTextReward(threshold=threshold).threshold == threshold
    assert text_match_reward("milk", "eggs", threshold=threshold) == 0.0
    assert text_match_reward("Milk", "milk.", threshold=threshold) == 1.0


@pytest.mark.parametrize("make", [
    lambda: GuiActionReward(weights=[("type", 1.0)]),
    lambda: GuiActionReward(weights="type"),
    lambda: GuiActionReward(aliases=5),
    lambda: GuiActionTypeReward(aliases=["tap"]),
    lambda: GuiActionTypeReward(aliases={"select": None}),
    lambda: GuiActionTypeReward(aliases={"": "click"}),
    lambda: action_type_reward("tap", "click", aliases=["tap"]),
])
def test_weights_and_aliases_of_the_wrong_shape_are_configuration_errors(make):
    """They raised AttributeError or TypeError ('list' object has no attribute 'items'), or were
    taken and never matched."""
    with pytest.raises(ValueError, match="weights|aliases"):
        make()


@pytest.mark.parametrize("scale", [0.25, 0.5, 1.0, 2.0])
def test_the_gaussian_reward_on_an_edge_is_what_its_docstring_says(scale):
    """The docstring gave exp(−½/s²) on the middle of an edge (0.135 for s = ½), while the
    reward is exp(−1/(8s²)) there (0.607 for s = ½, the value it quoted)."""
    import math

    from agentgym.rewards.gui import gaussian_point_reward

    box = (10, 20, 30, 30)  # centre (20, 25), 20 x 10
    expected = math.exp(-1 / (8 * scale * scale))
    for x, y in ((30, 25), (10, 25), (20, 20), (20, 30)):
        assert gaussian_point_reward(x, y, box, sigma_scale=scale) == pytest.approx(expected)
    assert "exp(−1/(8s²))" in gaussian_point_reward.__doc__
