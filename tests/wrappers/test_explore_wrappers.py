"""Wrapper arguments of the wrong type or value are refused naming the argument, at
construction: a NaN penalty would make every format error's reward NaN, and a budget read from a
configuration as text failed with "'<' not supported between instances of 'str' and 'int'"."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.wrappers import AnswerFormat, ChatHistory


@pytest.mark.parametrize("penalty", [float("nan"), float("inf"), "0.1", True, None])
def test_answer_format_refuses_a_penalty_that_is_no_finite_number(penalty):
    with pytest.raises(ValueError, match=r"AnswerFormat: penalty must be a finite number, got "):
        AnswerFormat(agentgym.make("games/GuessTheNumber-v0"), penalty=penalty)


def test_answer_format_penalty_still_costs_what_it_says():
    env = AnswerFormat(agentgym.make("games/GuessTheNumber-v0"), penalty=1)
    env.reset(seed=0)
    assert env.step("no tags")[1] == -1.0


@pytest.mark.parametrize("argument", ["max_context_chars", "max_context_tokens"])
@pytest.mark.parametrize("budget", ["100", float("nan"), True, 0])
def test_chat_history_refuses_a_budget_that_is_no_positive_number(argument, budget):
    counting = {"count_tokens": len} if argument == "max_context_tokens" else {}
    with pytest.raises(ValueError, match=rf"ChatHistory: {argument} must be a positive number, got "):
        ChatHistory(agentgym.make("games/GuessTheNumber-v0"), **{argument: budget}, **counting)


@pytest.mark.parametrize("keep", ["200", 1.5, -1])
def test_chat_history_refuses_elide_keep_chars_that_is_no_count(keep):
    with pytest.raises(ValueError, match=r"ChatHistory: elide_keep_chars must be an integer >= 0, got "):
        ChatHistory(agentgym.make("games/GuessTheNumber-v0"), max_context_chars=500, overflow="elide",
                    elide_keep_chars=keep)
