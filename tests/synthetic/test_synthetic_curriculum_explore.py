"""The curriculum's seed variations over a small seed range, where the derived seed can land on a
task already in the pool."""

from __future__ import annotations

from agentgym.synthetic import TaskGenerator

ENV = "games/GuessTheNumber-v0"


def test_a_seed_variation_never_repeats_its_parent_or_another_pool_task() -> None:
    # (24 * 1_000_003 + 1 * 101 + j) % 50 is 23 for j=0 and 24 -- the parent itself -- for j=1
    curriculum = TaskGenerator(ENV, seeds=(0, 50), pool_size=6, explore=1, variations=2, seed=0)
    curriculum.record(f"{ENV}#24", [0, 1])
    pool = curriculum.update()
    assert pool[0].key == f"{ENV}#24"
    variations = [task for task in pool if task.parent == f"{ENV}#24"]
    assert len(variations) == 2 and all(task.seed != 24 for task in variations)
    assert len({task.key for task in pool[:3]}) == 3  # frontier and variations: all distinct
    again = TaskGenerator(ENV, seeds=(0, 50), pool_size=6, explore=1, variations=2, seed=0)
    again.record(f"{ENV}#24", [0, 1])
    assert again.update() == pool  # still deterministic


def test_a_key_recorded_as_a_number_is_read_back_by_the_same_number():
    curriculum = TaskGenerator(ENV, seeds=(0, 100), min_episodes=2)
    curriculum.record(5, [0.0, 1.0])
    assert curriculum.entropy(5) == curriculum.entropy("5") == 1.0
