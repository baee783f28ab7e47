"""Defects found in the fourteenth exploratory round of the GUI rewards."""

from __future__ import annotations

import pytest

from agentgym.rewards.gui import GuiActionReward
from agentgym.trajectory import Trajectory, Turn

TARGET = {"type": "click", "box": [10, 10, 30, 30]}
WELL_FORMED = '{"action": "click", "x": 5000, "y": 20}'  # the shape is right; the point is off the screen


def _score(provider, record, action):
    return provider.score([Trajectory(turns=[Turn(0, "obs", action, info={"gui": record})])])[0][0]


@pytest.mark.parametrize("record", [{"predicted": None, "target": TARGET}, {"target": TARGET},
                                    {"predicted": "click", "target": TARGET}], ids=["none", "absent", "no-mapping"])
@pytest.mark.parametrize("pattern, action", [("json_action", WELL_FORMED),
                                             ("think_answer", f"<think>off</think><answer>{WELL_FORMED}</answer>")],
                         ids=["json", "think-answer"])
def test_an_action_that_did_not_parse_scores_zero_on_the_action_reward(record, pattern, action):
    """The module's contract: a turn whose action did not parse (``predicted`` None or absent)
    scores 0 on every component it has a target for. GuiActionReward still paid its format term
    for a well-formed reply (1.0), where gui/ActionPrediction-v0 scored the same turn 0."""
    assert _score(GuiActionReward(format_pattern=pattern), record, action) == 0.0


def test_a_parsed_action_keeps_its_format_term():
    record = {"predicted": {"type": "click", "x": 90, "y": 90}, "target": TARGET}
    assert _score(GuiActionReward(format_pattern="json_action"), record, '{"action": "click", "x": 90, "y": 90}') == 2.0


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_reply_with_nan_or_infinity_is_not_a_json_action(value):
    """Python's json reads NaN and Infinity, which are not JSON (and which the GUI environments'
    parser refuses in the JSON itself): such a reply earned the full format reward."""
    from agentgym.rewards.gui import format_reward, is_json_action

    action = '{"action": "click", "x": %s, "y": 20}' % value
    assert not is_json_action(action)
    assert format_reward(action, pattern="json_action") == 0.0
    assert format_reward(f"<think>t</think><answer>{action}</answer>", pattern="think_answer_json") == 0.0
    assert format_reward('{"action": "click", "x": 1e3, "y": 20, "note": "NaN"}', pattern="json_action") == 1.0


@pytest.mark.parametrize("predicted, target", [("select", "tap"), ("select", "click"), ("Select", "Tap"),
                                               ("click", "select"), ("tap", "select")])
def test_an_extra_alias_onto_a_built_in_alias_means_what_that_alias_means(predicted, target):
    """{"select": "tap"} mapped "select" to "tap" and stopped there, while the target "tap" went
    on to the canonical "click": "select" never matched "tap" (nor "click"), whichever side it was on."""
    from agentgym.rewards.gui import action_type_reward, canonical_action_type

    aliases = {"select": "tap"}
    assert canonical_action_type("select", aliases) == "click"
    assert action_type_reward(predicted, target, aliases=aliases) == 1.0
    assert action_type_reward("select", "type", aliases=aliases) == 0.0


def test_every_spelling_the_gui_parser_takes_is_the_same_action_type_for_the_rewards():
    """The GUI environments read "dblclick", "press" and "keyboard_press" as double_click and
    key, while action_type_reward compared them as they were: a prediction scored offline from
    the model's own spelling got 0 for the action the environment would have carried out."""
    from agentgym.envs.gui.actions import ACTION_TYPES, ALIASES
    from agentgym.rewards.gui import action_type_reward, canonical_action_type

    for alias, action in ALIASES.items():
        assert canonical_action_type(alias) == action, alias
        assert action_type_reward(alias, action) == 1.0
    assert all(canonical_action_type(action) == action for action in ACTION_TYPES)
