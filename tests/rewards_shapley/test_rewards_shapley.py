"""Shapley information gain: exact values against hand arithmetic and the brute force over all
orderings, the Monte-Carlo estimate, and the reward provider on hand-built trajectories."""

from __future__ import annotations

import functools
import itertools
import json
import math
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.rewards import (
    AnswerMatchReward,
    CombinedReward,
    ShapleyInformationGain,
    shapley_brute_force,
    shapley_monte_carlo,
    shapley_values,
)
from agentgym.trajectory import Trajectory, Turn


def naive_bayes(prior: dict, table: dict):
    """``P(answer | revealed)`` by Bayes with independent findings: ``table[fact][condition]`` is
    ``P(fact present | condition)``; a revealed value ``True`` uses it, ``False`` its complement."""

    def belief(revealed, answer, trajectory=None):
        joint = {}
        for condition, p in prior.items():
            for fact, present in revealed.items():
                likelihood = table[fact][condition]
                p = p * (likelihood if present else 1 - likelihood)
            joint[condition] = p
        return joint[answer] / sum(joint.values())

    return belief


def game(belief, answer="flu", values=None):
    """The coalition game ``v(S) = belief({k: True for k in S})`` (or the given values)."""
    return lambda coalition: belief({k: (values or {}).get(k, True) for k in sorted(coalition)}, answer)


# Two conditions, even prior. Likelihood ratios flu : cold are f1 3:1, f2 1:1 (says nothing), f3 2:1.
PRIOR_2 = {"flu": F(1, 2), "cold": F(1, 2)}
TABLE_2 = {"f1": {"flu": F(3, 4), "cold": F(1, 4)},
           "f2": {"flu": F(1, 2), "cold": F(1, 2)},
           "f3": {"flu": F(2, 3), "cold": F(1, 3)}}
BELIEF_2 = naive_bayes(PRIOR_2, TABLE_2)

# Three conditions, even prior. fever and chills have the same likelihoods (symmetric players),
# rash is equally likely under every condition (a null player), sneezing points away from flu.
PRIOR_3 = {"flu": F(1, 3), "cold": F(1, 3), "allergy": F(1, 3)}
TABLE_3 = {"fever": {"flu": F(1, 2), "cold": F(1, 4), "allergy": F(1, 8)},
           "chills": {"flu": F(1, 2), "cold": F(1, 4), "allergy": F(1, 8)},
           "sneezing": {"flu": F(1, 4), "cold": F(1, 2), "allergy": F(1, 2)},
           "rash": {"flu": F(1, 10), "cold": F(1, 10), "allergy": F(1, 10)}}
BELIEF_3 = naive_bayes(PRIOR_3, TABLE_3)


def test_two_condition_posteriors_by_hand():
    v = game(BELIEF_2)
    assert v(frozenset()) == F(1, 2)
    # (1/2 * 3/4) / (1/2 * 3/4 + 1/2 * 1/4) = 3/8 / 4/8
    assert v(frozenset({"f1"})) == F(3, 4)
    # (2/3) / (2/3 + 1/3)
    assert v(frozenset({"f3"})) == F(2, 3)
    # (3/4 * 2/3) / (3/4 * 2/3 + 1/4 * 1/3) = (1/2) / (1/2 + 1/12) = 6/7
    assert v(frozenset({"f1", "f3"})) == F(6, 7)
    assert v(frozenset({"f1", "f2", "f3"})) == F(6, 7)  # f2's ratio is 1
    # A finding reported absent uses the complement: (1/2 * 1/4) / (1/2 * 1/4 + 1/2 * 3/4) = 1/4
    assert BELIEF_2({"f1": False}, "flu") == F(1, 4)


