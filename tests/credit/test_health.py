"""Training-health metrics of a batch."""

import math

import pytest

from agentgym.credit import DrGRPO, training_health

from .builders import build_trajectory


def batch():
    return [
        build_trajectory([0.0, 1.0], group_id="a", action_tokens=[2, 4]),   # 6 tokens
        build_trajectory([0.0], group_id="a", action_tokens=[3]),           # 3 tokens
        build_trajectory([1.0], group_id="b", action_tokens=[1]),           # 1 token
        build_trajectory([0.5, 0.5], group_id="b", action_tokens=[1, 1]),   # 2 tokens
        build_trajectory([0.0, 0.0, 0.0], group_id=None, text_only=True),  # alone, no tokens
    ]


def test_batch_metrics():
    health = training_health(batch())
    assert health.trajectories == 5 and health.groups == 3
    # Group stds (population): a -> 0.5, b -> 0 (returns 1 and 1), the lone rollout -> 0.
    assert health.reward_std_in_group == pytest.approx(0.5 / 3)
    assert health.zero_variance_group_fraction == pytest.approx(2 / 3)
    assert health.mean_return == pytest.approx(3.0 / 5)
    assert health.mean_turns == pytest.approx(9 / 5)
    # Response tokens over the four token-level trajectories only.
    assert health.mean_response_tokens == pytest.approx(12 / 4)
    assert math.isnan(health.advantage_mean)


def test_advantage_statistics():
    trajectories = batch()
    health = training_health(trajectories, DrGRPO()(trajectories))
    # Per-turn advantages: a -> [0.5, 0.5], [-0.5]; b -> 0 on 3 turns; lone -> 0 on 3 turns.
    values = [0.5, 0.5, -0.5] + [0.0] * 6
    mean = sum(values) / len(values)
    assert health.advantage_mean == pytest.approx(mean)
    assert health.advantage_std == pytest.approx((sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5)
    assert (health.advantage_min, health.advantage_max) == (-0.5, 0.5)
    assert health.advantage_zero_fraction == pytest.approx(6 / 9)
    logged = health.as_dict()
    assert logged["health/zero_variance_group_fraction"] == pytest.approx(2 / 3)
    assert set(logged) == {"health/" + name for name in health.__dataclass_fields__}


def test_mismatched_or_empty_input_is_refused():
    with pytest.raises(ValueError, match="no trajectories"):
        training_health([])
    trajectories = batch()
    with pytest.raises(ValueError, match="advantage rows"):
        training_health(trajectories[:2], DrGRPO()(trajectories))
