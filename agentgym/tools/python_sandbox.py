"""A reusable toolset: one persistent, sandboxed Python interpreter per episode.

.. code-block:: python

    from agentgym import LLMEnv
    from agentgym.sandbox import SandboxLimits
    from agentgym.tools import PythonSandbox

    class Compute(LLMEnv):
        tool_call_formats = ("python", "python-fenced", "hermes", "openai")

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.toolsets = (PythonSandbox(SandboxLimits(wall_seconds=10), max_calls=5),)

The agent calls the tool ``python(code)`` (``<python>print(6 * 7)</python>``, a fenced block or a
JSON tool call, as the environment's ``tool_call_formats`` allow) and reads what
:meth:`~agentgym.sandbox.ExecutionResult.for_agent` renders: the output, the error, why the code
was stopped. Variables, imports and functions persist between the calls of one episode, like a
notebook; the next episode gets a fresh interpreter. The code runs in :mod:`agentgym.sandbox`
(bubblewrap: no network, nothing of the host visible, resource limits, a wall-clock bound per
call), so code that loops, crashes, floods its output or exits is an observation, never an
exception of the environment.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from agentgym.tools.tool import ToolError, tool
from agentgym.tools.toolset import Toolset

if TYPE_CHECKING:  # agentgym.sandbox is imported when a PythonSandbox is made, not with agentgym.tools
    from agentgym.sandbox import ExecutionResult, PythonSession, Sandbox, SandboxLimits


class PythonSandbox(Toolset):
    """One sandboxed Python interpreter per episode, offered as the tool ``python(code)``.

    Args:
        limits: the :class:`~agentgym.sandbox.SandboxLimits` of every call (CPU, memory, wall
            clock, output...); default ``SandboxLimits()``.
        sandbox: a :class:`~agentgym.sandbox.Sandbox` to run in (share one between
            environments; it holds no processes); then ``limits`` and ``isolation`` must be left
            out.
        isolation: ``"bubblewrap"`` (default) or ``"rlimits"`` (weaker, see
            :data:`agentgym.sandbox.WEAKER`).
        max_calls: how many times the agent may run code per episode; past it the tool answers
            an error telling it to answer (``None``: no bound).
        files: files (relative path → text or bytes) written to the interpreter's ``/tmp``
            at the start of every episode; :meth:`add_files` adds an episode's own.
        lazy: start the interpreter at the episode's first call (default: an episode that never
            runs code costs no process); ``False`` starts it at ``open``.
        bwrap: the bubblewrap executable (default: ``bwrap`` on the ``PATH``).

    Lifecycle (kept by the environment, see :class:`~agentgym.tools.Toolset`): ``open`` at every
    ``reset``; ``close`` when the episode ends, is truncated or abandoned, and at the
    environment's ``close`` — also from another thread while the agent's code runs (the call
    returns at once, saying the session was closed) or while the interpreter is starting (it
    is killed as soon as it is up). No process outlives ``close``.

    When the sandbox cannot work on this machine, ``open`` (so the environment's ``reset``)
    raises :class:`~agentgym.sandbox.SandboxUnavailable` naming the cause and the fix; an
    interpreter that fails to start later is an ``Error:`` observation for that call.

    For the environment (not the agent): :meth:`execute` runs code in the episode's
    interpreter without counting against ``max_calls``; ``calls`` and ``last_result`` describe
    the agent's calls of the current episode.
    """

    def __init__(self, limits: SandboxLimits | None = None, *, sandbox: Sandbox | None = None,
                 isolation: str = "bubblewrap", max_calls: int | None = None,
                 files: Mapping[str, str | bytes] | None = None, lazy: bool = True, bwrap: str = "bwrap") -> None:
        from agentgym.sandbox import Sandbox, SandboxLimits
        from agentgym.sandbox.sandbox import ISOLATIONS

        if sandbox is not None:
            if not isinstance(sandbox, Sandbox):
                raise TypeError(f"PythonSandbox: sandbox must be an agentgym.sandbox.Sandbox, "
                                f"not {type(sandbox).__name__}")
            if limits is not None or isolation != "bubblewrap" or bwrap != "bwrap":
                raise ValueError("PythonSandbox: pass either sandbox= or limits=/isolation=, not both "
                                 "(a Sandbox carries its own limits, isolation and bubblewrap)")
        if isolation not in ISOLATIONS:
            raise ValueError(f"PythonSandbox: isolation must be one of {', '.join(ISOLATIONS)}, got {isolation!r}")
        if limits is not None and not isinstance(limits, SandboxLimits):
            raise TypeError(f"PythonSandbox: limits must be a SandboxLimits, not {type(limits).__name__}")
        if max_calls is not None and (isinstance(max_calls, bool) or not isinstance(max_calls, int) or max_calls < 0):
            raise ValueError(f"PythonSandbox: max_calls must be an integer >= 0 or None, got {max_calls!r}")
        if not isinstance(lazy, bool):
            raise TypeError(f"PythonSandbox: lazy must be True or False, got {lazy!r}")
        self._sandbox = sandbox
        self._limits = limits
        self._isolation = isolation
        self._bwrap = bwrap
        self.max_calls = max_calls
        self._files = _check_files(files)
        self.lazy = lazy
        self._episode: _Episode | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def sandbox(self) -> Sandbox:
        """The sandbox the code runs in (built at the first ``open`` when not given)."""
        if self._sandbox is None:
            from agentgym.sandbox import Sandbox, SandboxUnavailable

            try:
                self._sandbox = Sandbox(self._limits, isolation=self._isolation, bwrap=self._bwrap)
            except SandboxUnavailable as exc:
                # (the sandbox's message names the cause, the fix and the weaker alternative)
                raise SandboxUnavailable(f"PythonSandbox: the agent's code runs in agentgym.sandbox, which cannot "
                                         f"work on this machine: {exc}") from exc
        return self._sandbox

    def open(self) -> None:
        episode = _Episode(self.sandbox, dict(self._files))
        self._episode = episode
        if not self.lazy:
            episode.session()

    def close(self) -> None:
        episode = self._episode
        if episode is not None:
            episode.close()

    # ------------------------------------------------------------------ the tool
    @tool
    def python(self, code: str) -> str:
        """Run Python code in this episode's sandboxed interpreter and show its output; variables,
        imports and functions stay defined between calls, and a final expression's value is shown.

        Print what you need to see. There is no network access, and each call has a time and
        memory limit.

        Args:
            code: the Python code to run.
        """
        episode = self._current()
        with episode.lock:
            if self.max_calls is not None and episode.calls >= self.max_calls:
                raise ToolError(f"the limit of {self.max_calls} code runs in this episode is used up; "
                                f"give your final answer now")
            episode.calls += 1
        result = episode.run(code)
        episode.last_code, episode.last_result = code, result
        return result.for_agent()

    # ------------------------------------------------------------------ for the environment
    def execute(self, code: str) -> ExecutionResult:
        """Run ``code`` in the current episode's interpreter (started if need be) and return
        the full result; not counted in ``calls``. :class:`ToolError` when no episode is open."""
        return self._current().run(code)

    def add_files(self, files: Mapping[str, str | bytes]) -> None:
        """Add files to the current episode's ``/tmp`` (e.g. from ``new_episode``); they are
        written when the interpreter starts, so call it before the first run. RuntimeError
        when the interpreter is already running."""
        episode = self._current()
        checked = _check_files(files)
        with episode.lock:
            if episode.started:
                raise RuntimeError("PythonSandbox.add_files: the interpreter of this episode is already running")
            episode.files.update(checked)

    @property
    def calls(self) -> int:
        """The agent's calls in the current episode."""
        return 0 if self._episode is None else self._episode.calls

    @property
    def last_result(self) -> ExecutionResult | None:
        """The result of the agent's last call in the current episode, or ``None``."""
        return None if self._episode is None else self._episode.last_result

    @property
    def last_code(self) -> str | None:
        """The code of the agent's last call in the current episode, or ``None``."""
        return None if self._episode is None else self._episode.last_code

    @property
    def session(self) -> PythonSession | None:
        """The current episode's interpreter, ``None`` before its first run."""
        return None if self._episode is None else self._episode.current_session

    def __getstate__(self) -> dict:
        """What ``copy.deepcopy`` and ``pickle`` take between episodes: the configuration, not the
        ended episode's record (the copy's ``calls`` is 0 and ``last_result`` ``None`` until its
        next episode). :class:`TypeError` while an episode is open (its interpreter is a process)."""
        episode = self._episode
        if episode is not None and not episode.closed:
            raise TypeError("PythonSandbox cannot be copied or pickled while an episode is open (its interpreter "
                            "is a process): copy it before open() or after close()")
        state = super().__getstate__()
        state["_episode"] = None
        return state

    def _current(self) -> _Episode:
        episode = self._episode
        if episode is None:
            raise ToolError("the Python session is not open (no episode has started)")
        return episode

    def __repr__(self) -> str:
        return f"PythonSandbox(max_calls={self.max_calls!r}, lazy={self.lazy!r}, sandbox={self._sandbox!r})"


class _Episode:
    """One episode's interpreter and counters. A fresh object per ``open``, so that a call
    still running from an abandoned episode never touches the next one's state."""

    def __init__(self, sandbox: Sandbox, files: dict[str, str | bytes]) -> None:
        self.sandbox = sandbox
        self.files = files
        self.lock = threading.Lock()
        self.current_session: PythonSession | None = None
        self.started = False
        self.closed = False
        self.calls = 0
        self.last_code: str | None = None
        self.last_result: ExecutionResult | None = None

    def session(self) -> PythonSession:
        with self.lock:
            if self.closed:
                raise ToolError("the Python session is closed (the episode has ended)")
            if self.current_session is not None:
                return self.current_session
            self.started = True
            files = dict(self.files)
        try:
            session = self.sandbox.session(files=files)  # outside the lock: close() is never kept waiting
        except Exception as exc:  # noqa: BLE001 - the agent reads it; the environment goes on
            with self.lock:
                self.started = False
                closed = self.closed
            if closed:
                raise ToolError("the Python session was closed while it was starting") from exc
            raise ToolError(f"the Python sandbox could not start: {type(exc).__name__}: {exc}") from exc
        with self.lock:
            keep = not self.closed and self.current_session is None
            if keep:
                self.current_session = session
            winner = self.current_session
        if not keep:
            session.close()
            if winner is None:
                raise ToolError("the Python session was closed while it was starting")
        return winner

    def run(self, code: str) -> ExecutionResult:
        from agentgym.sandbox import SandboxError, SessionClosed

        session = self.session()
        try:
            return session.run(code)
        except SessionClosed as exc:  # closed between taking the session and running
            raise ToolError("the Python session is closed (the episode has ended)") from exc
        except SandboxError as exc:  # a restart after a crash failed
            raise ToolError(f"the Python sandbox failed: {exc}") from exc

    def close(self) -> None:
        with self.lock:
            self.closed = True
            session = self.current_session
        if session is not None:
            session.close()  # a call in progress returns at once


def _check_files(files: Mapping[str, str | bytes] | None) -> dict[str, str | bytes]:
    """``files`` as a dict, its names and contents checked now (the sandbox's own rules: plain
    relative paths, text or bytes) rather than at the first call."""
    if files is None:
        return {}
    if not isinstance(files, Mapping):
        raise TypeError(f"PythonSandbox: files must be a mapping of relative path to text or bytes, got {files!r}")
    from agentgym.sandbox.process import encode_files

    encode_files(files)
    return dict(files)
