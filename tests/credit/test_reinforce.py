"""REINFORCE with batch return normalisation: ALGORITHMS.md §6 by hand, pools and std choice."""

import numpy as np
import pytest

from agentgym.credit import ReinforceBatchNorm

from .builders import build_trajectory, observation_positions, turn_positions


def test_hand_case_reinforce_plus_plus():
    # Two 2-token sequences with returns 1 and 0, gamma 1, unbiased std over the 4 tokens.
    batch = [build_trajectory([1.0], action_tokens=2, group_id=None),
             build_trajectory([0.0], action_tokens=2, group_id=None)]
    advantages = ReinforceBatchNorm(gamma=1.0, normalize_over="tokens", unbiased_std=True)(batch)
    assert advantages.tokens(0)[turn_positions(batch[0], 0)] == pytest.approx([0.866, 0.866], abs=1e-3)
    assert advantages.tokens(1)[turn_positions(batch[1], 0)] == pytest.approx([-0.866, -0.866], abs=1e-3)
    assert not np.any(advantages.tokens(0)[observation_positions(batch[0])])


def test_population_std_and_turn_pool():
    batch = [build_trajectory([1.0], action_tokens=2), build_trajectory([0.0], action_tokens=2)]
    population = ReinforceBatchNorm(unbiased_std=False)(batch)
    assert population.per_turn == [pytest.approx([1.0], abs=1e-5), pytest.approx([-1.0], abs=1e-5)]
    # Over turns: two samples [1, 0], unbiased std 0.7071.
    turns = ReinforceBatchNorm(normalize_over="turns")(batch)
    assert turns.per_turn == [pytest.approx([0.7071], abs=1e-3), pytest.approx([-0.7071], abs=1e-3)]


def test_token_pool_weighs_turns_by_length():
    # A 3-token turn with return 1 and a 1-token turn with return 0: token pool [1, 1, 1, 0].
    batch = [build_trajectory([1.0], action_tokens=3), build_trajectory([0.0], action_tokens=1)]
    pool = np.array([1, 1, 1, 0], dtype=float)
    expected = (np.array([1.0, 0.0]) - pool.mean()) / (pool.std(ddof=1) + 1e-6)
    advantages = ReinforceBatchNorm()(batch)
    assert [row[0] for row in advantages.per_turn] == pytest.approx(expected.tolist())


def test_discounted_turn_returns_are_normalised_across_the_whole_batch():
    batch = [build_trajectory([0.0, 1.0], group_id="a"), build_trajectory([0.0, 0.0], group_id="b")]
    advantages = ReinforceBatchNorm(gamma=0.5, normalize_over="turns")(batch)
    assert advantages.components["return"] == [[0.5, 1.0], [0.0, 0.0]]
    returns = np.array([0.5, 1.0, 0.0, 0.0])
    expected = (returns - returns.mean()) / (returns.std(ddof=1) + 1e-6)
    assert advantages.flat_turns() == pytest.approx(expected)


def test_text_only_needs_the_turn_pool():
    batch = [build_trajectory([1.0], text_only=True), build_trajectory([0.0], text_only=True)]
    with pytest.raises(ValueError, match="turns"):
        ReinforceBatchNorm(normalize_over="tokens")(batch)
    assert ReinforceBatchNorm(normalize_over="turns")(batch).token_advantages == [None, None]


def test_a_single_sample_gets_zero():
    assert ReinforceBatchNorm(normalize_over="turns")([build_trajectory([3.0])]).per_turn == [[0.0]]
    with pytest.raises(ValueError, match="normalize_over"):
        ReinforceBatchNorm(normalize_over="batch")
