"""Metrics against values computed by hand (the arithmetic is in the comments)."""

import math

import pytest

from agentgym.eval.metrics import (
    Metrics,
    avg_at_k,
    group_by,
    invalid_action_rate,
    mean_and_stderr,
    mean_generated_tokens,
    mean_pass_at_k,
    pass_at_k,
    summarize,
    wilson_interval,
)
from agentgym.trajectory import Trajectory, Turn


def episode(success, rewards=(0.0,), errors=(), group="g", seed=0, error=None, tokens=None, seconds=0.0):
    """A trajectory with one turn per reward; ``errors`` are the indices of invalid turns and
    ``tokens`` the number of generated tokens of each turn (token-level policies only)."""
    turns = [Turn(index=i, observation="o", action="a", reward=r, seconds=seconds,
                  error="bad" if i in errors else None) for i, r in enumerate(rewards)]
    token_ids = None
    if tokens is not None:
        position = 3  # a three-token prompt
        for turn, count in zip(turns, tokens):
            turn.action_span = (position, position + count)
            turn.observation_span = (position + count, position + count + 2)
            position += count + 2
        token_ids = list(range(position))
    return Trajectory(env_id="games/X-v0", seed=seed, group_id=group, turns=turns, success=success,
                      error=error, token_ids=token_ids)


def test_pass_at_k_for_five_rollouts_two_successes():
    # n=5, c=2: pass@k = 1 - C(3,k)/C(5,k)
    # k=1: 1 - 3/5 = 0.4;  k=2: 1 - 3/10 = 0.7;  k=3: 1 - 1/10 = 0.9
    # k=4, k=5: only 3 failures exist, so any 4 rollouts hold a success: 1.
    assert [pass_at_k(5, 2, k) for k in range(1, 6)] == pytest.approx([0.4, 0.7, 0.9, 1.0, 1.0])
    assert pass_at_k(5, 0, 3) == 0.0 and pass_at_k(5, 5, 1) == 1.0
    with pytest.raises(ValueError, match="k <= n"):
        pass_at_k(2, 1, 3)
    with pytest.raises(ValueError, match="c <= n"):
        pass_at_k(2, 3, 1)


def test_wilson_interval_seven_of_ten():
    # p = 0.7, n = 10, z = 1.959964, z² = 3.841459
    # denominator = 1 + z²/n = 1.3841459
    # centre = (0.7 + z²/20) / 1.3841459 = (0.7 + 0.1920729) / 1.3841459 = 0.6444954
    # half-width = z / 1.3841459 * sqrt(0.7*0.3/10 + z²/400)
    #            = 1.4160098 * sqrt(0.021 + 0.0096036) = 1.4160098 * 0.1749389 = 0.2477151
    # interval = (0.3967803, 0.8922105)
    low, high = wilson_interval(7, 10)
    assert low == pytest.approx(0.39678, abs=1e-4) and high == pytest.approx(0.89221, abs=1e-4)


def test_wilson_interval_at_the_edges():
    # c = 0, n = 10: centre = half-width = (z²/20) / 1.3841459 = 0.1387664, so (0, 0.2775327)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-4)
    # symmetric: 10 of 10 is (1 - 0.2775327, 1)
    assert wilson_interval(10, 10) == pytest.approx((0.72247, 1.0), abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 10)[0] == 0.0  # exact, not 1 - 1 ulp
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_pass_and_avg_at_k_over_tasks():
    # task a: 2 of 3 succeed, task b: 0 of 3. pass@2: a = 1 - C(1,2)/C(3,2) = 1, b = 0 -> 0.5
    # pass@1: a = 1 - 1/3 = 2/3, b = 0 -> 1/3. avg@k = (2/3 + 0) / 2 = 1/3.
    trajectories = [episode(s, group="a") for s in (True, True, False)]
    trajectories += [episode(False, group="b") for _ in range(3)]
    assert mean_pass_at_k(trajectories, 2) == pytest.approx(0.5)
    assert mean_pass_at_k(trajectories, 1) == pytest.approx(1 / 3)
    assert avg_at_k(trajectories) == pytest.approx(1 / 3)
    assert mean_pass_at_k(trajectories, 4) is None  # only 3 rollouts per task
    # Unequal groups: a = 1 of 1, b = 0 of 3. avg@k = (1 + 0) / 2 = 0.5, the success rate 1/4.
    uneven = [episode(True, group="a")] + [episode(False, group="b") for _ in range(3)]
    assert avg_at_k(uneven) == pytest.approx(0.5)
    assert summarize(uneven, "x").success_rate == pytest.approx(0.25)


