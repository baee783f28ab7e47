"""Exploratory round 14 of the credit estimators: the batch argument, the building blocks
exported beside the estimators (GAE, statistics, Advantages.broadcast), settings checked when
an estimator is made, and errors that name the trajectory."""

from __future__ import annotations

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
    training_health,
)
from tests.credit.builders import build_trajectory


def _ids(estimator) -> str:
    return type(estimator).__name__


def _batch():
    return [build_trajectory([1.0, 0.5]), build_trajectory([0.0]), build_trajectory([0.0, 0.0]),
            build_trajectory([1.0], group_id="h"), build_trajectory([0.2], group_id="h")]


# ------------------------------------------------------------------ the batch argument

@pytest.mark.parametrize("estimator", [GRPO(), DrGRPO(), RLOO(), GiGPO(), StratifiedGRPO(), ReinforceBatchNorm(),
                                       MultiChannelGRPO(["task"]), IGPO(outcome="reward", info_gain_key="task")],
                         ids=_ids)
def test_a_batch_given_as_a_generator_gives_the_advantages_of_the_list(estimator):
    # The batch is read several times (rewards, groups, returns): a generator or filter(...) was
    # used up by the reward check, and GiGPO, ReBN, MT-GRPO and IGPO returned no advantages at
    # all without a word (the others failed with "'generator' has no len()").
    batch = _batch()
    expected = estimator(batch).per_turn
    assert estimator(trajectory for trajectory in batch).per_turn == expected
    assert len(expected) == 5 and estimator(filter(None, batch)).per_turn == expected


@pytest.mark.parametrize("estimator", [TurnAwareGAE(), BiLevelGAE()], ids=_ids)
def test_value_based_estimators_and_health_take_a_generator_of_trajectories(estimator):
    batch = _batch()
    values = [np.linspace(0.0, 1.0, len(trajectory.token_ids)) for trajectory in batch]
    assert estimator(iter(batch), values).per_turn == estimator(batch, values).per_turn
    advantages = GRPO()(batch)
    assert training_health(iter(batch), advantages) == training_health(batch, advantages)


def test_broadcast_wants_one_row_per_trajectory_and_one_value_per_turn():
    # zip() dropped the trajectories past the last row without a word, and a text-only
    # trajectory took a row of any length (the token-level ones were checked).
    from agentgym.credit import Advantages

    token_level, text_only = build_trajectory([1.0, 0.0]), build_trajectory([1.0], text_only=True)
    with pytest.raises(ValueError, match="1 advantage rows for 2 trajectories"):
        Advantages.broadcast([token_level, text_only], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="trajectory 1: 3 advantages for 1 turns"):
        Advantages.broadcast([token_level, text_only], [[1.0, 2.0], [1.0, 2.0, 3.0]])
    result = Advantages.broadcast([token_level, text_only], [[1.0, 2.0], [3.0]])
    assert result.per_turn == [[1.0, 2.0], [3.0]] and result.token_advantages[1] is None


# ------------------------------------------------------------------ the exported building blocks

def test_masked_gae_refuses_discounts_outside_the_unit_interval_and_values_that_are_not_finite():
    # The estimators checked these, the exported function did not: gamma = 1.5 gave returns that
    # grow with the distance to the reward, a NaN value made every advantage before it NaN.
    import math

    from agentgym.credit import masked_gae, turn_level_gae

    rewards, mask = [0.0, 0.0, 0.0, 0.0, 1.0], [1, 1, 0, 0, 1]
    for setting in ({"gamma": 1.5, "lam": 1.0}, {"gamma": 0.5, "lam": -0.1}, {"gamma": math.nan, "lam": 1.0}):
        with pytest.raises(ValueError, match="must be a number in"):
            masked_gae(rewards, [0.0] * 5, mask, **setting)
    with pytest.raises(ValueError, match=r"positions \[1\] are not finite"):
        masked_gae(rewards, [0.0, math.nan, 0.0, 0.0, 0.0], mask, gamma=0.5, lam=1.0)
    with pytest.raises(ValueError, match="bootstrap value inf"):
        masked_gae(rewards, [0.0] * 5, mask, gamma=0.5, lam=1.0, bootstrap=math.inf)
    with pytest.raises(ValueError, match=r"positions \[0\] are not finite"):
        turn_level_gae([math.inf, 1.0], [0.4, 0.8], gamma=0.9, lam=1.0)
    # Values off the mask are not read (ALGORITHMS.md section 5's case).
    advantages, _ = masked_gae(rewards, [0.0, 0.0, math.nan, math.nan, 0.0], mask, gamma=0.5, lam=1.0)
    assert advantages.tolist() == [0.25, 0.5, 0.0, 0.0, 1.0]


