"""One training process per run directory.

Two processes training into one run directory (``agentgym train --resume runs/x`` started twice,
or a new run started while another is still writing there) interleave their ``metrics.jsonl``
lines, overwrite each other's checkpoints, and each one's pruning clears the other's checkpoint
being written. :func:`hold_run_directory` makes that an error: while a process trains, it holds
an exclusive advisory lock (``flock(2)``) on ``<run directory>/.lock``, which names its process
id. The kernel drops the lock when the process ends, however it ends (``kill -9`` included), so
a lock never outlives its holder and there is nothing stale to clean up.

Within one process the lock is re-entrant (the command line takes it before the slow model
load, the trainer again when it trains). On a system without ``fcntl`` nothing is locked.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no locking
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"

_held: dict[Path, list] = {}  # resolved run directory -> [open lock file, how many holders here]
_held_guard = threading.Lock()


class RunDirectoryLocked(ValueError):
    """Another process is training into the run directory."""


@contextlib.contextmanager
def hold_run_directory(out_dir: str | Path) -> Iterator[None]:
    """Hold ``out_dir``'s training lock for the ``with`` block (creating the directory).

    Raises:
        RunDirectoryLocked: another process holds it; the message names that process.
    """
    key = _acquire(Path(out_dir))
    try:
        yield
    finally:
        _release(key)


def _acquire(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    key = out_dir.resolve()
    with _held_guard:
        if key in _held:
            _held[key][1] += 1
            return key
        lock_file = open(key / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held past this call
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    lock_file.seek(0)
                    holder = lock_file.read().strip() or "unknown"
                    raise RunDirectoryLocked(
                        f"{out_dir} is in use: another process (pid {holder}) is training into it; "
                        "wait for it to end, or choose another --out") from None
            lock_file.seek(0)
            lock_file.truncate()
            lock_file.write(f"{os.getpid()}\n")
            lock_file.flush()
        except BaseException:
            lock_file.close()
            raise
        _held[key] = [lock_file, 1]
        return key


def _release(key: Path) -> None:
    with _held_guard:
        entry = _held[key]
        entry[1] -= 1
        if entry[1] == 0:
            del _held[key]
            entry[0].close()  # closing the file drops the flock