def test_two_condition_shapley_values_by_hand():
    # n = 3: weights |S|!(n-|S|-1)!/n! are 1/3 (|S| = 0), 1/6 (|S| = 1), 1/3 (|S| = 2).
    # f2 never changes v, so v(S + f2) = v(S) and phi_f2 = 0.
    # phi_f1 = 1/3 (v(1) - v()) + 1/6 [(v(12) - v(2)) + (v(13) - v(3))] + 1/3 (v(123) - v(23))
    #        = 1/3 * 1/4 + 1/6 [1/4 + (6/7 - 2/3)] + 1/3 (6/7 - 2/3)        6/7 - 2/3 = 4/21
    #        = 42/504 + 37/504 + 32/504 = 111/504 = 37/168
    # phi_f3 = 1/3 (v(3) - v()) + 1/6 [(v(23) - v(2)) + (v(13) - v(1))] + 1/3 (v(123) - v(12))
    #        = 1/3 * 1/6 + 1/6 [1/6 + (6/7 - 3/4)] + 1/3 (6/7 - 3/4)        6/7 - 3/4 = 3/28
    #        = 28/504 + 23/504 + 18/504 = 69/504 = 23/168
    # Efficiency: 37/168 + 23/168 = 60/168 = 5/14 = 6/7 - 1/2.
    expected = {"f1": F(37, 168), "f2": F(0), "f3": F(23, 168)}
    players = ["f1", "f2", "f3"]
    assert shapley_values(players, game(BELIEF_2)) == expected  # exact fractions
    assert shapley_brute_force(players, game(BELIEF_2)) == expected


def test_three_conditions_four_facts_by_hand():
    # Likelihoods flu : cold : allergy, scaled by 8^k 4^s for k of {fever, chills} and s of
    # {sneezing} present (rash scales all three alike): 4^k : 2^k 2^s : 2^s, so
    # v(k, s) = 4^k / (4^k + 2^k 2^s + 2^s):
    #   v(0,0) = 1/3   v(1,0) = 4/7    v(2,0) = 16/21
    #   v(0,1) = 1/5   v(1,1) = 4/10   v(2,1) = 16/26 = 8/13
    # rash is a null player (phi = 0) and removing it leaves the others' values unchanged. In the
    # three-player game fever and chills are symmetric, so sneezing joins after 0, 1 or 2 of
    # them with probability 1/3 each:
    #   phi_sneezing = 1/3 [(1/5 - 1/3) + (2/5 - 4/7) + (8/13 - 16/21)]
    #                = 1/3 [-2/15 - 6/35 - 40/273] = 1/3 * (-616/1365) = -88/585
    # v(N) - v() = 8/13 - 1/3 = 11/39 = 165/585, shared equally by fever and chills:
    #   phi_fever = phi_chills = (165/585 + 88/585) / 2 = 253/1170
    v = game(BELIEF_3)
    assert v(frozenset({"fever", "chills", "sneezing", "rash"})) == F(8, 13)
    assert v(frozenset({"chills", "sneezing"})) == F(2, 5)
    expected = {"fever": F(253, 1170), "chills": F(253, 1170), "sneezing": F(-88, 585), "rash": F(0)}
    players = ["fever", "chills", "sneezing", "rash"]
    assert shapley_values(players, v) == expected
    assert shapley_brute_force(players, v) == expected


def test_each_coalition_is_valued_exactly_once():
    seen = []

    def v(coalition):
        seen.append(coalition)
        return len(coalition) ** 2

    shapley_values("abcde", v)
    assert len(seen) == 2 ** 5 and len(set(seen)) == 2 ** 5


def test_an_additive_game_at_twelve_players_gives_each_its_weight():
    weights = {f"p{i}": F(i + 1, 7) for i in range(12)}
    assert shapley_values(list(weights), lambda s: sum((weights[p] for p in s), F(0))) == weights


def test_no_players_and_duplicate_or_too_many_players():
    assert shapley_values([], lambda s: 1.0) == {} and shapley_brute_force([], lambda s: 1.0) == {}
    with pytest.raises(ValueError, match="distinct"):
        shapley_values(["a", "a"], len)
    calls = []
    with pytest.raises(ValueError, match="17 players are more than the 16.*shapley_monte_carlo"):
        shapley_values(range(17), calls.append)
    assert calls == []  # refused before any work
    with pytest.raises(ValueError, match="more than the 3"):
        shapley_values("abcd", len, max_players=3)


# Random small tables: exact Fractions, so the subset formula and the orderings must agree exactly.
likelihood = st.fractions(min_value=F(1, 20), max_value=F(19, 20), max_denominator=20)


@st.composite
def tables(draw):
    conditions = [f"c{i}" for i in range(draw(st.integers(2, 3)))]
    facts = [f"f{i}" for i in range(draw(st.integers(1, 5)))]
    weights = [draw(st.integers(1, 5)) for _ in conditions]
    prior = {c: F(w, sum(weights)) for c, w in zip(conditions, weights)}
    table = {f: {c: draw(likelihood) for c in conditions} for f in facts}
    values = {f: draw(st.booleans()) for f in facts}
    return prior, table, values, draw(st.sampled_from(conditions))


@settings(max_examples=40, deadline=None)
@given(tables())
def test_exact_values_equal_the_brute_force_over_all_orderings(case):
    prior, table, values, answer = case
    v = functools.lru_cache(maxsize=None)(game(naive_bayes(prior, table), answer, values))
    players = list(table)
    exact = shapley_values(players, v)
    assert exact == shapley_brute_force(players, v)
    assert sum(exact.values()) == v(frozenset(players)) - v(frozenset())  # efficiency, exactly


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.lists(st.floats(-10, 10), min_size=2 ** n, max_size=2 ** n)))
def test_any_game_exact_equals_brute_force(table):
    n = int(math.log2(len(table)))
    players = list(range(n))

    def v(coalition):
        return table[sum(1 << p for p in coalition)]

    exact, brute = shapley_values(players, v), shapley_brute_force(players, v)
    assert all(exact[p] == pytest.approx(brute[p], abs=1e-9) for p in players)
    assert sum(exact.values()) == pytest.approx(v(frozenset(players)) - v(frozenset()), abs=1e-9)


def test_monte_carlo_estimate_is_seeded_efficient_and_close():
    weights = [3, -1, 4, 1, -5, 9]

    def v(coalition):  # not additive: a bonus when players 0 and 2 are both in
        return sum(weights[p] for p in coalition) + (6.0 if {0, 2} <= coalition else 0.0)

    players = list(range(6))
    exact = shapley_values(players, v)
    estimate = shapley_monte_carlo(players, v, permutations=3000, seed=7)
    assert estimate == shapley_monte_carlo(players, v, permutations=3000, seed=7)
    assert sum(estimate.values()) == pytest.approx(v(frozenset(players)) - v(frozenset()), abs=1e-9)
    assert all(abs(estimate[p] - exact[p]) < 0.3 for p in players)  # the bonus is 6, split 3 / 3
    assert exact[0] == pytest.approx(6.0) and exact[2] == pytest.approx(7.0)
    with pytest.raises(ValueError, match="permutations"):
        shapley_monte_carlo(players, v, permutations=0)


# ------------------------------------------------------------------ the reward provider

def belief_2(revealed, answer, trajectory):
    return float(BELIEF_2(revealed, answer))


def interview(*revealed, answer="flu", task_id="case-1") -> Trajectory:
    """One turn per entry: a dict of facts revealed on it, or ``None`` (no ``revealed`` key)."""
    turns = [Turn(i, f"observation {i}", f"question {i}", info={} if r is None else {"revealed": r})
             for i, r in enumerate(revealed)]
    metadata = {} if answer is None else {"reference_answer": answer}
    return Trajectory(task_id=task_id, turns=turns, metadata=metadata)


def test_each_turn_gets_the_shapley_value_of_what_it_revealed():
    t = interview({"f1": True}, None, {"f2": True, "f3": True}, {"f1": True}, {})
    ShapleyInformationGain(belief_2)([t])
    got = [turn.reward_components["shapley_info_gain"] for turn in t.turns]
    # f1 on turn 0; nothing on turn 1; f2 (0) + f3 on turn 2; f1 again on turn 3 is not new; nothing on 4
    assert got == pytest.approx([37 / 168, 0.0, 23 / 168, 0.0, 0.0], abs=1e-12)
    assert [turn.reward for turn in t.turns] == pytest.approx(got)
    assert sum(got) == pytest.approx(6 / 7 - 1 / 2)
    assert t.metadata["shapley_values"] == pytest.approx({"f1": 37 / 168, "f2": 0.0, "f3": 23 / 168})
    assert t.metadata["shapley_belief"] == pytest.approx({"before": 0.5, "after": 6 / 7})
    assert t.metadata["shapley_method"] == "exact"
    json.dumps(t.to_dict())  # what it records is JSON-ready


