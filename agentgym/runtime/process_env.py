"""Process isolation: an environment that lives in a child process and can be killed.

A thread cannot be stopped from outside, so an environment call hung for good in a thread keeps
that thread (and the environment) for as long as the process lives. :class:`ProcessEnv` runs the
environment in a child process instead (``spawn`` by default: a fresh interpreter, see
:mod:`agentgym.runtime.process_child`; or ``multiprocessing``'s ``fork``/``forkserver``) and forwards
``reset``/``step``/``close`` and attribute access over a pipe. The slot's thread still makes each
call (it waits on the pipe), so the vector env times calls out exactly as in thread isolation;
on a timeout it :meth:`~ProcessEnv.kill`\\ s the child, which ends the waiting call at once
(the pipe closes), and the slot builds a fresh child at its next reset. Nothing is abandoned.

The factory is sent to the child, so it must be picklable: a module-level function or class, or
a ``functools.partial`` of one (``make_vec`` uses ``functools.partial(agentgym.make, id, ...)``).
Results (observations, infos) and exceptions cross the pipe pickled; an exception that cannot be
pickled, or not unpickled, arrives as a ``RuntimeError`` naming it, one that is no error (a
``SystemExit``) as :class:`~agentgym.runtime.worker.CallExited`, and every remote exception
carries the child's traceback as a note. A result this process cannot unpickle (a class it
cannot import) raises ``TypeError`` saying so, as do arguments (an action) that cannot be
pickled here or unpickled in the child; the child lives on.
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import traceback
import weakref
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable

from agentgym.runtime.handle import checked_env
from agentgym.runtime.process_child import fresh_interpreter_payload, start_interpreter
from agentgym.runtime.worker import as_error

_KILL_GRACE_S = 5.0  # how long to wait for a killed child to be reaped


class ProcessEnvDied(RuntimeError):
    """The child process of a :class:`ProcessEnv` ended (it was killed, or crashed)."""


class ProcessEnv:
    """Forwards ``reset``/``step``/``close`` and attribute access to an environment built by
    ``factory`` in a child process. Create it, then :meth:`start` it (which waits until the
    environment is built). :meth:`kill` may be called from any thread at any time, even before
    or during :meth:`start`; it ends whatever call is waiting on the child. A ``ProcessEnv``
    collected without :meth:`close` kills and reaps its child then (no zombie is left)."""

    def __init__(self, factory: Callable[[], Any], *, start_method: str = "spawn", name: str = "") -> None:
        self._factory = factory
        self._start_method = start_method
        self._context = multiprocessing.get_context(start_method)
        self._name = name or "agentgym-env-process"
        self._lock = threading.Lock()
        self._reap_lock = threading.Lock()  # join/close of the child from one thread at a time
        #: the child's exit code once it has been reaped
        self.exitcode: int | None = None
        self._killed = False
        self._closed = False
        self._process: Any = None
        self._conn: Any = None
        self.observation_space: Any = None
        self.action_space: Any = None
        self.metadata: dict[str, Any] = {}
        self.render_mode: Any = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> ProcessEnv:
        """Start the child and wait until it has built the environment (or raised)."""
        with self._lock:
            if self._killed:
                raise ProcessEnvDied(f"{self._name} was killed before it started")
            self._process, self._conn = self._start_child()
        # dropped without close(): no zombie (at exit the children are killed as daemons)
        weakref.finalize(self, _end_dropped_child, self._process, self._name).atexit = False
        try:
            spaces = self._receive("construction")
        except BaseException:
            self.kill()  # the child is ending (or hangs): reap it now, not at a close() that may never come
            self._conn.close()
            raise
        self.observation_space, self.action_space, self.metadata, self.render_mode = spaces
        return self

    def _start_child(self) -> tuple[Any, Any]:
        """The child process and this end of its pipe. With ``spawn``, a factory that does not
        live in ``__main__`` is sent to a fresh interpreter that imports only what the factory
        needs (:mod:`agentgym.runtime.process_child`); ``multiprocessing``'s own ``spawn``
        re-imports the parent's ``__main__`` in every child, and with it whatever that imports
        (a training script's torch: 1.5 s and about 145 MB more per child)."""
        if self._start_method == "spawn":
            payload = fresh_interpreter_payload(self._factory)  # an unpicklable factory raises here
            if payload is not None:
                return start_interpreter(payload, name=self._name)
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=serve_environment, args=(child_end, self._factory), name=self._name, daemon=True
        )
        try:
            process.start()
        finally:
            child_end.close()
        return process, parent_end

    @property
    def name(self) -> str:
        return self._name

    @property
    def pid(self) -> int | None:
        process = self._process
        return None if process is None else process.pid

    def is_alive(self) -> bool:
        with self._reap_lock:
            return self._process is not None and self._process.is_alive()

    def kill(self) -> None:
        """Kill the child (SIGKILL) and reap it; a call waiting on it raises ProcessEnvDied."""
        with self._lock:
            self._killed = True
        self._reap(kill=True)
        # The pipe is closed by the thread reading it (it sees EOF now), or when this object goes.

    def _reap(self, *, kill: bool) -> None:
        """Wait (boundedly) for the child to end, killing it first if ``kill``, and release it."""
        with self._reap_lock:
            process = self._process
            if process is None:
                return
            if kill and process.exitcode is None:
                started_by_it = _descendants(process.pid)  # found before their parent goes
                process.kill()
                _kill(started_by_it)
            process.join(_KILL_GRACE_S)
            if process.exitcode is not None:
                self.exitcode = process.exitcode
                process.close()
                self._process = None

    # ------------------------------------------------------------ the environment
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return self._call("reset", seed=seed, options=options)

    def step(self, action: Any):
        return self._call("step", action)

    def close(self) -> None:
        """Close the environment in the child, then end the child (a child that has ended, or
        ends meanwhile, leaves nothing to close)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.is_alive() and not self._killed:
                self._call("close")
        except ProcessEnvDied:
            pass
        finally:
            self.kill()  # reaps the child (it exits by itself after close)
            if self._conn is not None:
                self._conn.close()

    def get_wrapper_attr(self, name: str) -> Any:
        """The attribute's value, or for a method a callable that calls it in the child."""
        kind, value = self._call("get_attr", name)
        if kind == "method":
            return lambda *args, **kwargs: self._call("call", name, *args, **kwargs)
        return value

    def set_wrapper_attr(self, name: str, value: Any) -> None:
        self._call("set_attr", name, value)

    def __repr__(self) -> str:
        return f"ProcessEnv({self._factory!r}, pid={self.pid})"

    # ------------------------------------------------------------ the pipe
    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._conn is None or self._conn.closed or self._killed:
            raise ProcessEnvDied(f"{self._name}: the environment's process is gone ({method})")
        try:  # apart from the send: arguments that do not pickle are no death of the child
            message = ForkingPickler.dumps((method, args, kwargs))
        except Exception as exc:  # noqa: BLE001 - pickling fails in many ways (ValueError, RecursionError...)
            raise TypeError(f"{self._name}: the arguments of {method} cannot be pickled: "
                            f"{type(exc).__name__}: {exc}") from exc
        try:
            self._conn.send_bytes(message)
        except (OSError, ValueError) as exc:  # the child died (or was killed)
            raise ProcessEnvDied(f"{self._name}: the environment's process is gone ({method})") from exc
        return self._receive(method)

    def _receive(self, method: str) -> Any:
        try:
            message = self._conn.recv_bytes()
        except (EOFError, OSError, ValueError) as exc:  # the child died (or was killed)
            self._reap(kill=False)  # it closed its end of the pipe: it is ending
            code = self.exitcode
            self._conn.close()
            raise ProcessEnvDied(
                f"{self._name}: the environment's process ended during {method} (exit code {code})"
            ) from exc
        try:  # apart from the receive: a message that does not unpickle here is no death of the child
            status, payload = pickle.loads(message)
        except Exception as exc:  # noqa: BLE001 - whatever the result's classes raise while rebuilt
            raise TypeError(f"{self._name}: the result of {method} cannot be rebuilt in this process: "
                            f"{type(exc).__name__}: {exc}") from exc
        if status == "ok":
            return payload
        if status == "unreadable":
            raise TypeError(f"{self._name}: the arguments of {method} cannot be rebuilt in the environment's "
                            f"process: {payload}")
        exc, remote_traceback = payload
        exc = as_error(exc)
        exc.add_note(f"in the environment's process:\n{remote_traceback}")
        raise exc


