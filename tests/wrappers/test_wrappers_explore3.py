"""Exploratory tests, third round: wrappers described as data."""

from __future__ import annotations

import pytest

from agentgym.wrappers import WrapperSpec


@pytest.mark.parametrize("name, kwargs, message", [
    ("AnswerFormat", {"bogus": 1}, r"wrapper 'AnswerFormat': no argument 'bogus'; it takes: format, tag, penalty"),
    ("Hinted", {"lvl": 2}, r"wrapper 'Hinted': no argument 'lvl'; it takes: level"),
    ("TurnLimit", {}, r"wrapper 'TurnLimit': missing a required argument: 'max_turns'"),
    ("TurnLimit", {"env": None, "max_turns": 2}, r"wrapper 'TurnLimit': 'env' is the environment"),
])
def test_a_spec_whose_arguments_the_wrapper_does_not_take_is_refused_when_made(name, kwargs, message):
    """A misspelt argument was accepted by WrapperSpec (so by a training configuration's check,
    the environment server's request and RolloutConfig) and then failed every episode of the
    run, one by one, as 'environment raised TypeError'."""
    with pytest.raises(TypeError, match=message):
        WrapperSpec(name, kwargs)


def test_a_spec_with_the_arguments_the_wrapper_takes_is_made():
    assert WrapperSpec("AnswerFormat", {"format": "boxed", "penalty": 0.5}).kwargs == {"format": "boxed",
                                                                                     "penalty": 0.5}
    assert WrapperSpec.from_data({"name": "TurnLimit", "kwargs": {"max_turns": 3}}).kwargs == {"max_turns": 3}
