"""ToolRL's reward against hand-computed cases (ALGORITHMS.md and worked here by hand)."""

from __future__ import annotations

import pytest

from agentgym.rewards import ToolRLReward
from agentgym.rewards.toolrl import correctness_reward, correctness_terms, multiset_jaccard
from agentgym.trajectory import Trajectory, Turn


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


def turn_with(*calls, ok=True, error_kind=None):
    info = {"tool_results": [{"name": c["name"], "arguments": c["arguments"], "ok": ok, "content": ""}
                             for c in calls]}
    if error_kind:
        info["error_kind"] = error_kind
    return Turn(0, "obs", "action", info=info)


def test_the_algorithms_md_case():
    gold = [call("search", query="paris", k=3)]
    predicted = [call("search", query="paris", k=5)]
    assert correctness_terms(gold, predicted) == (1.0, 1.0, 1.0, 4.0)
    assert correctness_reward(gold, predicted) == pytest.approx(1.5)
    trajectory = Trajectory(turns=[turn_with(*predicted)], metadata={"gold_tool_calls": gold})
    ToolRLReward()([trajectory])
    assert trajectory.turns[0].reward_components["toolrl"] == pytest.approx(2.5)


def test_multiset_jaccard():
    assert multiset_jaccard(["a", "a", "b"], ["a", "b", "b"]) == pytest.approx(2 / 4)
    assert multiset_jaccard([], []) == 1.0 and multiset_jaccard(["a"], []) == 0.0


def test_two_gold_calls_one_missed_one_wrong_key():
    # gold: get_weather(city="Oslo", unit="C"), book(day="mon")
    # predicted: get_weather(city="Oslo", units="C")
    #   r_name = J({w, b}, {w}) = 1/2
    #   weather match: keys J({city, unit}, {city, units}) = 1/3, values: city equal = 1
    #   book: unmatched = 0
    #   S_max = 1 + (1 + 2) + (1 + 1) = 6 → R_correct = 6 * (0.5 + 1/3 + 1) / 6 - 3 = -1.1667
    gold = [call("get_weather", city="Oslo", unit="C"), call("book", day="mon")]
    predicted = [call("get_weather", city="Oslo", units="C")]
    r_name, r_param, r_value, s_max = correctness_terms(gold, predicted)
    assert (r_name, r_param, r_value, s_max) == pytest.approx((0.5, 1 / 3, 1.0, 6.0))
    assert correctness_reward(gold, predicted) == pytest.approx(-1.16667, abs=1e-4)


def test_exact_match_is_the_maximum_and_nothing_is_the_minimum_plus_name_terms():
    gold = [call("add", a=1, b=2)]
    assert correctness_reward(gold, [call("add", a=1, b=2)]) == 3.0
    # no call at all: r_name 0, nothing matched → -3
    assert correctness_reward(gold, []) == -3.0
    # True is not 1 (JSON types): value term 1 of 2 → (0+... ) r_name 1, keys 1, values 1, S_max 4 → 1.5
    assert correctness_reward([call("f", x=1, y=True)], [call("f", x=1, y=1)]) == pytest.approx(1.5)


def test_greedy_matching_takes_the_best_unused_call_of_the_same_name():
    # two gold calls of one name, predicted in the other order: each finds its exact partner
    gold = [call("move", to="a"), call("move", to="b")]
    predicted = [call("move", to="b"), call("move", to="a")]
    assert correctness_terms(gold, predicted) == (1.0, 2.0, 2.0, 5.0)
    assert correctness_reward(gold, predicted) == pytest.approx(3.0)  # all terms full, though the order differs


def test_format_and_error_penalty_over_an_episode():
    gold = [call("lookup", id=7)]
    turns = [turn_with(call("lookup", id=3), ok=False), turn_with(error_kind="format"),
             turn_with(call("lookup", id=7))]
    trajectory = Trajectory(turns=turns, metadata={"gold_tool_calls": gold})
    ToolRLReward(error_penalty=0.5)([trajectory])
    values = [t.reward_components.get("toolrl") for t in trajectory.turns]
    # predicted over the episode: lookup(3), lookup(7); greedy: lookup(7) scores keys 1 + value 1
    # r_name J([l], [l, l]) = 1/2; S_max 3 → 6 * 2.5 / 3 - 3 = 2; format 0 (a format error); one failed call -0.5
    assert values[:2] == [None, None] and values[2] == pytest.approx(1.5)


def test_per_turn_gold_and_trajectories_without_gold():
    gold = [[call("a")], [call("b", n=1)]]
    turns = [turn_with(call("a")), turn_with(call("b", n=2))]
    scored = Trajectory(turns=turns, metadata={"gold_tool_calls": gold})
    plain = Trajectory(turns=[turn_with(call("a"))])
    ToolRLReward()([scored, plain])
    assert scored.turns[0].reward_components["toolrl"] == 4.0  # exact: 1 + 3
    assert scored.turns[1].reward_components["toolrl"] == pytest.approx(1 + 6 * 2 / 3 - 3)
    assert "toolrl" not in plain.turns[0].reward_components
