"""A persistent sandboxed Python interpreter: variables survive between calls, like a notebook."""

from __future__ import annotations

import dataclasses
import threading
import time
import weakref
from typing import Any

from agentgym.sandbox.capture import CappedOutput
from agentgym.sandbox.errors import SandboxError, SessionClosed
from agentgym.sandbox.oneshot import limit_notes, status_signal, stop_reason
from agentgym.sandbox.process import LaunchSpec, SandboxProcess, Stop, spawn, startup_failure
from agentgym.sandbox.result import STATE_LOST, ExecutionResult

STARTUP_TIMEOUT_S = 60.0
# The launcher caps Python-level output per cell itself, adding an omission marker; the host's
# cap leaves room for that marker so the two never both cut the same text.
MARKER_ROOM = 256


class PythonSession:
    """One sandboxed interpreter for an episode, from :meth:`Sandbox.session`.

    - :meth:`run` executes a cell in the persistent namespace (imports, variables and functions
      stay) and returns an :class:`ExecutionResult`; a final expression's ``repr`` is printed.
      Every process a cell starts is killed when the cell ends; threads it starts keep running.
    - Each call has the full :class:`SandboxLimits`: the wall clock, a per-call CPU budget
      (raised in the cell as ``CPUTimeExceeded``; the session survives), output caps (Python-level
      output is capped inside the sandbox, so a huge ``print`` does not kill the session).
    - When a call passes the wall clock, writes more than ``output_stop_mb`` straight to its
      file descriptors, or ends the interpreter (``os._exit``, a signal), the whole sandbox is
      killed; the result has ``state_lost=True`` and says so to the agent, and the next call
      starts a fresh interpreter (``restarts`` counts them; files in ``/tmp`` are gone too).
      An interpreter that ended between calls (a thread a cell left running called
      ``os._exit``) is restarted for the next call, whose code runs there; a note says so.
    - Calls from several threads run one at a time. :meth:`close` may be called from any
      thread, also while a call runs (that call returns, stopped, at once); it is idempotent,
      and the session is also closed when garbage-collected or at interpreter exit.
    """

    def __init__(self, spec: LaunchSpec, files: dict[str, str]) -> None:
        self._spec = spec
        self._files = files
        self._call_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._closed = False
        self._box: list[SandboxProcess | None] = [None]
        self._finalizer = weakref.finalize(self, _close_box, self._box)
        self.restarts = 0
        self.calls = 0
        with self._call_lock:
            self._start()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def alive(self) -> bool:
        """An interpreter is running (False between a kill and the next call's restart)."""
        return self._box[0] is not None

    def _start(self) -> None:
        self._cell = 0  # cells sent to this interpreter; the launcher numbers its answers alike
        process = spawn(self._spec, {"mode": "session", "files": self._files})
        discard, errors = CappedOutput(4096), CappedOutput(4096)  # bubblewrap's errors, if it fails
        stop = process.pump(discard, errors, time.monotonic() + STARTUP_TIMEOUT_S,
                            until_frame=True, cancelled=lambda: self._closed)
        frame = process.next_frame() if stop is Stop.FRAME else None
        if not frame or not frame.get("ready"):
            process.kill()
            if frame and "setup_error" in frame:
                process.close()
                raise SandboxError(f"the sandbox's set-up failed: {frame['setup_error']}")
            if self._closed:
                process.close()
                raise SessionClosed("the session was closed while it was starting")
            raise SandboxError(f"the Python session did not start: {startup_failure(process, stderr=errors)}")
        with self._state_lock:
            self._box[0] = process
            if self._closed:
                process.kill()

    def _discard(self) -> int | None:
        process, self._box[0] = self._box[0], None
        if process is None:
            return None
        process.kill()
        return process.close()

    def run(self, code: str) -> ExecutionResult:
        """Execute ``code`` in the session; see the class docstring. :class:`SessionClosed` after
        :meth:`close`."""
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, not {type(code).__name__}")
        code = str.__str__(code)  # a str subclass's text: marshal sends numpy.str_ as its UCS-4 buffer
        with self._call_lock:
            if self._closed:
                raise SessionClosed("this Python session is closed")
            ended = None
            if self._box[0] is not None and self._box[0].gone():
                # ended since the last call (a thread it left running, a signal): this call's
                # code is not to blame; it runs in a fresh interpreter, and the result says so
                ended = (f"the Python interpreter ended between calls ({_describe_status(self._discard())}) "
                         f"and was restarted for this call: {STATE_LOST.split(': ', 1)[1]}")
            if self._box[0] is None:
                self._start()
                self.restarts += 1
            self.calls += 1
            result = self._call(self._box[0], code)
            return result if ended is None else dataclasses.replace(result, notes=(ended, *result.notes))

    def _call(self, process: SandboxProcess, code: str) -> ExecutionResult:
        limits = self._spec.limits
        start = time.monotonic()
        stdout = CappedOutput(limits.output_chars + MARKER_ROOM)
        stderr = CappedOutput(limits.output_chars + MARKER_ROOM)
        self._cell += 1
        stop, frame = Stop.FINISHED, None
        if process.send({"code": code}):
            while frame is None:  # frames of other cells (see _cell_answer) are skipped
                stop = process.pump(stdout, stderr, start + limits.wall_seconds, until_frame=True,
                                    cancelled=lambda: self._closed)
                if stop is not Stop.FRAME:
                    break
                frame = _cell_answer(process.next_frame(), self._cell)
        garbled = frame is not None and "garbled" in frame
        if garbled:
            stop, frame = Stop.FINISHED, None
        err_text = stderr.text()
        common: dict[str, Any] = {"stdout": stdout.text(), "stderr": err_text,
                                  "notes": limit_notes(err_text[-4000:], limits)}
        if frame is not None:
            omitted = frame.get("omitted") or {}
            kind = frame.get("kind")
            exit_code = 0 if kind is None else (frame.get("exit_code") if kind == "exit" else 1)
            reason = (f"CPU time limit of {limits.cpu_seconds:g} s for one call exceeded"
                      if kind == "cpu" else None)
            return ExecutionResult(exit_code=exit_code, exception=frame.get("exception"), killed_reason=reason,
                                   truncated=stdout.truncated or stderr.truncated or any(omitted.values()),
                                   duration_s=time.monotonic() - start, **common)
        status = self._discard()
        if self._closed:
            reason = "the session was closed while this call was running"
        elif stop in (Stop.TIMEOUT, Stop.OUTPUT):
            reason = stop_reason(stop, limits)
        elif garbled:
            reason = "the code wrote to the session's control pipe, which the interpreter needs"
        else:
            reason = f"the Python interpreter ended ({_describe_status(status)})"
        return ExecutionResult(exit_code=None, timed_out=stop is Stop.TIMEOUT, killed_reason=reason,
                               state_lost=True, truncated=stdout.truncated or stderr.truncated,
                               duration_s=time.monotonic() - start, **common)

    def close(self) -> None:
        """Kill the interpreter and everything it started, close its pipes, release its memory
        (safe from any thread, also during a call; idempotent)."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            process = self._box[0]
        if process is not None:
            process.kill()  # a call in progress sees its pipes close and returns
        with self._call_lock:
            self._discard()
        self._finalizer.detach()

    def __enter__(self) -> PythonSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("alive" if self.alive else "restarting")
        return (f"<PythonSession {self._spec.isolation} {state} calls={self.calls} "
                f"restarts={self.restarts}>")


def _cell_answer(frame: dict[str, Any] | None, cell: int) -> dict[str, Any] | None:
    """``frame`` when it is the launcher's answer to cell number ``cell`` or ``{"garbled": True}``
    (the pipe is unreadable: the answer can never come); None for a frame to skip. The cell's
    code runs in the launcher's process and can write frames too: one without this cell's number
    is skipped (so is the late answer of an earlier cell that wrote one), one of the wrong shape
    is garbled."""
    if frame is None or "garbled" in frame:
        return frame
    if frame.get("cell") != cell:
        return None
    omitted = frame.get("omitted")
    well_formed = (frame.keys() == {"cell", "exception", "kind", "exit_code", "omitted"}
                   and frame["kind"] in (None, "exception", "exit", "cpu")
                   and isinstance(frame["exception"], (str, type(None)))
                   and type(frame["exit_code"]) in (int, type(None))
                   and isinstance(omitted, dict) and all(type(n) is int for n in omitted.values()))
    return frame if well_formed else {"garbled": True}


def _describe_status(status: int | None) -> str:
    # bubblewrap reports a child killed by signal N as exit status 128 + N
    if status is None:
        return "status unknown"
    if status < 0:
        return f"killed by signal {-status}"
    number = status_signal(status)
    if number is not None:
        return f"killed by signal {number}"
    return f"exit status {status}"


def _close_box(box: list[SandboxProcess | None]) -> None:
    process, box[0] = box[0], None
    if process is not None:
        process.kill()
        process.close()
