"""Helpers of the sandbox tests (imported by their conftest and tests): leak checks, small limits.

``LeakProbe`` (the ``leaks`` fixture) snapshots the test process's threads, file descriptors
and child processes (:class:`tests.resource_probe.Snapshot`, as the suite's ``resources``
fixture does) and records the uid of every sandbox started during the test (as root each sandbox runs under a fresh uid); ``leaks.assert_clean()`` waits a
little for stragglers, then fails naming whatever is still open: a thread, a descriptor, a
child process, or *any process on the machine* still running under one of those uids (a
process that escaped the test's process tree would show up there).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time

import psutil

from agentgym.sandbox import SandboxLimits
from agentgym.sandbox.sandbox import hidden_from_others
from tests.resource_probe import Snapshot


def processes_of(uids: set[int]) -> list[psutil.Process]:
    """Live processes (not zombies waiting for their parent to reap them) of these uids."""
    found = []
    for process in psutil.process_iter(["uids", "status"]):
        try:
            if (process.info["uids"] and process.info["uids"].real in uids
                    and process.info["status"] != psutil.STATUS_ZOMBIE):
                found.append(process)
        except psutil.Error:
            continue
    return found


class LeakProbe:
    def __init__(self) -> None:
        gc.collect()
        self.before = Snapshot.take()
        self.uids: set[int] = set()

    def assert_clean(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            gc.collect()
            after = Snapshot.take()
            strays = processes_of(self.uids)
            released = (after.threads <= self.before.threads and after.children <= self.before.children
                        and after.fds <= self.before.fds and not strays)
            if released or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert released, (f"resources not released: before {self.before}; after {after}; "
                          f"threads: {sorted(t.name for t in threading.enumerate())}; "
                          f"children: {[p.cmdline() for p in psutil.Process().children(recursive=True)]}; "
                          f"processes still running as a sandbox uid: {[(p.pid, p.name()) for p in strays]}")


SMALL = SandboxLimits(cpu_seconds=5, memory_mb=256, processes=32, file_size_mb=8, open_files=64,
                      wall_seconds=15, output_chars=4_000, output_stop_mb=8, disk_mb=64)


def as_root() -> bool:
    return os.geteuid() == 0


def python_for_other_users() -> str | None:
    """An interpreter that a fresh unprivileged uid can run (what the rlimits mode needs under
    root): this one when no folder on its way hides it, else the system's, else None."""
    candidates = [sys.executable, "/usr/bin/python3"] if as_root() else [sys.executable]
    for python in candidates:
        if os.path.isfile(python) and hidden_from_others(python) is None:
            return python
    return None
