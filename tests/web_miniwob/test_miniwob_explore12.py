"""Exploratory round 12: the MiniWoB++ environments' defects found by probing, each with its test."""

from __future__ import annotations

from agentgym.browser.action_parser import parse_actions
from agentgym.envs.web.miniwob.oracles import format_action


def test_an_oracles_text_with_backticks_is_read_back_exactly():
    # format_action promises a call the parser reads back exactly whatever the text holds; a text
    # with two runs of backticks was read as a fenced block and refused.
    for text in ("a ```b``` c", "```", "x``` ```y", "quote ' and \\ and ``````"):
        action = format_action({"name": "fill", "args": ["3", text]})
        assert parse_actions(action)[0].args["text"] == text

