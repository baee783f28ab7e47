"""The synthetic world: determinism, unique and near-duplicate names, split-closed relations."""
import numpy as np
import pytest

from agentgym.envs.search.world import BLOCK, RELATIONS, TYPES, World


def test_same_size_and_seed_give_the_same_world():
    a, b = World(3000, 7), World(3000, 7)
    assert np.array_equal(a.type, b.type) and np.array_equal(a.split, b.split)
    for name in a.columns:
        assert np.array_equal(a.columns[name], b.columns[name]), name
    assert [a.name(i) for i in range(3000)] == [b.name(i) for i in range(3000)]


def test_a_different_seed_gives_a_different_world():
    a, b = World(3000, 7), World(3000, 8)
    assert not np.array_equal(a.columns["birth_city"], b.columns["birth_city"])


def test_names_are_unique_and_every_type_is_present():
    world = World(20_000, 1)
    names = [world.name(i) for i in range(world.size)]
    assert len(set(names)) == world.size
    aliases = [a for i in range(world.size) for a in world.aliases(i)]
    assert len(set(aliases)) == len(aliases)
    assert not set(aliases) & set(names)
    assert set(np.unique(world.type)) == set(range(len(TYPES)))


def test_near_duplicates_differ_from_the_name_in_one_syllable_only():
    world = World(5000, 2)
    pairs = [(i, d) for i in range(world.size) for d in world.near_duplicates(i)]
    assert len(pairs) > world.size // 4
    for i, d in pairs[:500]:
        assert i // BLOCK == d // BLOCK and world.type[i] == world.type[d]
        a, b = world.name(i), world.name(d)
        assert a != b and len(a) == len(b)
        assert sum(x != y for x, y in zip(a, b)) <= 2


def test_relations_are_typed_and_never_cross_splits():
    world = World(10_000, 3)
    for rel, (src, dst) in RELATIONS.items():
        sources = np.flatnonzero(world.type == src)
        targets = world.columns[rel][sources]
        assert (world.type[targets] == dst).all(), rel
        assert (world.split[targets] == world.split[sources]).all(), rel
        assert (world.columns[rel][world.type != src] == -1).all(), rel
    assert 0.1 < world.split.mean() < 0.3


@pytest.mark.parametrize("size, seed, error", [
    (10, 0, ValueError), (10**8, 0, ValueError), (1000.0, 0, TypeError), (True, 0, TypeError),
    (1000, -1, ValueError), (1000, "x", ValueError)])
def test_bad_size_or_seed_is_refused(size, seed, error):
    with pytest.raises(error):
        World(size, seed)
