"""Defects found by exploratory testing (round 16) of synthetic experience."""

from __future__ import annotations

import pytest

from agentgym.core import ConfigError
from agentgym.synthetic import TaskGenerator


@pytest.mark.parametrize("size", [1, 4, 9])
def test_curriculum_a_seed_range_as_large_as_the_pool_gives_each_task_once(size):
    """``seeds=(0, pool_size)``: a pool of exactly the range's tasks. The fresh draws kept
    duplicates whenever the range was not larger than the pool (pool_size=4, seeds=(0, 4) gave
    seeds [8, 8, 5, 7]-like pools: a task twice, another left out)."""
    for seed in range(5):
        generator = TaskGenerator("games/GuessTheNumber-v0", seeds=(10, 10 + size), pool_size=size,
                                  explore=size, seed=seed)
        assert sorted(task.seed for task in generator.pool) == list(range(10, 10 + size))


@pytest.mark.parametrize("seeds", [range(0, 100, 10), (5, 9, 100), [0, 10, 20]])
def test_curriculum_seeds_it_cannot_honour_are_refused(seeds):
    """A range with a step (its seeds were drawn from the whole span: range(0, 100, 10) gave 49,
    97...) or more than two bounds (the third silently ignored) is a ConfigError."""
    with pytest.raises(ConfigError, match="seeds"):
        TaskGenerator("games/GuessTheNumber-v0", seeds=seeds, pool_size=4, explore=4)


def test_curriculum_a_plain_range_and_a_pair_are_still_accepted():
    assert TaskGenerator("x", seeds=range(3, 50), pool_size=4, explore=4).seeds == (3, 50)
    assert TaskGenerator("x", seeds=[3, 50], pool_size=4, explore=4).seeds == (3, 50)


@pytest.mark.parametrize("written, reward", [("1/2", 0.5), ("3/10", 0.3), ("-1/4", -0.25), ("1 / 2", 0.5),
                                             ("0.5/1", 0.5), ("1/1", 1.0), ("−1/2", -0.5)])
def test_experience_reply_a_fraction_is_its_value(written, reward):
    """'Reward: 1/2' was read as 1 (the largest reward for a half), '3/10' as 3 clipped to 1."""
    from agentgym.synthetic import parse_reply

    prediction = parse_reply(f"Observation: x\nReward: {written}\nDone: no")
    assert prediction.reward == pytest.approx(reward) and prediction.notes == ()


def test_experience_reply_a_fraction_over_zero_is_not_a_number():
    from agentgym.synthetic import parse_reply

    prediction = parse_reply("Observation: x\nReward: 1/0\nDone: no", default_reward=-0.5)
    assert prediction.reward == -0.5 and "reward not a number" in prediction.notes
