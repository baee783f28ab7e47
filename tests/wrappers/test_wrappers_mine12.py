"""Defects of the wrappers found in the twelfth round (beside the helper's file)."""

from __future__ import annotations

import re

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.wrappers import AnswerFormat


@pytest.mark.parametrize("instruction", ["", "   ", 5])
def test_an_instruction_that_tells_the_agent_nothing_is_refused(instruction):
    # AnswerFormat(regex, instruction="") answered every missing move with 'Format error: ' and
    # nothing after it, and instruction=5 was appended to the instructions as '5'
    env = agentgym.make("games/GuessTheNumber-v0")
    with pytest.raises(ConfigError, match="instruction"):
        AnswerFormat(env, re.compile(r"guess (\d+)"), instruction=instruction)