def test_group_relative_advantages_checks_its_arguments_for_a_group_of_one_too():
    # A typo in the baseline gave zeros for a group of one and failed only at the first group of
    # two; weights of another length failed with numpy's "boolean index did not match", negative
    # or NaN weights gave all-zero advantages without a word.
    import math

    from agentgym.credit import group_relative_advantages

    with pytest.raises(ValueError, match="unknown baseline 'grop'"):
        group_relative_advantages([1.0], baseline="grop")
    with pytest.raises(ValueError, match=r"got shapes \(2,\) and \(3,\)"):
        group_relative_advantages([1.0, 0.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"got shapes \(1, 2\)"):
        group_relative_advantages([[1.0, 0.0]])
    for bad in ([-1.0, 1.0], [1.0, math.nan]):
        with pytest.raises(ValueError, match="weights must be finite numbers >= 0"):
            group_relative_advantages([1.0, 0.0], bad, baseline="rloo")
    assert group_relative_advantages([1.0, 0.0], [3.0, 1.0], baseline="rloo").tolist() == [1.0, -1.0]
    assert group_relative_advantages([5.0], baseline="mean_norm").tolist() == [0.0]


def test_igpo_names_why_the_information_gain_provider_skipped_a_trajectory():
    # InformationGainReward(on_missing="skip") leaves a trajectory without info_gain components
    # and records why in metadata["info_gain_skipped"]; IGPO then said "run the information-gain
    # reward provider first", which had been run.
    def scored(gains, outcome):
        return build_trajectory([*gains, outcome], components=[*({"info_gain": g} for g in gains),
                                                                {"outcome": outcome}])

    skipped = build_trajectory([0.0, 1.0], components=[{}, {"outcome": 1.0}])
    skipped.task_id = "no-answer-3"
    skipped.metadata["info_gain_skipped"] = "no reference answer in the metadata"
    with pytest.raises(ValueError, match=r"trajectory 1 \('no-answer-3'\), turn 0: no 'info_gain' .*skipped this "
                                         r"trajectory: no reference answer in the metadata"):
        IGPO()([scored([0.2], 1.0), skipped])
    with pytest.raises(ValueError, match="run the information-gain reward provider first"):
        IGPO()([scored([0.2], 1.0), build_trajectory([0.0, 1.0], components=[{}, {"outcome": 1.0}])])


# ------------------------------------------------------------------ settings

@pytest.mark.parametrize("setting", ["outcome_key", "info_gain_key"])
@pytest.mark.parametrize("bad", [["outcome"], None, 1, ""])
def test_igpo_reward_component_keys_must_be_non_empty_strings(setting, bad):
    # Accepted when made; the first batch, its rollouts paid for, then failed with "unhashable
    # type: 'list'" or "no None / 1 / '' reward component" (as GiGPO's penalty_keys and
    # MultiChannelGRPO's channels did before they were checked).
    with pytest.raises(ValueError, match=f"{setting} must name a reward component"):
        IGPO(**{setting: bad})
    group = [build_trajectory([0.2, 1.0], components=[{"gain": 0.2}, {"result": 1.0}]),
             build_trajectory([0.1, 0.0], components=[{"gain": 0.1}, {"result": 0.0}])]
    assert IGPO(outcome_key="result", info_gain_key="gain")(group).per_turn[0][0] > 0


@pytest.mark.parametrize("make", [lambda bad: GRPO(per_trajectory=bad), lambda bad: RLOO(per_trajectory=bad),
                                  lambda bad: GiGPO(normalize_by_std=bad),
                                  lambda bad: StratifiedGRPO(normalize_by_std=bad),
                                  lambda bad: ReinforceBatchNorm(unbiased_std=bad)])
@pytest.mark.parametrize("bad", ["false", None, 0])
def test_switches_must_be_true_or_false(make, bad):
    # "false" (a string from an environment variable or a hand-made config) is truthy: the
    # switch was silently on; None silently off.
    with pytest.raises(ValueError, match="must be True or False"):
        make(bad)
    group = [build_trajectory([1.0, 0.0, 0.0]), build_trajectory([0.0]), build_trajectory([0.5])]
    assert make(False)(group).per_turn != make(True)(group).per_turn


# ------------------------------------------------------------------ GAE: what a terminated episode reads

@pytest.mark.parametrize("estimator", [TurnAwareGAE(gamma=1.0, lam=1.0), BiLevelGAE(turn_gamma=1.0)], ids=_ids)
def test_the_bootstrap_entry_of_a_terminated_episode_is_not_read(estimator):
    # "A trajectory marked terminated takes 0 whatever its entry says", yet an entry of None
    # (nothing to bootstrap) or NaN was refused as "not a finite number" for such a trajectory.
    import math

    terminated = build_trajectory([0.0, 1.0], action_tokens=1)
    terminated.terminated = True
    truncated = build_trajectory([0.0, 1.0], action_tokens=1)
    truncated.truncated = True
    values = [np.zeros(len(terminated.token_ids)), np.zeros(len(truncated.token_ids))]
    for entry in (None, math.nan):
        assert estimator([terminated, truncated], values, [entry, 5.0]).per_turn == [[1.0, 1.0], [6.0, 6.0]]
        with pytest.raises(ValueError, match="trajectory 1: bootstrap value .* is not a finite number"):
            estimator([terminated, truncated], values, [0.0, entry])


@pytest.mark.parametrize("span", [(9, 40), (9, 5), (-2, 4)])
def test_a_damaged_action_span_is_reported_with_the_trajectory_it_belongs_to(span):
    # "turn 1: action_span (9, 40) lies outside the 11 recorded tokens" did not say which of the
    # batch's trajectories was damaged.
    batch = [build_trajectory([1.0]), build_trajectory([0.0]), build_trajectory([0.0, 1.0])]
    batch[2].task_id = "wordle-3"
    batch[2].turns[1].action_span = span
    where = r"trajectory 2 \('wordle-3'\), turn 1: action_span"
    for estimator in (GRPO(), GiGPO(), ReinforceBatchNorm(), ReinforceBatchNorm(normalize_over="turns")):
        with pytest.raises(ValueError, match=where):
            estimator(batch)
    values = [np.zeros(len(trajectory.token_ids)) for trajectory in batch]
    for estimator in (TurnAwareGAE(), BiLevelGAE()):
        with pytest.raises(ValueError, match=where):
            estimator(batch, values)


def test_standardize_and_discounted_returns_check_their_settings():
    # The estimators checked eps, ddof and gamma, the exported helpers did not: eps = -1 gave
    # [-inf, nan, inf] for [1, 2, 3], eps = -0.5 doubled every advantage, gamma = 2 returns that
    # grow backwards, gamma = NaN all NaN.
    import math

    from agentgym.credit import discounted_returns, standardize

    for eps in (-1.0, -0.5, math.nan, "0"):
        with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
            standardize([1.0, 2.0, 3.0], ddof=1, eps=eps)
    for ddof in (-1, 2, True, 0.5):
        with pytest.raises(ValueError, match="ddof must be 0"):
            standardize([1.0, 2.0, 3.0], ddof=ddof)
    for gamma in (2.0, -0.5, math.nan):
        with pytest.raises(ValueError, match="gamma must be a number in"):
            discounted_returns([1.0, 1.0, 1.0], gamma)
    assert standardize([1.0, 2.0, 3.0], ddof=1, eps=0.0).tolist() == [-1.0, 0.0, 1.0]
    assert discounted_returns([1.0, 1.0, 1.0], 0.5).tolist() == [1.75, 1.5, 1.0]


def test_gigpo_similarity_mode_names_the_turn_whose_anchor_is_not_text():
    # "TypeError: similarity mode compares text: the anchor function must return strings" named
    # neither the trajectory and turn nor the anchor (as the error for an unhashable one does).
    batch = [build_trajectory([1.0, 0.0]), build_trajectory([0.0])]
    batch[0].task_id = "alfworld-7"
    with pytest.raises(TypeError, match=r"trajectory 0 \('alfworld-7'\), turn 1: the anchor None is not a string"):
        GiGPO(similarity_threshold=0.9, anchor=lambda turn: None if turn.index else "start")(batch)
    with pytest.raises(TypeError, match=r"trajectory 0 \('alfworld-7'\), turn 0: the anchor \('state 0',\)"):
        GiGPO(similarity_threshold=0.9, anchor=lambda turn: (turn.observation,))(batch)
    assert GiGPO(anchor=lambda turn: (turn.observation,))(batch).per_turn[0][0] > 0  # exact mode: any hashable
