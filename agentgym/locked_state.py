"""A mixin for objects that guard their state with a lock and must still pickle.

``threading.Lock`` cannot be pickled, yet objects shared by threads (a replay buffer, a task
generator, a simulated search engine) must travel by ``copy.deepcopy`` and to the processes of
a process runtime. :class:`PicklesWithoutLock` copies the state under ``self._lock``, leaves
the lock (and the attributes named in ``_rebuilt_after_pickling``, reset to ``None`` for the
object to rebuild lazily) behind, and gives the copy a new lock.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar


class PicklesWithoutLock:
    """Mixin: pickling under ``self._lock``, without it; unpickling with a new one."""

    _lock: threading.Lock
    _rebuilt_after_pickling: ClassVar[tuple[str, ...]] = ()

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            state = dict(self.__dict__)
        del state["_lock"]
        for name in self._rebuilt_after_pickling:
            state[name] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
