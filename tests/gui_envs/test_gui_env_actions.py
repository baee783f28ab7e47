"""The GUI action language: every accepted spelling parses to the same action, and every bad
action is an ActionError whose message says what to write (never another exception)."""

from __future__ import annotations

import json

import pytest

from agentgym.envs.gui.actions import ActionError, GuiAction, parse_action
from agentgym.envs.gui.frames import CoordinateFrame

PIXELS = CoordinateFrame.make("pixels", (412, 915))
NORMALIZED = CoordinateFrame.make("normalized_1000", (1280, 800))


def parse(text, frame=PIXELS, **kwargs):
    return parse_action(text, frame, **kwargs)


@pytest.mark.parametrize("text", [
    '{"action": "click", "x": 120, "y": 340}',
    '  {"action":"click","x":120.0,"y":340}\n',
    '{"action_type": "tap", "x": 120, "y": 340}',
    '{"action": "click", "coordinate": [120, 340]}',
    "click(120, 340)",
    "click(x=120, y=340)",
    "tap(120, y=340)",
    '<think>the save button is at the bottom</think><answer>{"action": "click", "x": 120, "y": 340}</answer>',
    '<answer>click(120, 340)</answer>',
    '```json\n{"action": "click", "x": 120, "y": 340}\n```',
])
def test_spellings_of_one_click(text):
    action = parse(text)
    assert (action.type, action.x, action.y) == ("click", 120.0, 340.0)
    assert action.to_dict() == {"action": "click", "x": 120.0, "y": 340.0}
    assert action.predicted() == {"type": "click", "x": 120.0, "y": 340.0}


def test_every_action_type_parses():
    cases = {
        '{"action": "double_click", "x": 1, "y": 2}': GuiAction("double_click", x=1.0, y=2.0),
        '{"action": "long_press", "x": 1, "y": 2, "duration_ms": 800}': GuiAction("long_press", x=1.0, y=2.0, duration_ms=800),
        '{"action": "type", "text": "Ada Lovelace"}': GuiAction("type", text="Ada Lovelace"),
        '{"action": "input_text", "text": ""}': GuiAction("type", text=""),
        '{"action": "scroll", "direction": "DOWN"}': GuiAction("scroll", direction="down"),
        '{"action": "scroll", "direction": "up", "x": 10, "y": 20}': GuiAction("scroll", x=10.0, y=20.0, direction="up"),
        '{"action": "swipe", "x1": 200, "y1": 700, "x2": 200, "y2": 300}': GuiAction("swipe", x=200.0, y=700.0, x2=200.0, y2=300.0),
        '{"action": "swipe", "x": 200, "y": 700, "direction": "up"}': GuiAction("swipe", x=200.0, y=700.0, direction="up"),
        '{"action": "key", "key": "enter"}': GuiAction("key", key="Enter"),
        '{"action": "key", "key": "ctrl+A"}': GuiAction("key", key="Control+a"),
        '{"action": "navigate_back"}': GuiAction("back"),
        '{"action": "home"}': GuiAction("home"),
        '{"action": "wait"}': GuiAction("wait"),
        '{"action": "open_app", "app": "Contacts"}': GuiAction("open_app", app="Contacts"),
        '{"action": "finish"}': GuiAction("finish"),
        '{"action": "status", "status": "infeasible"}': GuiAction("finish", status="infeasible"),
        'type("hi")': GuiAction("type", text="hi"),
        'scroll("left")': GuiAction("scroll", direction="left"),
        "back()": GuiAction("back"),
        "finish()": GuiAction("finish"),
    }
    for text, expected in cases.items():
        assert parse(text) == expected, text


def test_element_ids_only_where_the_view_shows_them():
    assert parse('{"action": "click", "element": 12}', allow_elements=True) == GuiAction("click", element=12)
    assert parse('{"action": "click", "element": "[12]"}', allow_elements=True).element == 12
    with pytest.raises(ActionError, match="no element ids"):
        parse('{"action": "click", "element": 12}')
    with pytest.raises(ActionError, match="not both"):
        parse('{"action": "click", "element": 12, "x": 1, "y": 1}', allow_elements=True)


