"""GRPO, Dr.GRPO and RLOO: ALGORITHMS.md §1 by hand, the per-turn switch, the group-of-one rule."""

import numpy as np
import pytest

from agentgym.credit import GRPO, RLOO, DrGRPO, group_indices, group_relative_advantages

from .builders import build_trajectory, observation_positions, turn_positions

TOL = 1e-3


def group(returns, **kwargs):
    """One group of two-turn rollouts whose return (on the last turn) is ``returns[i]``."""
    return [build_trajectory([0.0, r], **kwargs) for r in returns]


@pytest.mark.parametrize(("estimator", "magnitude"), [(GRPO(), 0.8660), (DrGRPO(), 0.5), (RLOO(), 0.6667)])
def test_hand_computed_group_1001(estimator, magnitude):
    trajectories = group([1, 0, 0, 1])
    advantages = estimator(trajectories)
    expected = [magnitude, -magnitude, -magnitude, magnitude]
    for i, value in enumerate(expected):
        assert advantages.per_turn[i] == pytest.approx([value, value], abs=TOL)


def test_turn_advantage_is_broadcast_over_its_action_tokens_only():
    trajectories = group([1, 0, 0, 1], action_tokens=[3, 2], observation_tokens=[4, 1])
    advantages = GRPO()(trajectories)
    tokens = advantages.tokens(0)
    assert tokens.shape == (len(trajectories[0].token_ids),)
    for t in range(2):
        assert tokens[turn_positions(trajectories[0], t)] == pytest.approx([0.866] * len(turn_positions(trajectories[0], t)), abs=TOL)
    assert np.all(tokens[observation_positions(trajectories[0])] == 0.0)
    assert np.count_nonzero(tokens) == sum(trajectories[0].loss_mask())


def test_rloo_is_the_leave_one_out_mean():
    returns = [3.0, 1.0, 0.0, 2.0, 5.0]
    advantages = group_relative_advantages(returns, baseline="rloo")
    for i, r in enumerate(returns):
        others = [x for j, x in enumerate(returns) if j != i]
        assert advantages[i] == pytest.approx(r - np.mean(others))
    # ... which is the centred return scaled by G / (G - 1).
    assert advantages == pytest.approx((np.array(returns) - np.mean(returns)) * 5 / 4)


@pytest.mark.parametrize("estimator", [GRPO(), DrGRPO(), RLOO(), GRPO(per_trajectory=False), RLOO(per_trajectory=False)])
def test_group_of_one_gets_zero(estimator):
    advantages = estimator([build_trajectory([0.0, 5.0])])
    assert advantages.per_turn == [[0.0, 0.0]]
    assert not np.any(advantages.tokens(0))


def test_ungrouped_trajectories_are_groups_of_one():
    trajectories = [build_trajectory([1.0], group_id=None), build_trajectory([0.0], group_id=None)]
    assert group_indices(trajectories) == [[0], [1]]
    assert GRPO()(trajectories).per_turn == [[0.0], [0.0]]


def test_groups_are_normalised_separately_and_outputs_keep_input_order():
    trajectories = [build_trajectory([1.0], group_id="a"), build_trajectory([10.0], group_id="b"),
                    build_trajectory([0.0], group_id="a"), build_trajectory([20.0], group_id="b")]
    assert group_indices(trajectories) == [[0, 2], [1, 3]]
    advantages = DrGRPO()(trajectories)
    assert advantages.per_turn == [[0.5], [-5.0], [-0.5], [5.0]]


def test_per_turn_counting_weighs_long_trajectories():
    # A succeeds in 1 turn, B fails after 3 turns.
    trajectories = [build_trajectory([1.0]), build_trajectory([0.0, 0.0, 0.0])]
    # Each trajectory once: mean 0.5.
    assert DrGRPO()(trajectories).per_turn == [[0.5], [-0.5] * 3]
    # Each turn once: mean (1*1 + 3*0) / 4 = 0.25.
    per_turn = DrGRPO(per_trajectory=False)(trajectories).per_turn
    assert per_turn[0] == pytest.approx([0.75])
    assert per_turn[1] == pytest.approx([-0.25] * 3)
    # GRPO std over the four rows [1, 0, 0, 0] (ddof 1) = 0.5.
    assert GRPO(per_trajectory=False)(trajectories).per_turn[0] == pytest.approx([1.5], abs=TOL)
    # RLOO: each rollout's baseline is the other's return.
    assert RLOO(per_trajectory=False)(trajectories).per_turn[0] == pytest.approx([1.0])


def test_text_only_trajectories_get_per_turn_values_only():
    trajectories = group([1, 0], text_only=True)
    advantages = GRPO()(trajectories)
    assert advantages.per_turn[0] == pytest.approx([0.7071] * 2, abs=TOL)
    assert advantages.token_advantages == [None, None]
    with pytest.raises(ValueError, match="text-only"):
        advantages.tokens(0)


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="baseline"):
        group_relative_advantages([1.0, 0.0], baseline="median")
