"""steady_gc: the collector settings of a long-lived server process."""

import gc
import weakref

import pytest

from agentgym.serve.gc_settings import DEFAULT_YOUNG_THRESHOLD, steady_gc


@pytest.fixture
def restored_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_objects_alive_at_start_up_are_frozen_and_thresholds_raised(restored_gc):
    survivor = [{"kept": i} for i in range(1000)]
    frozen_before = gc.get_freeze_count()
    steady_gc()
    assert gc.get_freeze_count() >= frozen_before + len(survivor)
    assert gc.get_threshold() == (DEFAULT_YOUNG_THRESHOLD, 50, 100)


def test_cycles_made_after_are_still_collected(restored_gc):
    steady_gc(young_threshold=100)

    class Node:
        pass

    freed = []
    for _ in range(500):
        a, b = Node(), Node()
        a.other, b.other = b, a
        freed.append(weakref.ref(a))
        del a, b
    gc.collect()
    assert all(ref() is None for ref in freed)


@pytest.mark.parametrize("bad", [(0, 50, 100), (1000, 0, 100), (1000, 50, -1)])
def test_non_positive_thresholds_are_refused(bad, restored_gc):
    with pytest.raises(ValueError, match="positive"):
        steady_gc(*bad)
