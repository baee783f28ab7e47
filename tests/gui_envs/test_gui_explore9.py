"""Defects found in the ninth exploratory round of the GUI environments."""

from __future__ import annotations

import json

import pytest

from agentgym.envs.gui.actions import parse_action
from agentgym.envs.gui.frames import CoordinateFrame

PHONE = CoordinateFrame.make("pixels", (412, 915))


@pytest.mark.parametrize("text", [
    '{"action": "swipe", "x": 200, "y": 700, "direction": "up"}',
    '{"action": "swipe", "x1": 200, "y1": 700, "x2": 200, "y2": 300}',
    'swipe(x=10, y=20, direction="left")',
])
def test_a_swipe_is_written_back_as_an_action_that_parses_to_itself(text):
    action = parse_action(text, PHONE)
    written = action.to_json()
    assert "null" not in written  # only what is set
    assert parse_action(written, PHONE) == action  # the history shows actions the agent may copy


def test_a_swipe_by_direction_is_recorded_at_its_start_point():
    predicted = parse_action('{"action": "swipe", "x": 200, "y": 700, "direction": "up"}', PHONE).predicted()
    assert predicted == {"type": "swipe", "x": 200.0, "y": 700.0, "direction": "up"}
    assert json.loads(json.dumps(predicted)) == predicted


def _labels(value, out):
    if isinstance(value, dict):
        if "id" in value and "label" in value:
            out.append(value["label"].casefold())
        for item in value.values():
            _labels(item, out)
    elif isinstance(value, list):
        for item in value:
            _labels(item, out)
    return out


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_no_grounding_target_shares_its_name_with_the_system_buttons(device):
    """The phone's navigation bar has "Back", "Home" and "Recent apps", the desktop's taskbar
    "Home", an app bar "Navigate up": an instruction 'Tap the "Home" icon.' naming an app-bar
    icon would name the system's Home button just as well."""
    import random

    from agentgym.envs.gui.screens import generate_screen

    system = {"back", "home", "recent apps", "navigate up"}
    for seed in (16, 55, 74, *range(40)):
        for difficulty in ("easy", "medium", "hard"):
            screen = generate_screen(random.Random(seed), device=device, difficulty=difficulty)
            labels = _labels(screen.spec["screens"], _labels(screen.spec["overlay"], []))
            assert not system & set(labels), (seed, difficulty, screen.kind, system & set(labels))


@pytest.mark.parametrize("status, right", [("infeasible", False), ("complete", True), (None, True)])
def test_predicting_that_a_demonstrated_task_is_infeasible_is_a_wrong_argument(make_gui, status, right):
    """The demonstration ends with the task done; ``finish`` with ``"status": "infeasible"``
    (which fails the same task in gui/Navigation-v0) is not the demonstrated action."""
    from agentgym.envs.gui.action_prediction import ActionPredictionEnv

    env = make_gui(ActionPredictionEnv, "easy", kinds="toggle", steps="all")
    env.reset(seed=0)
    while env.current_target()["type"] != "finish":
        env.step(env.oracle_action())
    action = {"action": "finish"} if status is None else {"action": "finish", "status": status}
    _, reward, terminated, _, info = env.step(json.dumps(action))
    assert terminated and info["gui"]["terms"]["action_type"] == 1.0
    assert info["gui"]["terms"]["argument"] == float(right)
    assert info["gui"]["correct"] is right and info["success"] is right


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_floating_button_stays_above_the_system_bar(make_gui, device):
    """Contacts' "Create contact" button sat 18 px above the bottom of the whole screen, on the
    phone's navigation bar: a click on Home or Recent apps (by point or by element id) opened
    the new-contact form."""
    from agentgym.envs.gui.navigation import NavigationEnv

    env = make_gui(NavigationEnv, "easy", device=device, view="text")
    env.reset(seed=0)
    _, _, _, _, info = env.step('{"action": "open_app", "app": "Contacts"}')
    assert info["error"] is None and info["gui"]["screen"] == "contacts"
    fab = env.element_by_key("fab:create_contact")
    home = env.element_by_key("system:home")
    assert fab is not None and home is not None
    assert fab["box"][3] <= home["box"][1]
    assert all(element["reachable"] for element in env.elements), [
        element["label"] for element in env.elements if not element["reachable"]]
    _, _, _, _, info = env.step(json.dumps({"action": "click", "element": home["id"]}))
    assert info["gui"]["hit"] == home["id"] and info["gui"]["screen"] == "home"


def test_action_prediction_records_no_hit_for_a_click_it_never_carried_out(make_gui):
    """The prediction is scored, not carried out (the demonstration's action is): a click far
    from the target was recorded as hitting the target, the element the demonstration's own
    click reached."""
    from agentgym.envs.gui.action_prediction import ActionPredictionEnv

    env = make_gui(ActionPredictionEnv, "easy", kinds="toggle", steps="all")
    env.reset(seed=0)
    target = env.current_target()
    assert target["type"] == "click"
    left, top, right, bottom = target["box"]
    x = right + 5 if right + 5 < env.frame.extent[0] else left - 5
    _, _, _, _, info = env.step(json.dumps({"action": "click", "x": x, "y": (top + bottom) / 2}))
    assert info["gui"]["correct"] is False
    assert info["gui"]["hit"] is None
