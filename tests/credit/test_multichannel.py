"""MT-GRPO multi-channel turn advantages: ALGORITHMS.md §4 by hand, weights, discounting."""

import numpy as np
import pytest

from agentgym.credit import MultiChannelGRPO

from .builders import assert_rows_close, build_trajectory, observation_positions, turn_positions


def two_turn_group(turn_rewards, outcomes):
    """Rollouts whose first turn carries a ``turn`` reward and second an ``outcome``."""
    return [build_trajectory([rt, ro], components=[{"turn": rt}, {"outcome": ro}])
            for rt, ro in zip(turn_rewards, outcomes)]


def test_hand_case():
    advantages = MultiChannelGRPO(["turn", "outcome"])(two_turn_group([1, 1, 0, 0], [1, 0, 1, 0]))
    first = [row[0] for row in advantages.per_turn]
    second = [row[1] for row in advantages.per_turn]
    assert first == pytest.approx([1.732, 0.0, 0.0, -1.732], abs=1e-3)
    assert second == pytest.approx([0.866, -0.866, 0.866, -0.866], abs=1e-3)


def test_channel_weights_and_discount():
    trajectories = two_turn_group([1, 1, 0, 0], [1, 0, 1, 0])
    advantages = MultiChannelGRPO({"turn": 0.5, "outcome": 2.0}, gamma=0.5)(trajectories)
    z = 0.8660254
    # Rollout 0: combined rewards [0.5 z, 2 z]; discounted: [0.5 z + 0.5 * 2 z, 2 z].
    assert advantages.per_turn[0] == pytest.approx([1.5 * z, 2 * z], abs=1e-5)
    assert advantages.components["combined_reward"][3] == pytest.approx([-0.5 * z, -2 * z], abs=1e-5)


def test_tokens_and_unnamed_components():
    trajectories = two_turn_group([1, 1, 0, 0], [1, 0, 1, 0])
    trajectories[0].turns[0].reward_components["noise"] = 100.0  # not a channel: ignored
    advantages = MultiChannelGRPO(["turn", "outcome"])(trajectories)
    tokens = advantages.tokens(0)
    assert np.allclose(tokens[turn_positions(trajectories[0], 0)], 1.732, atol=1e-3)
    assert np.allclose(tokens[turn_positions(trajectories[0], 1)], 0.866, atol=1e-3)
    assert not np.any(tokens[observation_positions(trajectories[0])])


def test_a_channel_pools_every_turn_that_carries_it():
    # A per-turn channel on every turn of rollouts of different length: one pool of 5 values.
    trajectories = [build_trajectory([1, 0, 1], components=[{"fmt": 1}, {"fmt": 0}, {"fmt": 1}]),
                    build_trajectory([0, 0], components=[{"fmt": 0}, {"fmt": 0}])]
    pool = np.array([1, 0, 1, 0, 0], dtype=float)
    z = (pool - pool.mean()) / (pool.std(ddof=1) + 1e-6)
    combined = MultiChannelGRPO(["fmt"])(trajectories).components["combined_reward"]
    assert_rows_close(combined, [z[:3].tolist(), z[3:].tolist()], tol=1e-9)


def test_group_of_one_and_lone_values_get_zero():
    assert MultiChannelGRPO(["turn", "outcome"])(two_turn_group([1], [1])).per_turn == [[0.0, 0.0]]
    # Only one rollout of the two carries the "turn" channel: nothing to compare it with.
    trajectories = [build_trajectory([1, 1], components=[{"turn": 1}, {"outcome": 1}]),
                    build_trajectory([0, 0], components=[{}, {"outcome": 0}])]
    combined = MultiChannelGRPO(["turn", "outcome"])(trajectories).components["combined_reward"]
    assert combined[0][0] == 0.0 and combined[1][0] == 0.0


def test_needs_a_channel():
    with pytest.raises(ValueError, match="channel"):
        MultiChannelGRPO([])
