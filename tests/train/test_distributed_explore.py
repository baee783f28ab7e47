"""Exploratory tests of distributed and asynchronous training: misuse and lifecycle paths that
the other test files do not take (each one a defect found and fixed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agentgym.train.async_rollouts import AsyncRollouts
from agentgym.train.replay import ReplayBuffer
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


def test_staged_weights_of_another_shape_are_refused_at_once():
    # A tensor that broadcasts (one row for the embedding matrix) was copied into every row of
    # the behaviour model at its next call, silently; one that does not failed later, on the
    # rollout thread, as torch's "size of tensor a must match".
    behaviour = _behaviour(0)
    name, parameter = next(iter(behaviour._model.named_parameters()))
    before = parameter.detach().clone()
    with pytest.raises(ValueError, match=f"{name} has shape \\(64,\\), the behaviour model's parameter \\(23, 64\\)"):
        behaviour.stage({name: torch.zeros(parameter.shape[-1])}, version=1)
    behaviour._refresh()
    assert behaviour.version == 0 and torch.equal(parameter, before)


def test_a_replay_state_loaded_into_a_smaller_buffer_keeps_within_its_limits():
    # A run resumed with smaller [replay] capacity / per_task loaded every saved entry and kept
    # them all, over both limits, until a later success of the same task came in.
    from tests.train.test_replay_buffer import episode

    saved = ReplayBuffer(capacity=10, per_task=3)
    saved.add([episode(f"task-{i % 3}", [1.0 + i], tokens=[i]) for i in range(9)], step=4)
    resumed = ReplayBuffer(capacity=2, per_task=1)
    resumed.load_state(saved.state())
    assert len(resumed) == 2 and resumed.tasks == 2
    assert [e.episode_return for e in resumed.entries("task-2")] == [9.0]  # each task's best,
    assert [e.episode_return for e in resumed.entries("task-1")] == [8.0]  # the lowest evicted
    assert resumed.entries("task-0") == []


def test_guidance_counts_are_summed_across_processes(monkeypatch):
    # Guidance runs under torch.distributed, each process hinting its own failed groups; its
    # counts were averaged like means (2 failed groups on rank 0 and 1 on rank 1 logged 1.5).
    from agentgym.train import distributed

    shares = [{"rollout/episodes": 8.0, "guidance/failed_groups": 2.0, "guidance/hinted_episodes": 8.0,
               "guidance/unbuilt_groups": 1.0, "guidance/hinted_success": 0.5, "guidance/level_mean": 1.0},
              {"rollout/episodes": 8.0, "guidance/failed_groups": 1.0, "guidance/hinted_episodes": 2.0,
               "guidance/unbuilt_groups": 0.0, "guidance/hinted_success": 1.0, "guidance/level_mean": 2.0}]
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(distributed, "gather", lambda _: [(share, [], np.zeros(0)) for share in shares])
    combined = distributed.global_metrics(shares[0], [])
    assert combined["guidance/failed_groups"] == 3.0
    assert combined["guidance/hinted_episodes"] == 10.0
    assert combined["guidance/unbuilt_groups"] == 1.0
    assert combined["guidance/hinted_success"] == pytest.approx(0.6)  # over the 10 hinted episodes
    assert combined["guidance/level_mean"] == pytest.approx(1.2)
