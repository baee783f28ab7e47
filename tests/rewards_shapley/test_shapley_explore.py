"""Shapley estimates for episodes that reveal many facts: bounded memory, same numbers."""

from __future__ import annotations

import random
import tracemalloc

from agentgym.rewards import shapley_monte_carlo


def _reference(players, value, permutations, seed):
    """The estimator as documented, with no memo: the same orderings from random.Random(seed)."""
    rng = random.Random(seed)
    totals = {player: 0.0 for player in players}
    ordering = list(players)
    for _ in range(permutations):
        rng.shuffle(ordering)
        before = frozenset()
        for player in ordering:
            after = before | {player}
            totals[player] += float(value(after) - value(before))
            before = after
    return {player: total / permutations for player, total in totals.items()}


def _value(coalition):
    # not additive, so each ordering gives other marginals
    return (sum(int(name[1:]) % 7 for name in coalition) / 50.0) ** 1.5


def test_monte_carlo_memory_does_not_grow_with_the_coalitions_it_saw():
    # the memo held every coalition as a frozenset: 200 facts x 2000 orderings peaked at 1.9 GB
    players = [f"f{i}" for i in range(100)]
    tracemalloc.start()
    try:
        shapley_monte_carlo(players, _value, permutations=300, seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_monte_carlo_gives_the_documented_estimate_and_values_each_coalition_once():
    players = [f"f{i}" for i in range(9)]
    calls: list[frozenset] = []

    def counted(coalition):
        calls.append(coalition)
        return _value(coalition)

    estimate = shapley_monte_carlo(players, counted, permutations=400, seed=3)
    assert estimate == _reference(players, _value, 400, 3)
    assert len(calls) == len(set(calls))
