"""Exploratory round 12: the browser layer's defects found by probing, each with its test."""

from __future__ import annotations

import pytest

from agentgym.browser.action_parser import parse_actions


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
