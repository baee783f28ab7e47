"""RedundancyPenalty's key hook given what a user easily writes by mistake; ToolRL's value match on nested arguments."""

from __future__ import annotations

import pytest

from agentgym.rewards import RedundancyPenalty
from agentgym.rewards.toolrl import correctness_reward, correctness_terms
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


@pytest.mark.parametrize("predicted, gold", [
    ({"flags": [1, 0]}, {"flags": [True, False]}),
    ({"filter": {"open": 1}}, {"filter": {"open": True}}),
], ids=["in a list", "in an object"])
def test_toolrl_values_compare_as_json_inside_lists_and_objects(predicted, gold):
    # "True is not 1" held at the top level only: a nested 1 for true was a value match, and the
    # wrong call scored the maximum R_correct of 3.
    terms = correctness_terms([{"name": "f", "arguments": gold}], [{"name": "f", "arguments": predicted}])
    assert terms == (1.0, 1.0, 0.0, 3.0)
    assert correctness_reward([{"name": "f", "arguments": gold}], [{"name": "f", "arguments": predicted}]) == 1.0


def test_toolrl_numbers_still_compare_as_numbers_when_nested():
    gold = [{"name": "f", "arguments": {"box": [1, 2.5], "opt": {"k": 3}}}]
    assert correctness_terms(gold, [{"name": "f", "arguments": {"box": [1.0, 2.5], "opt": {"k": 3.0}}}]) \
        == (1.0, 1.0, 2.0, 4.0)