# ------------------------------------------------------------------ the child process
def serve_environment(conn: Any, factory: Callable[[], Any]) -> None:
    """The child's main loop: build the environment, then answer calls until close or EOF."""
    try:
        env = checked_env(factory(), factory)
        spaces = (env.observation_space, env.action_space, dict(getattr(env, "metadata", {}) or {}),
                  getattr(env, "render_mode", None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        _send_error(conn, exc)
        return
    _send(conn, spaces)
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):  # the parent is gone
            break
        try:  # apart from the receive: arguments that do not unpickle here are no end of the parent
            method, args, kwargs = pickle.loads(message)
        except Exception as exc:  # noqa: BLE001 - whatever the arguments' classes raise while rebuilt
            _send_unreadable(conn, exc)
            continue
        try:
            result = _run(env, method, args, kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            _send_error(conn, exc)
            continue
        _send(conn, result)
        if method == "close":
            break
    conn.close()


def _run(env: Any, method: str, args: tuple, kwargs: dict) -> Any:
    if method == "reset":
        return tuple(env.reset(**kwargs))
    if method == "step":
        return tuple(env.step(*args))
    if method == "close":
        return env.close()
    name = args[0]
    if method == "get_attr":
        value = env.get_wrapper_attr(name) if hasattr(env, "get_wrapper_attr") else getattr(env, name)
        return ("method", None) if callable(value) else ("value", value)
    if method == "call":
        value = env.get_wrapper_attr(name) if hasattr(env, "get_wrapper_attr") else getattr(env, name)
        return value(*args[1:], **kwargs)
    if method == "set_attr":
        if hasattr(env, "set_wrapper_attr"):
            return env.set_wrapper_attr(name, args[1])
        return setattr(env, name, args[1])
    raise ValueError(f"unknown method {method!r}")


def _send(conn: Any, result: Any) -> None:
    """Send a call's result; one that cannot be pickled, whatever its pickling raises (a
    ``ValueError`` from a ctypes pointer, a ``RecursionError`` from a deep structure), is sent
    as a ``TypeError`` saying so instead (nothing of it was sent: it is pickled whole first),
    and the child serves on."""
    try:
        payload = ForkingPickler.dumps(("ok", result))
    except Exception as exc:  # noqa: BLE001 - pickling fails in many ways
        _send_error(conn, TypeError(f"the environment returned something that cannot be pickled: "
                                    f"{type(exc).__name__}: {exc}"))
        return
    conn.send_bytes(payload)


def _send_unreadable(conn: Any, exc: Exception) -> None:
    """Tell the parent that a call's arguments (an action of a class this interpreter cannot
    import, e.g. one defined in the parent's ``__main__``) did not unpickle here; the child
    serves on."""
    try:
        conn.send(("unreadable", f"{type(exc).__name__}: {exc}"))
    except (OSError, ValueError):
        pass


def _send_error(conn: Any, exc: BaseException) -> None:
    remote_traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-6))
    try:
        pickle.loads(pickle.dumps(exc))  # both ways: an __init__ with other arguments pickles, then fails
        payload = exc
    except Exception:  # noqa: BLE001 - any exception that does not travel is renamed
        payload = RuntimeError(f"{type(exc).__name__}: {exc}")
    try:
        conn.send(("error", (payload, remote_traceback)))
    except (OSError, ValueError):
        pass


def _end_dropped_child(process: Any, name: str) -> None:
    """A :class:`ProcessEnv` collected without ``close()`` (a vector env with process isolation
    that was never closed): kill its child if it was not reaped (it may be inside a call, or
    about to end on its pipe's EOF) and reap it from a daemon thread, so that it is no zombie
    for the rest of this process's life."""
    try:
        if process.exitcode is not None:  # ended, and reaped by asking
            return
    except ValueError:  # a multiprocessing process already closed: reaped
        return
    process.kill()
    threading.Thread(target=process.join, name=f"{name}-reaper", daemon=True).start()


def _descendants(pid: int) -> list[Any]:
    """The processes ``pid`` started, and theirs (an environment's server, browser, sandbox),
    found with psutil where it is installed (the web, serve and dev extras bring it); ``[]``
    without it. Killing only the child would leave them running, orphaned."""
    try:
        import psutil
    except ImportError:
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill(processes: list[Any]) -> None:
    """SIGKILL each of ``processes`` (psutil handles, so a recycled pid is never hit)."""
    import psutil

    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass
