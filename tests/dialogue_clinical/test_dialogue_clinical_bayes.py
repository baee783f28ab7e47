"""The naive-Bayes model, checked against posteriors and information gains computed by hand on
a two-condition table, and its use as the Shapley reward's value function."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from agentgym.envs.dialogue.clinical.bayes import (
    belief_for,
    clinical_belief,
    diagnosis_probability,
    expected_information_gain,
    most_likely,
    posterior,
)
from agentgym.envs.dialogue.clinical.table import load_table, table_from_dict
from agentgym.trajectory import Trajectory, Turn

from .conftest import TINY

TABLE = table_from_dict(TINY, "tiny")


def test_prior_is_the_prevalence_renormalised_over_the_candidates():
    assert posterior({}, table=TABLE) == pytest.approx({"alpha fever": 0.75, "beta flu": 0.25})
    assert posterior({}, ["beta flu"], table=TABLE) == {"beta flu": 1.0}


def test_posterior_by_hand():
    # P(A | f) = .75*.8 / (.75*.8 + .25*.2) = .6 / .65 = 12/13
    assert posterior({"fever": True}, table=TABLE)["alpha fever"] == pytest.approx(12 / 13)
    # absent: .75*.2 / (.75*.2 + .25*.8) = .15 / .35 = 3/7
    assert posterior({"fever": False}, table=TABLE)["alpha fever"] == pytest.approx(3 / 7)
    # f present, swab negative: .6*.1 / (.6*.1 + .05*.5) = .06 / .085 = 12/17
    both = posterior({"fever": True, "swab": False}, table=TABLE)
    assert both["alpha fever"] == pytest.approx(12 / 17) and both["beta flu"] == pytest.approx(5 / 17)
    # a finding a condition does not list takes its default (cough: .3 for alpha, .6 for beta):
    # .75*.3 / (.75*.3 + .25*.6) = .225 / .375 = 3/5
    assert posterior({"cough": True}, table=TABLE)["alpha fever"] == pytest.approx(3 / 5)
    # truthy values count as present, the order of the facts does not matter
    assert posterior({"swab": 0, "fever": 1}, table=TABLE) == pytest.approx(both)


def test_diagnosis_probability_reads_names_and_aliases():
    revealed = {"fever": True, "swab": False}
    for answer in ("alpha fever", "ALPHA", " Alpha-Fever! "):
        assert diagnosis_probability(revealed, answer, table=TABLE) == pytest.approx(12 / 17)
    assert diagnosis_probability(revealed, "b flu", table=TABLE) == pytest.approx(5 / 17)
    assert diagnosis_probability(revealed, "gamma pox", table=TABLE) == 0.0
    assert diagnosis_probability(revealed, "beta", ["alpha fever"], table=TABLE) == 0.0  # not a candidate


def test_bad_keys_and_candidates_are_named():
    with pytest.raises(KeyError, match="sneeze"):
        posterior({"sneeze": True}, table=TABLE)
    with pytest.raises(ValueError, match="gamma"):
        posterior({}, ["alpha fever", "gamma"], table=TABLE)
    with pytest.raises(ValueError, match="one string"):
        posterior({}, "alpha fever", table=TABLE)


def _entropy(*ps: float) -> float:
    return -sum(p * math.log(p) for p in ps if p)


def test_expected_information_gain_by_hand():
    gains = expected_information_gain({}, table=TABLE)
    # fever: P(f) = .65; posteriors 12/13 | f and 3/7 | not f
    fever = _entropy(.75, .25) - .65 * _entropy(12 / 13, 1 / 13) - .35 * _entropy(3 / 7, 4 / 7)
    assert gains["fever"] == pytest.approx(fever)
    # swab: P(+) = .75*.9 + .25*.5 = .8; posteriors .675/.8 | + and .075/.2 | -
    swab = _entropy(.75, .25) - .8 * _entropy(.675 / .8, .125 / .8) - .2 * _entropy(.075 / .2, .125 / .2)
    assert gains["swab"] == pytest.approx(swab)
    assert set(gains) == {"fever", "cough", "swab"}
    assert set(expected_information_gain({"fever": True}, table=TABLE)) == {"cough", "swab"}  # asked: no gain


def test_most_likely():
    assert most_likely({"fever": False, "cough": True}, ["alpha fever", "beta flu"], table=TABLE)[0] == "beta flu"


def test_bundled_posterior_is_a_distribution_and_moves_the_right_way():
    table = load_table()
    candidates = table.candidates("medium")
    beliefs = posterior({"sore_throat": True, "tonsillar_exudate": True, "rapid_strep": True}, candidates)
    assert list(beliefs) == list(candidates) and sum(beliefs.values()) == pytest.approx(1.0)
    assert max(beliefs, key=beliefs.get) == "strep throat" and beliefs["strep throat"] > 0.9
    before = diagnosis_probability({"chest_pain": True}, "heart attack", candidates)
    after = diagnosis_probability({"chest_pain": True, "troponin": True}, "heart attack", candidates)
    assert after > before


def _trajectory(presenting, revealed_per_turn, kwargs=None):
    turns = [Turn(index=i, observation="", action="", info={"revealed": r, "presenting": presenting})
             for i, r in enumerate(revealed_per_turn)]
    return Trajectory(turns=turns, metadata={"env_kwargs": kwargs or {}})


def test_the_belief_adds_the_chief_complaint_and_reads_the_level():
    trajectory = _trajectory({"chest_pain": True}, [{"troponin": True}], {"difficulty": "medium"})
    medium = load_table().candidates("medium")
    expected = diagnosis_probability({"chest_pain": True, "troponin": True}, "heart attack", medium)
    assert clinical_belief({"troponin": True}, "heart attack", trajectory) == pytest.approx(expected)
    assert belief_for("medium")({"troponin": True}, "heart attack", trajectory) == pytest.approx(expected)
    easy = diagnosis_probability({"chest_pain": True}, "heart attack", load_table().candidates("easy"))
    assert belief_for("easy")({}, "heart attack", trajectory) == pytest.approx(easy)
    with pytest.raises(ValueError, match="difficulty"):
        belief_for("impossible")


def test_the_shapley_reward_credits_each_turn_with_its_revealed_facts():
    """Hand-checked on the tiny table: with v(S) = P(alpha | S) and facts f (fever, turn 0) and
    s (swab negative, turn 1): v(∅) = 3/4, v(f) = 12/13, v(s) = .075/.2 = 3/8, v(f, s) = 12/17;
    φ_f = ((v(f) - v(∅)) + (v(f, s) - v(s))) / 2, likewise φ_s, and they sum to v(f, s) - v(∅)."""
    from agentgym.rewards.shapley import ShapleyInformationGain

    trajectory = _trajectory({}, [{"fever": True}, {"swab": False}, {}])
    trajectory.metadata["reference_answer"] = "alpha fever"
    reward = ShapleyInformationGain(belief_for("easy", table=TABLE))
    [values] = reward.score([trajectory])
    v0, vf, vs, vfs = Fraction(3, 4), Fraction(12, 13), Fraction(3, 8), Fraction(12, 17)
    phi_f = ((vf - v0) + (vfs - vs)) / 2
    phi_s = ((vs - v0) + (vfs - vf)) / 2
    assert values == pytest.approx([float(phi_f), float(phi_s), 0.0])
    assert sum(values) == pytest.approx(float(vfs - v0))
