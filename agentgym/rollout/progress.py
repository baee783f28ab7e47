"""Progress of a rollout: a live bar on a terminal, plain lines in a log.

The one progress reporter of agentgym: ``rollout(..., progress=True)`` (or a label, e.g.
``progress="eval"``) uses it on standard error, and a trainer hands it the console of its live
metrics table::

    with RolloutProgress("eval before training", total=48, console=console) as progress:
        rollout(policy, tasks, config, progress=progress)

An evaluation or a step's rollout can take minutes on a CPU; this says how far it got. On a
terminal (``console.is_terminal``) a transient rich bar counts the episodes and shows the
running success rate and generated tokens per second (tokens are counted turn by turn as
the rollout plays them, so the rate is right from the first line, not only once long episodes
end); sharing the console of a live table, it is
drawn beneath it (rich nests live displays of one console). Anywhere else (output piped to a
file, a CI log) it prints a plain line at every quarter of the episodes (unless the previous
line is less than ``min_gap_seconds`` old, so that episodes ending together, as a batch of
one-turn episodes does, do not print a line each quarter), and at least every
``interval_seconds`` while episodes keep ending:

    eval before training: 12/48 episodes, success 25%, 1 failed, 87 tok/s, 41 s

The last line (all episodes done) is always printed, so a log shows each rollout's total.
"""

from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agentgym.trajectory import Trajectory, Turn

QUARTERS = 4


class RolloutProgress:
    """Counts the episodes of one rollout as they end and reports them on ``console``.

    Args:
        label: what is running, e.g. ``"eval before training"`` or ``"step 3/20 rollout"``.
        total: the episodes the rollout plays.
        console: where to report (a terminal gets the bar, anything else plain lines).
        interval_seconds: in plain-line mode, the longest silence while episodes end.
        min_gap_seconds: in plain-line mode, the shortest time between two lines (the last
            line, all episodes done, is always printed).
        clock: the time source (seconds), replaceable in tests.

    Use it as a context manager (the bar lives inside the ``with``) and pass it as the
    rollout's ``progress``: the rollout calls :meth:`turn_played` after each turn and
    :meth:`episode_finished` as each episode ends. Passed as ``on_episode`` alone, it counts an
    episode's tokens when the episode ends.
    """

    def __init__(self, label: str, total: int, console: Console, *, interval_seconds: float = 30.0,
                 min_gap_seconds: float = 2.0, clock: Any = time.monotonic) -> None:
        if total < 0:
            raise ValueError(f"total must not be negative, got {total}")
        self.label, self.total, self.console = label, total, console
        self.interval_seconds = interval_seconds
        self.min_gap_seconds = min_gap_seconds
        self._clock = clock
        self.done = self.successes = self.failures = self.tokens = 0
        self._started = self._last_line = clock()
        self._milestones = sorted({math.ceil(total * k / QUARTERS) for k in range(1, QUARTERS + 1)} - {0})
        self._tokens_counted: dict[int, int] = {}  # tokens counted turn by turn, by id(trajectory)
        self._bar: Progress | None = None
        self._task: Any = None

    @property
    def live(self) -> bool:
        """True when progress is drawn as a bar (a terminal), False when printed as lines."""
        return self.console.is_terminal

    @property
    def success_rate(self) -> float:
        return self.successes / self.done if self.done else 0.0

    def __enter__(self) -> RolloutProgress:
        self._started = self._last_line = self._clock()
        if self.live:
            self._bar = Progress(TextColumn(f"[bold]{escape(self.label)}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("episodes, success {task.fields[rate]:.0%}"),
                                 TextColumn("{task.fields[tps]:.0f} tok/s"), TimeElapsedColumn(),
                                 console=self.console, transient=True)
            self._task = self._bar.add_task(self.label, total=self.total, rate=0.0, tps=0.0)
            self._bar.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def turn_played(self, trajectory: Trajectory, turn: Turn) -> None:
        """Count the tokens ``turn`` (a turn of ``trajectory``'s episode) generated; the bar's
        rate moves at once, lines show it at the next episode's end."""
        tokens = turn.num_generated_tokens
        if not tokens:  # a policy without a tokenizer counts none: nothing to move
            return
        key = id(trajectory)
        self._tokens_counted[key] = self._tokens_counted.get(key, 0) + tokens
        self.tokens += tokens
        if self._bar is not None:
            self._bar.update(self._task, tps=self._tokens_per_second(self._clock()))

    def episode_finished(self, trajectory: Trajectory) -> None:
        """Count one ended episode (the rollout's ``on_episode`` callback) and those of its
        generated tokens not yet counted by :meth:`turn_played`."""
        self.done += 1
        self.successes += bool(trajectory.success)
        self.failures += trajectory.error is not None
        self.tokens += trajectory.generated_tokens - self._tokens_counted.pop(id(trajectory), 0)
        now = self._clock()
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=self.success_rate, tps=self._tokens_per_second(now))
            return
        since_last_line = now - self._last_line
        milestone = self.done in self._milestones and since_last_line >= self.min_gap_seconds
        if self.done == self.total or milestone or since_last_line >= self.interval_seconds:
            self._last_line = now
            self.console.print(self.line(now), highlight=False, soft_wrap=True, markup=False)

    def _tokens_per_second(self, now: float) -> float:
        return self.tokens / max(now - self._started, 1e-9)

    def line(self, now: float | None = None) -> str:
        """The plain progress line, e.g. ``eval: 12/48 episodes, success 25%, 1 failed, 87 tok/s, 41 s``
        (failures and tokens only when there are any)."""
        elapsed = (self._clock() if now is None else now) - self._started
        failed = f", {self.failures} failed" if self.failures else ""
        speed = f", {self.tokens / elapsed:.0f} tok/s" if self.tokens and elapsed > 0 else ""
        return (f"{self.label}: {self.done}/{self.total} episodes, success {self.success_rate:.0%}{failed}{speed}, "
                f"{elapsed:.0f} s")
