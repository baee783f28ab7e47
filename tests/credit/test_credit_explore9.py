"""Exploratory round 9 of the credit estimators: pools without spread, rewards near the float
maximum, settings and inputs of the wrong type."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from agentgym.credit import (
    GRPO,
    IGPO,
    RLOO,
    BiLevelGAE,
    DrGRPO,
    GiGPO,
    MultiChannelGRPO,
    ReinforceBatchNorm,
    StratifiedGRPO,
    TurnAwareGAE,
)
from tests.credit.builders import build_trajectory

# ------------------------------------------------------------------ pools whose values are all equal


def _equal_pool_estimators(eps):
    return [GRPO(eps=eps), GRPO(per_trajectory=False, eps=eps), DrGRPO(), RLOO(), RLOO(per_trajectory=False),
            GiGPO(eps=eps), GiGPO(normalize_by_std=False), StratifiedGRPO(eps=eps),
            StratifiedGRPO(normalize_by_std=False), ReinforceBatchNorm(normalize_over="turns", eps=eps),
            ReinforceBatchNorm(eps=eps), MultiChannelGRPO(["task"], eps=eps),
            IGPO(outcome="reward", eps=eps), IGPO(outcome="reward", normalization="joint", eps=eps)]


@pytest.mark.parametrize("eps", [0.0, 1e-6])
@pytest.mark.parametrize("reward", [1.0, 0.1, 0.7, -3.3])
def test_a_group_whose_rewards_are_all_equal_gets_exactly_zero(eps, reward):
    # eps = 0 (accepted: "a finite number >= 0") made every all-equal group NaN (0 / 0), and
    # [0.1, 0.1, 0.1] -0.816 each (the mean 0.10000000000000002 left a rounding "spread" that the
    # division blew up); with the default eps the same group got -1.4e-11, not the 0 it is owed.
    group = [build_trajectory([reward], observations=["s"]) for _ in range(3)]
    for estimator in _equal_pool_estimators(eps):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no 'invalid value encountered in divide'
            result = estimator(group)
        assert result.per_turn == [[0.0]] * 3, (estimator, result.per_turn)


def test_gigpo_step_groups_of_equal_returns_get_exactly_zero_with_eps_0():
    # ALGORITHMS.md section 2: the step group s1 holds [1.0, 1.0] and gets A^S = 0 (it was NaN with eps 0).
    t1 = build_trajectory([0.0, 1.0], observations=["s0", "s1"])
    t2 = build_trajectory([0.0, 0.0, 1.0], observations=["s0", "s0", "s1"])
    t3 = build_trajectory([0.0, 0.0, 0.0], observations=["s0", "s0", "s0"])
    step = GiGPO(gamma=0.9, eps=0.0)([t1, t2, t3]).components["step"]
    assert step[0][1] == 0.0 and step[1][2] == 0.0
    assert step[0][0] == pytest.approx(0.9735, abs=1e-3) and step[2] == [pytest.approx(-0.9107, abs=1e-3)] * 3


def test_turns_left_out_of_the_token_statistics_do_not_get_a_huge_advantage():
    # normalize_over="tokens": a turn without generated tokens counts 0 times; when every counted
    # token carried the same return, the std was 0 and such a turn got (R - mean) / 1e-6 = 1e6.
    counted = build_trajectory([1.0], action_tokens=2, group_id=None)
    uncounted = build_trajectory([2.0], action_tokens=0, group_id=None)
    assert ReinforceBatchNorm()([counted, uncounted]).per_turn == [[0.0], [0.0]]


# ------------------------------------------------------------------ rewards near the float maximum

@pytest.mark.parametrize("estimator", [GRPO(), DrGRPO(), RLOO(), GiGPO(), StratifiedGRPO(), ReinforceBatchNorm(),
                                       MultiChannelGRPO(["task"]), IGPO(outcome="reward")],
                         ids=lambda estimator: type(estimator).__name__)
def test_a_reward_of_at_least_2_to_the_1023_is_scaled_without_overflow(estimator):
    # The scaling divided by 2^1024 for 1e308 (2^1023 = 8.99e307 <= 1e308 < 2^1024): not a float,
    # and every estimator failed with a bare 'OverflowError: math range error' from math.ldexp.
    group = [build_trajectory([1e308]), build_trajectory([0.0]), build_trajectory([-1e308])]
    result = estimator(group).per_turn
    assert result[1] == [0.0] and result[0][0] > 0 and result[0] == [-value for value in result[2]]
    plain = estimator([build_trajectory([1.0]), build_trajectory([0.0]), build_trajectory([-1.0])]).per_turn
    scale = 1e308 if isinstance(estimator, (DrGRPO, RLOO)) else 1.0  # the mean-centred ones keep units
    assert result[0][0] == pytest.approx(plain[0][0] * scale, rel=1e-5)  # eps = 1e-6 weighs on plain only


def test_training_health_measures_returns_of_at_least_2_to_the_1023():
    from agentgym.credit import training_health

    health = training_health([build_trajectory([1e308]), build_trajectory([0.0])])
    assert health.reward_std_in_group == pytest.approx(5e307)


# ------------------------------------------------------------------ settings of the wrong type

@pytest.mark.parametrize("bad", ["0.9", True, math.nan, 0.0, 1.5, [0.9]])
def test_gigpo_similarity_threshold_must_be_a_number_in_the_half_open_unit_interval(bad):
    # "0.9" (a string) failed with Python's "'<' not supported between 'float' and 'str'"; True
    # was taken as a threshold of 1.0.
    with pytest.raises(ValueError, match="similarity_threshold must be a number in"):
        GiGPO(similarity_threshold=bad)


def test_gigpo_anchor_and_stratified_stratum_must_be_functions():
    # A name ("observation", "turns") was accepted and the first batch, its rollouts already paid
    # for, failed with "'str' object is not callable".
    with pytest.raises(ValueError, match="anchor must be a function of a turn"):
        GiGPO(anchor="observation")
    with pytest.raises(ValueError, match="stratum must be a function of a trajectory"):
        StratifiedGRPO(stratum="turns")
    group = [build_trajectory([1.0]), build_trajectory([0.0])]
    assert GiGPO(anchor=lambda turn: turn.observation, similarity_threshold=0.9)(group).per_turn[0][0] > 0
    assert StratifiedGRPO(stratum=lambda trajectory: 0)(group).per_turn[0][0] > 0


@pytest.mark.parametrize("estimator", [TurnAwareGAE(), BiLevelGAE()], ids=lambda estimator: type(estimator).__name__)
def test_gae_names_bootstrap_values_or_values_that_are_not_one_per_trajectory(estimator):
    # One number for every trajectory (bootstrap_values=0.5) failed with Python's "object of type
    # 'float' has no len()"; values given as a generator with "'generator' has no len()".
    group = [build_trajectory([1.0]), build_trajectory([0.0])]
    values = [np.zeros(len(trajectory.token_ids)) for trajectory in group]
    with pytest.raises(ValueError, match="bootstrap_values must hold one number per trajectory"):
        estimator(group, values, 0.5)
    with pytest.raises(ValueError, match="values must hold one array per trajectory"):
        estimator(group, (value for value in values))
    assert estimator(group, values, np.array([0.5, 0.0])).per_turn[0][0] > estimator(group, values).per_turn[0][0]


def test_training_health_of_infinite_returns_is_nan_not_a_zero_spread():
    # The shortcut for equal values (exact mean, std 0) took [inf, inf] for a pool without spread.
    from agentgym.credit import training_health

    group = [build_trajectory([1.0]), build_trajectory([1.0])]
    for trajectory in group:
        trajectory.turns[0].reward = math.inf  # training_health measures, it does not check
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert math.isnan(training_health(group).reward_std_in_group)


# ------------------------------------------------------------------ GAE: terminated vs truncated

@pytest.mark.parametrize("estimator", [TurnAwareGAE(gamma=1.0, lam=1.0), BiLevelGAE(turn_gamma=1.0)],
                         ids=lambda estimator: type(estimator).__name__)
def test_gae_never_bootstraps_past_a_terminated_episode(estimator):
    # The critic's estimate after the last token, passed for the whole batch, was added to the
    # return of an episode that had terminated (nothing follows it): its advantages rose by 5.
    terminated = build_trajectory([0.0, 1.0], action_tokens=1)
    terminated.terminated = True
    truncated = build_trajectory([0.0, 1.0], action_tokens=1)
    truncated.truncated = True
    values = [np.zeros(len(terminated.token_ids)), np.zeros(len(truncated.token_ids))]
    result = estimator([terminated, truncated], values, [5.0, 5.0])
    assert result.per_turn == [[1.0, 1.0], [6.0, 6.0]]


@pytest.mark.parametrize("bad", [None, 5, [["invalid"]], [1]])
def test_gigpo_penalty_keys_must_be_a_collection_of_strings(bad):
    # None (meaning "no penalties") and 5 failed with "'NoneType' object is not iterable"; a
    # key that is a list was accepted and the first batch failed "unhashable type: 'list'", an int
    # key never matched the string-keyed reward components.
    with pytest.raises(ValueError, match="penalty_keys"):
        GiGPO(penalty_keys=bad)
    assert GiGPO(penalty_keys=()).penalty_keys == () and GiGPO(penalty_keys=["invalid"]).penalty_keys == ("invalid",)


@pytest.mark.parametrize("bad", [None, 5, [["turn"]], {1: 1.0}])
def test_multichannel_channels_must_be_strings(bad):
    # None and 5 failed with "object is not iterable", [["turn"]] with "unhashable type: 'list'";
    # {1: 1.0} became the channel "1", which no reward component is called.
    with pytest.raises(ValueError, match="channels"):
        MultiChannelGRPO(bad)
    assert MultiChannelGRPO({"turn": 2.0}).channel_weights == {"turn": 2.0}
    assert MultiChannelGRPO(key for key in ["turn", "outcome"]).channel_weights == {"turn": 1.0, "outcome": 1.0}
