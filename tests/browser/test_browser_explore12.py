"""Exploratory round 12: the browser layer's defects found by probing, each with its test."""

from __future__ import annotations

import pytest

from agentgym.browser.action_parser import ActionError, parse_actions
from agentgym.browser.actions import execute
from agentgym.browser.observe import observe

from .browser_helpers import bid_of


@pytest.mark.parametrize("text", ["```click('3')```", "``` click('3') ```", "Action: ```click('3')```",
                                  "```noop()```"])
def test_a_one_line_fenced_action_keeps_its_name(text):
    # The fence's language tag (```python) was read from the text right after the backticks,
    # so ```click('3')``` lost its name: "('3')" is not an action.
    action = parse_actions(text)[0]
    assert action.name in ("click", "noop")
    if action.name == "click":
        assert action.args["bid"] == "3"


def test_a_fence_with_a_language_tag_still_drops_the_tag():
    assert [a.name for a in parse_actions("```python\r\nclick('3')\r\n```")] == ["click"]
    assert [a.name for a in parse_actions("```py \nfill('4', 'x')```")] == ["fill"]


def _act(session, text: str):
    (action,) = parse_actions(text)
    return execute(session, action, 5.0)


def test_the_space_key_is_a_key(form):
    # Playwright presses " " (the space bar), as BrowserGym's keyboard_press(" ") does; the parser
    # stripped the key to "" and refused it as no key name.
    assert parse_actions("keyboard_press(' ')")[0].args == {"key": " "}
    assert parse_actions("press('3', ' ')")[0].args == {"bid": "3", "key": " "}
    name = bid_of(observe(form)["text"], 'textbox "Name"')
    for text in (f"press('{name}', ' ')", "keyboard_press(' ')"):
        outcome = _act(form, text)
        assert outcome.ok, outcome.error
    assert form.run(lambda page: page.evaluate("window.log")).count("key: ") == 2
    with pytest.raises(ActionError, match="key name"):
        parse_actions("press('  ')")  # several spaces are no key

