"""Exploratory round 12: the MiniWoB++ environments' defects found by probing, each with its test."""

from __future__ import annotations

import re

from agentgym.browser.action_parser import parse_actions
from agentgym.envs.web.miniwob.oracles import format_action


def test_an_oracles_text_with_backticks_is_read_back_exactly():
    # format_action promises a call the parser reads back exactly whatever the text holds; a text
    # with two runs of backticks was read as a fenced block and refused.
    for text in ("a ```b``` c", "```", "x``` ```y", "quote ' and \\ and ``````"):
        action = format_action({"name": "fill", "args": ["3", text]})
        assert parse_actions(action)[0].args["text"] == text


def test_enter_date_says_which_format_its_field_takes(make_miniwob):
    # The goal says "Enter 01/31/2016"; filled as written, the date field dropped the text without
    # an error and the agent could only submit an empty field. The error now names the format.
    env = make_miniwob("enter-date")
    observation, _ = env.reset(seed=0)
    month, day, year = re.search(r"(\d\d)/(\d\d)/(\d{4})", env.unwrapped.goal_text()).groups()
    field = re.search(r"^\s*\[(\d+)\] textbox", observation, flags=re.M).group(1)
    submit = re.search(r'^\s*\[(\d+)\] button "Submit"', observation, flags=re.M).group(1)
    _, _, terminated, _, info = env.step(f"fill('{field}', '{month}/{day}/{year}')")
    assert not terminated and "YYYY-MM-DD" in info["error"], info
    _, _, terminated, _, info = env.step(f"fill('{field}', '{year}-{month}-{day}')")
    assert info["error"] is None and not terminated
    _, reward, terminated, _, info = env.step(f"click('{submit}')")
    assert terminated and info["success"] and reward == 1.0
