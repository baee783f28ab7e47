"""Exploratory tests of distributed and asynchronous training: misuse and lifecycle paths that
the other test files do not take (each one a defect found and fixed)."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.train.async_rollouts import AsyncRollouts
from tests.train.test_async_rollouts import _behaviour, _play


def test_taking_a_step_that_can_never_come_fails_at_once_instead_of_waiting_for_ever():
    # Each of these waited for ever (no timeout) or until the timeout, then said "not ready".
    rollouts = AsyncRollouts(_play(tasks_per_step=1, group_size=1), _behaviour(0), first_step=0, last_step=3,
                             max_staleness=1)
    with pytest.raises(RuntimeError, match="not started"):
        rollouts.take(0, timeout=30)
    with rollouts:
        rollouts.take(0)
        with pytest.raises(ValueError, match="step 0's rollout was already taken"):
            rollouts.take(0, timeout=30)


def test_the_means_over_trainable_episodes_are_weighted_by_them_across_processes(monkeypatch):
    # Rank 0: 4 episodes, all trainable, reward/outcome 1. Rank 1: 4 episodes, 3 untrainable
    # (their environment raised), the one trainable with reward/outcome 0 in a group of its own; rank 0 has 2 groups.
    # One process over the 5 trainable episodes logs reward/outcome 0.8; weighting each rank by
    # its episodes (trainable or not) gave 0.5.
    from agentgym.train import distributed

    def share(trajectories, groups, outcome, group_std, untrainable):
        return {"rollout/episodes": 4.0, "rollout/untrainable": untrainable, "reward/outcome": outcome,
                "health/trajectories": trajectories, "health/groups": groups, "health/mean_return": outcome,
                "health/reward_std_in_group": group_std}

    shares = [share(4.0, 2.0, 1.0, 0.0, 0.0), share(1.0, 1.0, 0.0, 0.3, 3.0)]
    records = [(1.0, 1.0, 1, 2)] * 4 + [(0.0, 0.0, 1, 2)] * 4
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(distributed, "gather",
                        lambda _: [(shares[0], records[:4], np.zeros(4)), (shares[1], records[4:], np.zeros(1))])
    combined = distributed.global_metrics(shares[0], records[:4], np.zeros(4))
    assert combined["reward/outcome"] == pytest.approx(0.8)
    assert combined["health/mean_return"] == pytest.approx(0.8)
    assert combined["health/reward_std_in_group"] == pytest.approx(0.1)  # a mean over the 3 groups
    assert combined["health/trajectories"] == 5.0 and combined["rollout/untrainable"] == 3.0
    assert combined["reward/mean"] == pytest.approx(0.5)  # over every episode, trainable or not
