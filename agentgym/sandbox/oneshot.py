"""One-shot execution: a fresh sandbox per call, its result, and the limit notes shared with
sessions."""

from __future__ import annotations

import math
import signal
import time
from typing import Any

from agentgym.sandbox.capture import CappedOutput
from agentgym.sandbox.errors import SandboxError
from agentgym.sandbox.limits import SandboxLimits
from agentgym.sandbox.process import LaunchSpec, SandboxProcess, Stop, spawn
from agentgym.sandbox.result import ExecutionResult

# Error text in stderr → which limit the agent probably ran into.
LIMIT_HINTS = (
    ("MemoryError", "memory", "MemoryError: the sandbox allows {memory_mb:g} MB of memory per process"),
    ("Resource temporarily unavailable", "processes",
     "the sandbox allows {processes} processes and threads at once"),
    ("File too large", "file size", "the sandbox allows files of at most {file_size_mb:g} MB"),
    ("Too many open files", "open files", "the sandbox allows {open_files} open files per process"),
    ("No space left on device", "disk", "the sandbox's /tmp holds at most {disk_mb:g} MB"),
)


def limit_notes(stderr: str, limits: SandboxLimits) -> tuple[str, ...]:
    values = {name: getattr(limits, name) for name in ("memory_mb", "processes", "file_size_mb",
                                                       "open_files", "disk_mb")}
    return tuple(text.format(**values) for marker, _, text in LIMIT_HINTS if marker in stderr)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def status_signal(status: int) -> int | None:
    """The signal N that bubblewrap's exit status ``128 + N`` says its child died of, else None:
    a status past ``128 + SIGRTMAX`` (64) is one the program exited with (``os._exit(200)``)."""
    return status - 128 if 128 < status <= 128 + signal.SIGRTMAX else None


def signal_reason(number: int, cpu_s: float | None, limits: SandboxLimits) -> str:
    """Why a program died of signal ``number``, in the agent's words."""
    if number == signal.SIGXCPU or (number == signal.SIGKILL and cpu_s is not None
                                    and cpu_s >= limits.cpu_seconds):
        return f"CPU time limit of {limits.cpu_seconds:g} s exceeded"
    if number == signal.SIGXFSZ:
        return f"file size limit of {limits.file_size_mb:g} MB exceeded"
    return f"terminated by {signal_name(number)}"


def stop_reason(stop: Stop, limits: SandboxLimits) -> str:
    if stop is Stop.TIMEOUT:
        return f"wall-clock limit of {limits.wall_seconds:g} s exceeded"
    if stop is Stop.OUTPUT:
        return f"output limit: more than {limits.output_stop_mb:g} MB written to stdout and stderr"
    raise ValueError(stop)


def is_report(frame: dict[str, Any]) -> bool:
    """``frame`` has the shape of the launcher's report: an ``exit_code`` (int) or a ``signal``
    (1-64), and ``cpu_s`` a finite, non-negative number when present."""
    cpu = frame.get("cpu_s", 0.0)
    if type(cpu) not in (int, float) or not math.isfinite(cpu) or cpu < 0:
        return False
    if "signal" in frame:
        return "exit_code" not in frame and type(frame["signal"]) is int and 0 < frame["signal"] <= 64
    return type(frame.get("exit_code")) is int


def launcher_report(process: SandboxProcess, started: str | None = None) -> dict[str, Any]:
    """The launcher's report among the frames read from its control pipe; ``{}`` when there is
    none (the host then goes by the exit status). A one-shot Python program runs in the
    launcher's own process and can write frames too (see ``launcher.run_in_place``): a set-up
    failure (:class:`SandboxError`) is believed only as the first frame, which the launcher
    writes before any code runs, and the report is the last frame of the report's shape
    (the code's only when the launcher wrote none after it: it ended the process first, which
    fakes its exit status no more than ``os._exit`` can). With ``started`` (the call's stderr,
    for a call that ended by itself), no frame at all is a :class:`SandboxError` saying it: the
    launcher writes ``{"running": true}`` before any code runs, so the sandbox never started."""
    frames = []
    while (frame := process.next_frame()) is not None:
        frames.append(frame)
    if frames and "setup_error" in frames[0]:
        raise SandboxError(f"the sandbox's set-up failed: {frames[0]['setup_error']}")
    if not frames and started is not None:
        # the launcher answers before any code runs: bubblewrap (or the interpreter) failed
        said = started.strip() or f"exit status {process.popen.returncode}"
        raise SandboxError(f"the sandbox did not start: {said}")
    reports = [frame for frame in frames if is_report(frame)]
    return reports[-1] if reports else {}


def run_job(spec: LaunchSpec, job: dict[str, Any], stdin: str | bytes | None) -> ExecutionResult:
    """Run one job in a fresh sandbox; every process of it is gone when this returns."""
    limits = spec.limits
    start = time.monotonic()
    process = spawn(spec, job, stdin=stdin)
    stdout, stderr = CappedOutput(limits.output_chars), CappedOutput(limits.output_chars)
    stop = Stop.FINISHED
    try:
        stop = process.pump(stdout, stderr, start + limits.wall_seconds, until_frame=False)
    finally:
        if stop is not Stop.FINISHED:
            process.kill()
        status = process.close()
    duration = time.monotonic() - start
    err_text = stderr.text()
    frame = launcher_report(process, err_text if stop is Stop.FINISHED else None)
    common: dict[str, Any] = {"stdout": stdout.text(), "stderr": err_text, "duration_s": duration,
                              "truncated": stdout.truncated or stderr.truncated,
                              "notes": limit_notes(err_text[-4000:], limits)}
    if stop is not Stop.FINISHED:
        reason = stop_reason(stop, limits) + "; every process of the call was killed"
        return ExecutionResult(exit_code=None, timed_out=stop is Stop.TIMEOUT, killed_reason=reason, **common)
    cpu_s = float(frame["cpu_s"]) if "cpu_s" in frame else None
    if "signal" in frame:
        number = int(frame["signal"])
        return ExecutionResult(exit_code=-number, killed_reason=signal_reason(number, cpu_s, limits),
                               cpu_s=cpu_s, **common)
    if "exit_code" in frame:
        return ExecutionResult(exit_code=int(frame["exit_code"]), cpu_s=cpu_s, **common)
    if job["mode"] == "python" and spec.isolation == "bubblewrap" and status is not None:
        # the program ran in the launcher, which ended without its report (os._exit, a
        # signal): bubblewrap's exit status is the program's, 128 + N for signal N
        number = status_signal(status)
        if number is not None:
            return ExecutionResult(exit_code=-number, killed_reason=signal_reason(number, None, limits), **common)
        return ExecutionResult(exit_code=status, **common)
    return ExecutionResult(exit_code=None, killed_reason=(
        "the sandbox's supervising process was killed (by the code itself); every process of the "
        "call was stopped"), **common)

