"""The self-imitation replay buffer and the recalibrated advantage (agentgym.train.replay)."""

import pytest

from agentgym.train.replay import ReplayBuffer, recalibrated_advantage
from agentgym.trajectory import Trajectory, Turn


def episode(group, rewards, *, success=True, tokens=None):
    """A token-level episode of ``group`` with one turn per reward (its return: their sum)."""
    turns = [Turn(index=i, observation="o", action="a", reward=r, action_span=(1 + 2 * i, 2 + 2 * i),
                  logprobs=[-0.5]) for i, r in enumerate(rewards)]
    token_ids = tokens if tokens is not None else [7] + [len(rewards) * 10 + i for i in range(2 * len(rewards))]
    return Trajectory(group_id=group, turns=turns, success=success, token_ids=token_ids)


def test_the_advantage_is_the_replayed_return_minus_the_current_group_mean():
    # Group returns 0, 0, 0.5, 1.5: mean 0.5. A replayed return 1 -> +0.5; 0.25 -> -0.25.
    assert recalibrated_advantage(1.0, [0.0, 0.0, 0.5, 1.5]) == pytest.approx(0.5)
    assert recalibrated_advantage(0.25, [0.0, 0.0, 0.5, 1.5]) == pytest.approx(-0.25)
    # An all-failed group (mean 0, standard deviation 0): the full return, undivided.
    assert recalibrated_advantage(1.0, [0.0] * 4) == 1.0
    with pytest.raises(ValueError, match="current group"):
        recalibrated_advantage(1.0, [])


def test_only_successes_at_or_above_min_return_are_kept_and_duplicates_once():
    buffer = ReplayBuffer(capacity=10, per_task=3, min_return=0.5)
    added = buffer.add([episode("t#1", [1.0]), episode("t#1", [0.4], tokens=[7, 1, 2]),
                        episode("t#1", [1.0], success=False, tokens=[7, 3, 4]), episode(None, [1.0]),
                        episode("t#1", [1.0])], step=0)  # the last repeats the first's tokens
    assert added == 1 and len(buffer) == 1 and buffer.tasks == 1


def test_each_task_keeps_its_best_the_newer_among_equals():
    buffer = ReplayBuffer(capacity=10, per_task=2)
    buffer.add([episode("t#1", [0.5], tokens=[7, 1]), episode("t#1", [1.0], tokens=[7, 2])], step=0)
    buffer.add([episode("t#1", [0.5], tokens=[7, 3])], step=1)  # ties the worst, newer: replaces it
    assert [(e.episode_return, e.trajectory.token_ids) for e in buffer.entries("t#1")] == [(1.0, [7, 2]),
                                                                                            (0.5, [7, 3])]
    buffer.add([episode("t#1", [0.2], tokens=[7, 4])], step=2)  # worse than both: not kept
    assert buffer.add([], step=3) == 0 and len(buffer) == 2
    assert [e.step for e in buffer.candidates("t#1", step=3, limit=1)] == [0]  # the best first
    assert buffer.candidates("t#2", step=3, limit=1) == []


def test_over_capacity_the_lowest_return_goes_the_oldest_among_equals():
    buffer = ReplayBuffer(capacity=3, per_task=2)
    buffer.add([episode("a#1", [0.5], tokens=[7, 1]), episode("b#1", [0.5], tokens=[7, 2]),
                episode("c#1", [2.0], tokens=[7, 3])], step=0)
    assert buffer.add([episode("d#1", [1.0], tokens=[7, 4])], step=1) == 1
    assert len(buffer) == 3 and buffer.entries("a#1") == [] and buffer.tasks == 3  # a: oldest of the 0.5s
    assert buffer.add([episode("e#1", [0.1], tokens=[7, 5])], step=2) == 0  # the worst: evicted at once


def test_entries_older_than_max_age_are_forgotten():
    buffer = ReplayBuffer(capacity=10, per_task=2, max_age=2)
    buffer.add([episode("t#1", [1.0], tokens=[7, 1])], step=0)
    buffer.add([episode("t#1", [0.5], tokens=[7, 2])], step=2)
    assert [e.step for e in buffer.candidates("t#1", step=2, limit=2)] == [0, 2]  # age 2: still kept
    assert [e.step for e in buffer.candidates("t#1", step=3, limit=2)] == [2]
    assert buffer.expire(5) == 1 and len(buffer) == 0 and buffer.tasks == 0


def test_the_state_round_trips():
    buffer = ReplayBuffer(capacity=5, per_task=2)
    buffer.add([episode("a#1", [1.0, 0.5], tokens=[7, 1, 2, 3, 4]), episode("a#1", [0.5], tokens=[7, 5]),
                episode("b#2", [1.0])], step=4)
    restored = ReplayBuffer(capacity=5, per_task=2)
    restored.load_state(buffer.state())
    for key in ("a#1", "b#2"):
        assert [(e.episode_return, e.step, e.order, e.trajectory.token_ids) for e in restored.entries(key)] == \
            [(e.episode_return, e.step, e.order, e.trajectory.token_ids) for e in buffer.entries(key)]
    restored.add([episode("c#3", [1.0])], step=5)  # the insertion count carries on
    assert restored.entries("c#3")[0].order == 4


@pytest.mark.parametrize("kwargs", [{"capacity": 0}, {"per_task": 0}, {"max_age": -1}])
def test_bad_sizes_are_refused(kwargs):
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(**kwargs)
