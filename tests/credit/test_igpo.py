"""IGPO: ALGORITHMS.md §3 by hand (separate and joint), outcome sources, zero-IG turns."""

import numpy as np
import pytest

from agentgym.credit import IGPO

from .builders import assert_rows_close, build_trajectory, observation_positions, turn_positions


def rollout(info_gains, outcome, *, success=None, group_id="g"):
    """Non-final turns carry ``info_gain``; the final turn carries ``outcome``."""
    components = [{"info_gain": ig} for ig in info_gains] + [{"outcome": outcome}]
    rewards = [*info_gains, outcome]
    return build_trajectory(rewards, components=components, group_id=group_id,
                            success=bool(outcome) if success is None else success)


def hand_case():
    return [rollout([0.2, 0.3], 1.0), rollout([-0.05, 0.10], 0.0)]


def test_separate_normalisation_by_hand():
    advantages = IGPO(normalization="separate", gamma=1.0)(hand_case())
    assert_rows_close(advantages.components["normalised_reward"],
                      [[0.4834, 1.2567, 1.0], [-1.4501, -0.2900, -1.0]])
    assert_rows_close(advantages.per_turn, [[2.7401, 2.2567, 1.0], [-2.7401, -1.2900, -1.0]])


def test_joint_normalisation_by_hand():
    advantages = IGPO(normalization="joint", gamma=1.0)(hand_case())
    assert_rows_close(advantages.per_turn, [[2.0615, 2.2274, 2.1089], [-2.0615, -1.1848, -0.7346]])


def test_discounting_comes_after_normalisation():
    separate = IGPO(gamma=0.5)(hand_case())
    normalised = separate.components["normalised_reward"][0]
    r0, r1, r2 = normalised
    assert separate.per_turn[0] == pytest.approx([r0 + 0.5 * r1 + 0.25 * r2, r1 + 0.5 * r2, r2])


def test_tokens_follow_the_turns():
    trajectories = hand_case()
    advantages = IGPO()(trajectories)
    tokens = advantages.tokens(1)
    for t, value in enumerate([-2.7401, -1.2900, -1.0]):
        assert np.allclose(tokens[turn_positions(trajectories[1], t)], value, atol=1e-3)
    assert not np.any(tokens[observation_positions(trajectories[1])])


def test_a_turn_with_zero_information_gain_is_still_a_turn():
    # Rollout B's first IG is exactly 0: it must still be a (normalised, negative) turn.
    trajectories = [rollout([0.2, 0.3], 1.0), rollout([0.0, 0.1], 0.0)]
    advantages = IGPO()(trajectories)
    assert len(advantages.per_turn[1]) == 3
    pool = np.array([0.2, 0.3, 0.0, 0.1])
    expected = (0.0 - pool.mean()) / (pool.std() + 1e-6)
    assert advantages.components["normalised_reward"][1][0] == pytest.approx(expected)


def test_outcome_sources():
    # The outcome component says 1/0 but the success flags are swapped: each source reads its own.
    trajectories = [rollout([0.2], 1.0, success=False), rollout([0.1], 0.0, success=True)]
    final = lambda a: [row[-1] for row in a.per_turn]  # noqa: E731
    assert final(IGPO(outcome="component")(trajectories)) == pytest.approx([1.0, -1.0], abs=1e-5)
    assert final(IGPO(outcome="success")(trajectories)) == pytest.approx([-1.0, 1.0], abs=1e-5)
    # "reward": the final turn's total reward (here equal to the outcome component).
    assert final(IGPO(outcome="reward")(trajectories)) == pytest.approx([1.0, -1.0], abs=1e-5)
    # A custom key.
    keyed = [build_trajectory([0.0, 3.0], components=[{"info_gain": 0.0}, {"f1": 3.0}]),
             build_trajectory([0.0, 1.0], components=[{"info_gain": 0.0}, {"f1": 1.0}])]
    assert final(IGPO(outcome_key="f1")(keyed)) == pytest.approx([1.0, -1.0], abs=1e-5)


def test_missing_components_are_reported_not_zeroed():
    no_gain = [build_trajectory([0.0, 1.0], components=[{}, {"outcome": 1.0}]), rollout([0.1], 0.0)]
    with pytest.raises(ValueError, match="info_gain"):
        IGPO()(no_gain)
    no_outcome = [build_trajectory([0.1, 1.0], components=[{"info_gain": 0.1}, {}]), rollout([0.1], 0.0)]
    with pytest.raises(ValueError, match="outcome"):
        IGPO()(no_outcome)


def test_information_gain_on_the_final_turn_is_ignored():
    with_final_gain = hand_case()
    with_final_gain[0].turns[-1].reward_components["info_gain"] = 5.0
    assert_rows_close(IGPO()(with_final_gain).per_turn, IGPO()(hand_case()).per_turn, tol=1e-12)


def test_group_of_one_gets_zero():
    assert IGPO()([rollout([0.2, 0.3], 1.0)]).per_turn == [[0.0, 0.0, 0.0]]


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="normalization"):
        IGPO(normalization="pooled")
    with pytest.raises(ValueError, match="outcome"):
        IGPO(outcome="f1")
