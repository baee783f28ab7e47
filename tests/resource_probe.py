"""Counting what the test process holds -- threads, file descriptors, child processes -- before
and after a piece of work, to prove that it released them.

:class:`ResourceProbe` snapshots the process when made; ``assert_released()`` waits a little for
stragglers to wind down and fails naming what is still open. The ``resources`` fixture of
``tests/conftest.py`` gives every test one.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Snapshot:
    """Counts of what this process holds."""

    threads: int
    fds: int
    children: int

    @classmethod
    def take(cls) -> "Snapshot":
        process = psutil.Process()
        return cls(threads=threading.active_count(), fds=process.num_fds(),
                   children=len(process.children(recursive=True)))

    def __str__(self) -> str:
        return f"{self.threads} threads, {self.fds} fds, {self.children} child processes"


def _open_process_wide_descriptors() -> None:
    """Open the descriptors a library keeps for the whole life of the process once it is first
    used, so that a probe taken before that first use does not count them as a leak: libuv
    (uvloop, the servers' event loop) opens a pipe for its signal handling with its first loop
    and never closes it."""
    try:
        import uvloop
    except ImportError:
        return
    uvloop.new_event_loop().close()


def live_threads() -> set[threading.Thread]:
    """The threads alive now: what :func:`started_since` compares with."""
    return set(threading.enumerate())


def started_since(before: set[threading.Thread]) -> list[threading.Thread]:
    """The threads alive now that were not in ``before``. Unlike comparing thread counts, a
    thread of an earlier test that ends meanwhile (tests share a process) does not hide one."""
    return [thread for thread in threading.enumerate() if thread not in before]


def process_ended(pid: int, within: float = 15.0) -> bool:
    """Whether process ``pid`` ends (or is a zombie waiting for its reaper) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


class ResourceProbe:
    """Compares the process's threads, fds and children with a snapshot taken at the start."""

    def __init__(self) -> None:
        _open_process_wide_descriptors()
        gc.collect()
        self.before = Snapshot.take()

    def now(self) -> Snapshot:
        gc.collect()
        return Snapshot.take()

    def assert_released(self, *, slack_fds: int = 0, timeout: float = 10.0) -> Snapshot:
        """Wait up to ``timeout`` seconds for the counts to fall back to the start's (``slack_fds``
        extra descriptors allowed, e.g. a log file the test still holds) and return the final
        snapshot; fail with both snapshots otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            after = self.now()
            released = (after.threads <= self.before.threads and after.children <= self.before.children
                        and after.fds <= self.before.fds + slack_fds)
            if released or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert released, (f"resources not released: before {self.before}; after {after}; "
                          f"threads still alive: {sorted(t.name for t in threading.enumerate())}")
        return after
