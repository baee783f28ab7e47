"""Stratified GRPO: strata of structurally similar rollouts, blended with the group estimate."""

import pytest

from agentgym.credit import GRPO, StratifiedGRPO

from .builders import assert_rows_close, build_trajectory


def mixed_group():
    # Two one-turn rollouts (returns 1, 0) and two three-turn rollouts (returns 0.5, 0.1).
    return [build_trajectory([1.0]), build_trajectory([0.0]),
            build_trajectory([0.0, 0.0, 0.5]), build_trajectory([0.0, 0.0, 0.1])]


def test_pure_stratification_compares_within_strata():
    advantages = StratifiedGRPO(alpha=1.0, normalize_by_std=False)(mixed_group())
    assert_rows_close(advantages.per_turn, [[0.5], [-0.5], [0.2] * 3, [-0.2] * 3], tol=1e-9)
    # With the std: each stratum of two is +-1/sqrt(2) (ddof 1).
    scaled = StratifiedGRPO(alpha=1.0)(mixed_group())
    assert_rows_close(scaled.per_turn, [[0.7071], [-0.7071], [0.7071] * 3, [-0.7071] * 3])


def test_alpha_zero_is_grpo_and_the_blend_is_linear():
    trajectories = mixed_group()
    assert_rows_close(StratifiedGRPO(alpha=0.0)(trajectories).per_turn, GRPO()(trajectories).per_turn, tol=1e-12)
    blended = StratifiedGRPO(alpha=0.25, normalize_by_std=False)(trajectories)
    # Group mean 0.4: global advantages [0.6, -0.4, 0.1, -0.3]; strata [0.5, -0.5, 0.2, -0.2].
    expected = [0.25 * s + 0.75 * g for s, g in zip([0.5, -0.5, 0.2, -0.2], [0.6, -0.4, 0.1, -0.3])]
    assert [row[0] for row in blended.per_turn] == pytest.approx(expected)
    assert [row[0] for row in blended.components["global"]] == pytest.approx([0.6, -0.4, 0.1, -0.3])


def test_custom_stratum_and_lone_stratum():
    trajectories = mixed_group()
    for trajectory, tools in zip(trajectories, ["search", "search", "search", "calc"]):
        trajectory.metadata["tool"] = tools
    advantages = StratifiedGRPO(alpha=1.0, normalize_by_std=False,
                                stratum=lambda t: t.metadata["tool"])(trajectories)
    # "search" holds returns [1, 0, 0.5] (mean 0.5); "calc" is alone: 0.
    assert [row[0] for row in advantages.per_turn] == pytest.approx([0.5, -0.5, 0.0, 0.0])


def test_group_of_one_gets_zero_and_alpha_is_checked():
    assert StratifiedGRPO()([build_trajectory([1.0, 2.0])]).per_turn == [[0.0, 0.0]]
    with pytest.raises(ValueError, match="alpha"):
        StratifiedGRPO(alpha=1.5)
