"""What one sandboxed call produced, and the text an agent reads about it."""

from __future__ import annotations

from dataclasses import dataclass, field

STATE_LOST = ("the Python session was restarted: every variable, import and function "
              "defined before this call is lost")


@dataclass(frozen=True)
class ExecutionResult:
    """The outcome of running code in a sandbox. Failing, hanging or flooding code is a result,
    never an exception.

    - ``stdout`` / ``stderr``: the output, each capped at ``SandboxLimits.output_chars`` (head
      and tail kept, ``truncated`` set, a marker in the text where output was left out).
    - ``exit_code``: the program's exit status (one-shot) or, in a session, 0 when the cell ran
      to the end, 1 when it raised, the status ``exit`` would give a program (0-255: ``exit(-1)``
      is 255) when it called ``exit``; negative ``-N`` when killed by signal N; ``None`` when
      the sandbox stopped the call itself (``killed_reason`` says why).
    - ``killed_reason``: why the call was stopped, in words an agent understands (wall-clock
      limit, CPU limit, output limit, a signal, the session dying), else ``None``.
    - ``timed_out``: the wall-clock limit stopped it.
    - ``exception``: in a session, the exception a cell raised, ``"ZeroDivisionError: division by
      zero"`` (its traceback is in ``stderr``; for ``SystemExit``, as for a program, only a
      message that is not a number, and ``for_agent`` gives the exit status), else ``None``;
      capped at ``output_chars`` (and 20,000) characters, head and tail kept.
    - ``state_lost``: in a session, this call ended the interpreter: the next call starts afresh.
    - ``notes``: other facts worth telling the agent (e.g. the memory limit after a ``MemoryError``).
    - ``duration_s``: wall-clock seconds of the call; ``cpu_s``: CPU seconds its program used
      (one-shot, when known).
    """

    stdout: str
    stderr: str
    exit_code: int | None
    duration_s: float
    timed_out: bool = False
    killed_reason: str | None = None
    truncated: bool = False
    exception: str | None = None
    state_lost: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    cpu_s: float | None = None

    @property
    def ok(self) -> bool:
        """The code ran to the end without an error."""
        return self.exit_code == 0 and self.killed_reason is None and self.exception is None

    def for_agent(self) -> str:
        """The text to show an agent: the output (stderr after a ``[stderr]`` line), then, when
        it did not simply succeed, one bracketed line per fact: why it was stopped, the exit
        status, that the session's state was lost, notes. ``[no output]`` when there is nothing."""
        parts = []
        if self.stdout:
            parts.append(self.stdout.rstrip("\n"))
        if self.stderr:
            parts.append("[stderr]\n" + self.stderr.rstrip("\n"))
        if self.killed_reason:
            parts.append(f"[stopped: {self.killed_reason}]")
        elif self.exit_code is not None and self.exit_code < 0:
            parts.append(f"[terminated by signal {-self.exit_code}]")
        elif self.exit_code not in (0, None) and (self.exception is None
                                                  or self.exception.startswith("SystemExit")):
            parts.append(f"[exit code {self.exit_code}]")
        if self.state_lost:
            parts.append(f"[{STATE_LOST}]")
        parts.extend(f"[{note}]" for note in self.notes)
        return "\n".join(parts) if parts else "[no output]"
