"""A mixin for objects that guard their state with a lock and must still pickle.

``threading.Lock`` cannot be pickled, yet objects shared by threads (a replay buffer, a task
generator, a simulated search engine) must travel by ``copy.deepcopy`` and to the processes of
a process runtime. :class:`PicklesWithoutLock` copies the state under ``self._lock``, leaves
the lock (and the attributes named in ``_rebuilt_after_pickling``, reset to ``None`` for the
object to rebuild lazily) behind, and gives the copy a new lock.

The state is serialised after ``__getstate__`` returns, with the lock let go, so the mutable
containers it holds directly (lists, dicts, sets, deques, bytearrays, NumPy arrays) are copied
under the lock too: a writer adding to them meanwhile changes neither the copy nor the pickle
(nested containers inside them are still shared: keep a guarded object's mutable state one
level deep, or give it a ``__getstate__`` of its own).
"""

from __future__ import annotations

import collections
import threading
from typing import Any, ClassVar

import numpy as np

#: container types whose ``copy()`` is a shallow copy of the same type
_COPIED_CONTAINERS = frozenset({list, dict, set, bytearray, collections.deque, collections.OrderedDict,
                                collections.defaultdict, collections.Counter})


class PicklesWithoutLock:
    """Mixin: pickling under ``self._lock``, without it; unpickling with a new one."""

    _lock: threading.Lock
    _rebuilt_after_pickling: ClassVar[tuple[str, ...]] = ()

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            state = _snapshot(self.__dict__)
        del state["_lock"]
        for name in self._rebuilt_after_pickling:
            state[name] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _snapshot(attributes: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` with each mutable container among the values copied (one copy of a
    container held under two names, so the copy keeps them one object)."""
    copies: dict[int, Any] = {}
    state = {}
    for name, value in attributes.items():
        if type(value) in _COPIED_CONTAINERS or isinstance(value, np.ndarray):
            if id(value) not in copies:
                copies[id(value)] = value.copy()
            value = copies[id(value)]
        state[name] = value
    return state
