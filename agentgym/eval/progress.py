"""Plain progress lines for an evaluation whose output is not a terminal (logs, CI, ``| tee``).

The rollout engine's live bar draws only on a terminal; piped, it prints nothing, so a long
run looks hung. :class:`ProgressLines` watches the run's ``trajectories.jsonl`` (the engine
appends one line per finished episode) from a daemon thread and prints lines such as

    eval: 12/48 episodes (25%), success 7/12 (58%) so far, 1 failed, 35 s

on stderr, at every tenth of the run and at least every ``interval`` seconds while episodes
finish, plus a last line when the run ends. Only complete lines are read; nothing is written.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import TextIO


class ProgressLines:
    """Print plain progress lines while the trajectories file of a run grows; a context manager.

    Args:
        path: the run's ``trajectories.jsonl`` (it may not exist yet).
        total: the episodes the run will play.
        enabled: ``False`` makes the context manager do nothing.
        stream: where the lines go (``None``: ``sys.stderr`` at the time of printing).
        interval: print at least this often (seconds) while episodes finish.
        poll: how often the file is read (seconds).
    """

    def __init__(self, path: str | Path | None, total: int, *, enabled: bool = True, stream: TextIO | None = None,
                 interval: float = 30.0, poll: float = 0.5) -> None:
        self.path = Path(path) if path is not None else None
        self.total = total
        self.enabled = enabled and path is not None
        self.stream = stream
        self.interval = interval
        self.poll = poll
        self.done = self.won = self.failed = 0
        self._offset = 0
        self._printed_done = 0
        self._printed_at = self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ProgressLines:
        if self.enabled:
            self._start = self._printed_at = time.monotonic()
            self._thread = threading.Thread(target=self._watch, name="agentgym-eval-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.read_new_lines()
        if self.done != self._printed_done:
            self._print()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            before = self.done
            self.read_new_lines()
            if self.done == before:
                continue
            tenth = max(1, self.total // 10)
            if (self.done // tenth != self._printed_done // tenth
                    or time.monotonic() - self._printed_at >= self.interval):
                self._print()

    def read_new_lines(self) -> None:
        """Count the episodes in the complete lines appended since the last read."""
        try:
            with open(self.path, "rb") as file:
                file.seek(self._offset)
                chunk = file.read()
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        for line in chunk[:end].splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue  # a damaged line: the report counts it as unreadable
            self.done += 1
            self.won += bool(data.get("success"))
            self.failed += data.get("error") is not None
        self._offset += end

    def line(self) -> str:
        """The current progress line."""
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        rate = f" ({self.won / self.done:.0%})" if self.done else ""
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"eval: {self.done}/{self.total} episodes{share}, success {self.won}/{self.done}{rate} so far"
                f"{failed}, {time.monotonic() - self._start:.0f} s")

    def _print(self) -> None:
        print(self.line(), file=self.stream or sys.stderr, flush=True)
        self._printed_done, self._printed_at = self.done, time.monotonic()
