"""RedundancyPenalty's key hook given what a user easily writes by mistake."""

from __future__ import annotations

import pytest

from agentgym.rewards import RedundancyPenalty
from tests.credit.builders import build_trajectory


def _guesses(*actions: str):
    trajectory = build_trajectory([0.0] * len(actions), text_only=True)
    for turn, action in zip(trajectory.turns, actions):
        turn.action = action
    return trajectory


def test_a_key_that_returns_a_bare_string_is_refused_naming_the_trajectory_and_turn():
    # The string was read letter by letter: "guess pear" after "guess apple" cost 9 repeats.
    with pytest.raises(ValueError, match=r"trajectory 0, turn 0: .*key.*string"):
        RedundancyPenalty(key=lambda turn: turn.action).score([_guesses("guess apple", "guess pear")])


@pytest.mark.parametrize("keys", [5, [["nested", "list"]]], ids=["not iterable", "unhashable"])
def test_a_key_that_returns_no_iterable_of_hashable_keys_is_refused(keys):
    with pytest.raises(ValueError, match=r"trajectory 0, turn 0: .*key"):
        RedundancyPenalty(key=lambda turn: keys).score([_guesses("a", "b")])


def test_the_documented_list_key_counts_repeated_guesses():
    values = RedundancyPenalty(0.5, key=lambda turn: [turn.action.strip().lower()]).score(
        [_guesses("Apple", "pear", " apple ")])
    assert values == [[0.0, 0.0, -0.5]]
