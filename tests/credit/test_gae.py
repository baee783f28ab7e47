"""Turn-aware token GAE and bi-level GAE: ALGORITHMS.md §5 by hand, plus the trajectory glue."""

import numpy as np
import pytest

from agentgym.credit import BiLevelGAE, TurnAwareGAE, masked_gae, turn_level_gae

from .builders import build_trajectory, observation_positions


def test_masked_gae_skips_observation_tokens():
    # tokens [a, a, o, o, a], reward 1 on the last token, V = 0, gamma 0.5, lambda 1.
    advantages, targets = masked_gae([0, 0, 0, 0, 1], [0] * 5, [1, 1, 0, 0, 1], gamma=0.5, lam=1.0)
    assert advantages == pytest.approx([0.25, 0.5, 0.0, 0.0, 1.0], abs=1e-3)
    assert targets == pytest.approx([0.25, 0.5, 0.0, 0.0, 1.0], abs=1e-3)
    # Plain GAE over every position discounts across the observation tokens too.
    unmasked, _ = masked_gae([0, 0, 0, 0, 1], [0] * 5, [1] * 5, gamma=0.5, lam=1.0)
    assert unmasked[:2] == pytest.approx([0.0625, 0.125], abs=1e-3)


def test_masked_gae_carries_the_next_value_across_observations():
    # Values on observation positions must be ignored: the value after token 1 is V(token 4).
    values = [0.1, 0.2, 99.0, -99.0, 0.4]
    advantages, targets = masked_gae([0, 0, 0, 0, 1], values, [1, 1, 0, 0, 1], gamma=0.9, lam=0.8)
    delta4 = 1 - 0.4
    delta1 = 0.9 * 0.4 - 0.2
    delta0 = 0.9 * 0.2 - 0.1
    a4 = delta4
    a1 = delta1 + 0.9 * 0.8 * a4
    a0 = delta0 + 0.9 * 0.8 * a1
    assert advantages == pytest.approx([a0, a1, 0.0, 0.0, a4])
    assert targets == pytest.approx([a0 + 0.1, a1 + 0.2, 0.0, 0.0, a4 + 0.4])


def test_masked_gae_bootstraps_and_refuses_rewards_on_observations():
    advantages, _ = masked_gae([0.0], [0.0], [1], gamma=0.5, lam=1.0, bootstrap=2.0)
    assert advantages == pytest.approx([1.0])
    with pytest.raises(ValueError, match="masked"):
        masked_gae([0, 1], [0, 0], [1, 0], gamma=1.0, lam=1.0)
    with pytest.raises(ValueError, match="shape"):
        masked_gae([0, 1], [0], [1, 1], gamma=1.0, lam=1.0)


def test_turn_level_case():
    advantages, returns = turn_level_gae([0.5, 1.0], [0.4, 0.8], gamma=0.9, lam=1.0)
    assert advantages == pytest.approx([1.0, 0.2], abs=1e-3)
    assert returns == pytest.approx([1.4, 1.0], abs=1e-3)
    # lambda = 1: the returns are the Monte-Carlo returns.
    assert returns[0] == pytest.approx(0.5 + 0.9 * 1.0)


def test_turn_aware_gae_on_a_trajectory():
    # prompt 3, turn 0: 2 action + 2 observation tokens, turn 1: 1 action + 1 observation token.
    trajectory = build_trajectory([0.0, 1.0], action_tokens=[2, 1], observation_tokens=[2, 1])
    assert trajectory.loss_mask() == [0, 0, 0, 1, 1, 0, 0, 1, 0]
    values = np.full(9, 7.0)  # off-mask values must not matter
    values[[3, 4, 7]] = 0.0
    advantages = TurnAwareGAE(gamma=0.5, lam=1.0)([trajectory], [values])
    tokens = advantages.tokens(0)
    assert tokens[[3, 4, 7]] == pytest.approx([0.25, 0.5, 1.0])
    assert not np.any(tokens[observation_positions(trajectory)])
    assert advantages.per_turn == [pytest.approx([0.25, 1.0])]
    assert advantages.value_targets[0][[3, 4, 7]] == pytest.approx([0.25, 0.5, 1.0])
    assert not np.any(advantages.value_targets[0][observation_positions(trajectory)])