def test_frame_ranges():
    assert parse('{"action": "click", "x": 1000, "y": 0}', NORMALIZED).x == 1000.0
    with pytest.raises(ActionError, match="outside the screen"):
        parse('{"action": "click", "x": 1000.5, "y": 0}', NORMALIZED)
    with pytest.raises(ActionError, match="outside the screen"):
        parse('{"action": "click", "x": 412, "y": 10}')


HOSTILE = {
    '{"action": "click", "x": NaN, "y": 3}': "finite",
    '{"action": "click", "x": Infinity, "y": 3}': "finite",
    '{"action": "click", "x": -Infinity, "y": 3}': "finite",
    '{"action": "click", "x": 1e999, "y": 3}': "finite",
    '{"action": "click", "x": -1, "y": 3}': "outside the screen",
    '{"action": "click", "x": 5, "y": -0.5}': "outside the screen",
    '{"action": "click", "x": 99999999, "y": 3}': "outside the screen",
    '{"action": "click", "x": true, "y": 3}': "finite",
    '{"action": "click", "x": "120", "y": 3}': "not text",
    '{"action": "click", "x": null, "y": 3}': "finite",
    '{"action": "click", "x": [1], "y": 3}': "finite",
    '{"action": "click", "x": 5}': "both",
    '{"action": "click"}': "needs",
    '{"action": "click", "x": 5, "y": 5, "button": "right"}': "does not take",
    '{"action": "fly", "x": 5, "y": 5}': "unknown action",
    '{"action": 3}': "needs \"action\"",
    '{"x": 1, "y": 2}': "needs \"action\"",
    '[{"action": "back"}]': "JSON object",
    '"back"': "JSON object",
    "{": "not valid JSON",
    '{"action": "click", "x": 1, "y": 2}} trailing': "not valid JSON",
    "click the save button": "write only the action",
    "I think I should click(10, 10)": "write only the action",
    "": "no action",
    "   \n": "no action",
    "<think>hmm</think>": "no action",
    "click(float('nan'), 3)": "plain numbers",
    "__import__('os').system('true')": "write one call",
    "click(*[1, 2])": "plain numbers",
    "click(**{'x': 1})": "write the arguments out",
    "click(1, 2, 3)": "at most",
    "click(x=1, x=2)": "given twice",
    "explode()": "unknown action",
    "click(" + "(" * 5000 + ")": "not a valid call",
    '{"action": "type", "text": 5}': "string",
    '{"action": "type"}': "needs text",
    '{"action": "type", "text": "\\u0000"}': "NUL",
    '{"action": "type", "text": "\\ud800"}': "surrogate",
    '{"action": "scroll", "direction": "sideways"}': "direction",
    '{"action": "key", "key": "F13"}': "unknown key",
    '{"action": "key", "key": "Hyper+a"}': "modifier",
    '{"action": "key", "key": ""}': "key name",
    '{"action": "long_press", "x": 1, "y": 1, "duration_ms": 1e9}': "duration_ms",
    '{"action": "swipe", "x1": 1, "y1": 1, "x2": 1}': "swipe takes",
    '{"action": "swipe", "x": 1, "y": 1}': "swipe needs",
    '{"action": "finish", "status": "maybe"}': "status",
    '{"action": "open_app"}': "needs app",
}


@pytest.mark.parametrize("text", list(HOSTILE))
def test_hostile_actions_are_action_errors_that_say_what_to_write(text):
    with pytest.raises(ActionError, match=HOSTILE[text]):
        parse(text)


def test_huge_and_deep_input_are_refused_quickly():
    with pytest.raises(ActionError, match="limit is 500"):
        parse(json.dumps({"action": "type", "text": "x" * 100_000}))
    with pytest.raises(ActionError):
        parse("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ActionError):
        parse('{"a":' * 50_000 + "1" + "}" * 50_000)
    with pytest.raises(ActionError, match="must be text"):
        parse(None)