def test_credit_does_not_depend_on_when_a_fact_was_asked():
    early, late = interview({"f3": True}, {"f1": True}), interview({"f1": True}, {"f3": True})
    ShapleyInformationGain(belief_2, scale=2.0)([early, late])
    assert [turn.reward_components["shapley_info_gain"] for turn in early.turns] == pytest.approx([46 / 168, 74 / 168])
    assert [turn.reward_components["shapley_info_gain"] for turn in late.turns] == pytest.approx([74 / 168, 46 / 168])


def test_combined_with_the_diagnosis_outcome():
    t = interview({"f1": True}, {"f3": True}, None)
    t.turns[-1].info["answer"] = "Flu"
    t.turns[-1].reward = 1.0
    t.turns[-1].reward_components["outcome"] = 1.0
    CombinedReward([(ShapleyInformationGain(belief_2), 0.5), AnswerMatchReward("em")])([t])
    assert t.turns[0].reward_components == pytest.approx({"shapley_info_gain": 0.5 * 37 / 168})
    assert t.turns[1].reward_components == pytest.approx({"shapley_info_gain": 0.5 * 23 / 168})
    assert t.turns[2].reward_components == pytest.approx({"outcome": 1.0, "shapley_info_gain": 0.0,
                                                          "answer_em": 1.0})
    assert t.episode_return == pytest.approx(2.0 + 0.5 * 5 / 14)
    assert t.metadata["reward_weights"] == {"shapley_info_gain": 0.5, "answer_em": 1.0}


def test_monte_carlo_above_max_exact_keeps_the_episode_total():
    t = interview({"f1": True}, {"f2": True}, {"f3": True})
    ShapleyInformationGain(belief_2, max_exact=2, permutations=500, seed=3)([t])
    got = [turn.reward_components["shapley_info_gain"] for turn in t.turns]
    assert t.metadata["shapley_method"] == "monte_carlo"
    assert sum(got) == pytest.approx(5 / 14)  # efficiency holds for every sample of orderings
    assert got == pytest.approx([37 / 168, 0.0, 23 / 168], abs=0.03)


def test_without_a_reference_answer():
    scored, unscored = interview({"f1": True}), interview({"f1": True}, answer=None, task_id="no-answer")
    ShapleyInformationGain(belief_2)([scored, unscored])
    assert scored.turns[0].reward_components == pytest.approx({"shapley_info_gain": 3 / 4 - 1 / 2})  # f1 alone
    assert unscored.turns[0].reward_components == {}
    assert "no reference answer" in unscored.metadata["shapley_skipped"]
    with pytest.raises(ValueError, match=r"trajectory 0 \('no-answer'\) has no reference answer"):
        ShapleyInformationGain(belief_2, on_missing="raise")([unscored])


def test_a_failing_belief_is_a_clear_error_naming_the_trajectory():
    def broken(revealed, answer, trajectory):
        if "f3" in revealed:
            raise KeyError("f3 is not in the table")
        return 0.5

    batch = [interview({"f1": True}, task_id="fine"), interview({"f1": True}, {"f3": True}, task_id="flu-17")]
    with pytest.raises(ValueError, match=r"belief function raised on trajectory 1 \('flu-17'\).*KeyError") as info:
        ShapleyInformationGain(broken)(batch)
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(ValueError, match="returned nan on trajectory 0.*finite number"):
        ShapleyInformationGain(lambda r, a, t: float("nan"))([interview({"f1": True})])


def test_malformed_revealed_and_bad_arguments():
    with pytest.raises(ValueError, match=r"trajectory 0 \('case-1'\), turn 1: info\['revealed'\] must be a dict"):
        ShapleyInformationGain(belief_2)([interview({"f1": True}, ["f3"])])
    for kwargs in ({"scale": float("inf")}, {"max_exact": 17}, {"permutations": 0}, {"on_missing": "ignore"}):
        with pytest.raises(ValueError):
            ShapleyInformationGain(belief_2, **kwargs)
    with pytest.raises(ValueError, match="callable"):
        ShapleyInformationGain("not a function")


def test_brute_force_is_the_definition():
    # Three players, all 3! = 6 orderings spelled out for f1 of the two-condition table.
    v = game(BELIEF_2)
    marginals = []
    for ordering in itertools.permutations(["f1", "f2", "f3"]):
        before = frozenset(ordering[: ordering.index("f1")])
        marginals.append(v(before | {"f1"}) - v(before))
    assert sum(marginals) / 6 == F(37, 168) == shapley_brute_force(["f1", "f2", "f3"], v)["f1"]