def test_turn_aware_gae_rewards_sit_on_each_turns_last_token():
    trajectory = build_trajectory([2.0, 0.0], action_tokens=[3, 1], observation_tokens=[1, 1])
    advantages = TurnAwareGAE(gamma=1.0, lam=1.0)([trajectory], [np.zeros(len(trajectory.token_ids))])
    # The turn-0 reward counts for all of turn 0's tokens, not for turn 1's.
    assert advantages.per_turn[0] == pytest.approx([2.0, 0.0])


def test_bi_level_gae_on_a_trajectory():
    trajectory = build_trajectory([0.5, 1.0], action_tokens=[3, 2], observation_tokens=[2, 1])
    mask = trajectory.loss_mask()
    spans = [turn.action_span for turn in trajectory.turns]
    values = np.full(len(mask), -5.0)  # off-mask: ignored
    values[spans[0][0]:spans[0][1]] = [0.4, 0.6, 1.0]
    values[spans[1][0]:spans[1][1]] = [0.8, 0.9]
    advantages = BiLevelGAE(turn_gamma=0.9, turn_lam=1.0)([trajectory], [values])
    # Turn level: V = (0.4, 0.8) read at each turn's first generated token -> A = (1.0, 0.2).
    assert advantages.per_turn[0] == pytest.approx([1.0, 0.2], abs=1e-3)
    assert advantages.components["turn_return"][0] == pytest.approx([1.4, 1.0], abs=1e-3)
    # Token level (gamma = lambda = 1): each token earns G_t - V(token).
    tokens = advantages.tokens(0)
    assert tokens[spans[0][0]:spans[0][1]] == pytest.approx([1.0, 0.8, 0.4], abs=1e-3)
    assert tokens[spans[1][0]:spans[1][1]] == pytest.approx([0.2, 0.1], abs=1e-3)
    assert not np.any(tokens[observation_positions(trajectory)])
    assert advantages.value_targets[0][spans[0][0]:spans[0][1]] == pytest.approx([1.4] * 3, abs=1e-3)


def test_bi_level_token_discount_inside_a_turn():
    trajectory = build_trajectory([1.0], action_tokens=[2], observation_tokens=[0])
    values = np.zeros(len(trajectory.token_ids))
    advantages = BiLevelGAE(turn_gamma=1.0, token_gamma=0.5, token_lam=1.0)([trajectory], [values])
    # G_0 = 1 on the last token; the first token sees it discounted once.
    assert advantages.tokens(0)[3:5] == pytest.approx([0.5, 1.0])


@pytest.mark.parametrize("estimator", [TurnAwareGAE(), BiLevelGAE()])
def test_inputs_are_checked(estimator):
    trajectory = build_trajectory([1.0, 0.0])
    with pytest.raises(ValueError, match="values for"):
        estimator([trajectory], [np.zeros(3)])
    with pytest.raises(ValueError, match="value arrays"):
        estimator([trajectory], [])
    with pytest.raises(ValueError, match="text-only"):
        estimator([build_trajectory([1.0], text_only=True)], [np.zeros(0)])
    empty_turn = build_trajectory([1.0, 0.0], action_tokens=[2, 0])
    with pytest.raises(ValueError, match="no generated tokens"):
        estimator([empty_turn], [np.zeros(len(empty_turn.token_ids))])


def test_bootstrap_values_for_truncated_episodes():
    trajectory = build_trajectory([0.0], action_tokens=[1], observation_tokens=[0])
    values = np.zeros(len(trajectory.token_ids))
    advantages = TurnAwareGAE(gamma=0.5, lam=1.0)([trajectory], [values], bootstrap_values=[4.0])
    assert advantages.per_turn[0] == pytest.approx([2.0])
