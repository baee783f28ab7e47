"""PicklesWithoutLock: objects that guard their state with a lock still pickle."""

import copy
import pickle
import threading

from agentgym.locked_state import PicklesWithoutLock


class Counter(PicklesWithoutLock):
    _rebuilt_after_pickling = ("cache",)

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 3
        self.cache = {"built": True}


def test_a_copy_keeps_the_state_gets_a_new_lock_and_drops_what_is_rebuilt():
    original = Counter()
    for clone in (copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        assert clone.count == 3 and clone.cache is None
        assert clone._lock is not original._lock and not clone._lock.locked()
        with clone._lock:  # a working lock
            clone.count += 1
    assert original.cache == {"built": True} and original.count == 3


def test_the_state_is_copied_under_the_lock():
    original = Counter()
    original._lock.acquire()
    copier = threading.Thread(target=lambda: copy.deepcopy(original))
    copier.start()
    copier.join(0.2)
    assert copier.is_alive()  # waits for the lock holder
    original._lock.release()
    copier.join(5)
    assert not copier.is_alive()
