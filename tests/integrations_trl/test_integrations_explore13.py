"""Exploratory tests (round 13) of the trainer adapters, driven the way a demanding user drives
them: options that would otherwise fail every episode, or be ignored, are refused up front."""

from __future__ import annotations

import pytest

from agentgym.integrations.trl import agentgym_rollout

GUESS = "games/GuessTheNumber-v0"


@pytest.mark.parametrize("env_kwargs, words", [
    ({"difficultly": "easy"}, "no constructor argument 'difficultly' .*did you mean difficulty"),
    ([("difficulty", "easy")], "env_kwargs must be a dict"),
    ("difficulty=easy", "env_kwargs must be a dict"),
])
def test_env_kwargs_every_episode_would_fail_on_are_refused_at_construction(env_kwargs, words):
    # not at each training step, where every episode became an untrainable placeholder (reward
    # None): a run that trained on nothing
    with pytest.raises(ValueError, match=words):
        agentgym_rollout(GUESS, env_kwargs=env_kwargs)