def test_tasks_without_group_are_told_apart_by_seed():
    trajectories = [episode(True, group=None, seed=1), episode(False, group=None, seed=1),
                    episode(False, group=None, seed=2)]
    # seed 1: 1 of 2, seed 2: 0 of 1 -> avg@k = (0.5 + 0) / 2
    assert avg_at_k(trajectories) == pytest.approx(0.25)
    assert summarize(trajectories, "x").tasks == 2


def test_mean_and_standard_error():
    # values 1, 2, 3, 6: mean 3; sample variance ((-2)² + (-1)² + 0² + 3²) / 3 = 14/3;
    # standard error sqrt(14/3) / sqrt(4) = 2.1602469 / 2 = 1.0801234
    mean, stderr = mean_and_stderr([1.0, 2.0, 3.0, 6.0])
    assert mean == 3.0 and stderr == pytest.approx(1.0801234)
    assert mean_and_stderr([5.0]) == (5.0, None)
    assert mean_and_stderr([]) == (None, None)


def test_invalid_rate_tokens_and_errors():
    trajectories = [
        episode(True, rewards=(0.0, 1.0), errors={0}, tokens=[4, 6]),      # 10 tokens
        episode(False, rewards=(0.0, 0.0, 0.0), errors={0, 2}, tokens=[5, 5, 10], error="timeout"),  # 20
    ]
    # invalid turns: 1 + 2 = 3 of 2 + 3 = 5 turns
    assert invalid_action_rate(trajectories) == pytest.approx(3 / 5)
    assert mean_generated_tokens(trajectories) == pytest.approx(15.0)
    # a text-only run has no token counts at all, not zero tokens
    assert mean_generated_tokens([episode(True)]) is None
    assert invalid_action_rate([]) is None
    metrics = summarize(trajectories, "games/X-v0")
    assert metrics.errors == 1 and metrics.mean_turns == 2.5 and metrics.mean_return == 0.5


def test_summarize_counts_every_episode_and_round_trips():
    # 7 successes of 10 episodes over 5 tasks of 2 rollouts; returns 1 for a win, 0 otherwise
    outcomes = [True, True, True, False, True, True, False, True, False, True]
    trajectories = [episode(s, rewards=(float(s),), group=f"t{i // 2}", seconds=0.5)
                    for i, s in enumerate(outcomes)]
    metrics = summarize(trajectories, "games/X-v0")
    assert (metrics.episodes, metrics.tasks, metrics.successes, metrics.k) == (10, 5, 7, 2)
    assert metrics.success_rate == 0.7
    assert metrics.success_ci == pytest.approx((0.39678, 0.89221), abs=1e-4)
    # tasks: (T,T) (T,F) (T,T) (F,T) (F,T): pass@2 = 1 for each; avg@2 = (1 + .5 + 1 + .5 + .5) / 5
    assert metrics.pass_at_k == 1.0 and metrics.avg_at_k == pytest.approx(0.7)
    # returns: seven 1s and three 0s: s² = 10/9 * 0.21 = 0.2333, stderr = sqrt(0.2333 / 10)
    assert metrics.return_stderr == pytest.approx(math.sqrt(0.21 * 10 / 9 / 10))
    assert metrics.mean_seconds == pytest.approx(0.5)
    assert Metrics.from_dict(metrics.to_dict()) == metrics


def test_empty_group_and_grouping_order():
    empty = summarize([], "nothing")
    assert empty.episodes == 0 and empty.success_rate is None and empty.success_ci == (0.0, 1.0)
    a, b, c = episode(True, seed=1), episode(False, seed=2), episode(True, seed=3)
    groups = group_by([a, b, c], key=lambda t: "odd" if t.seed % 2 else "even")
    assert list(groups) == ["odd", "even"] and groups["odd"] == [a, c]
