"""The fresh interpreter a :class:`~agentgym.runtime.process_env.ProcessEnv` runs its
environment in.

``multiprocessing``'s ``spawn`` prepares every child by re-importing the parent's ``__main__``
module, so that functions defined there can be unpickled. A training script's ``__main__``
imports torch and transformers: each environment's child then takes 1.5 s longer to start and
holds about 145 MB more, for an environment that needs neither. When the factory does not come
from ``__main__`` (``functools.partial(agentgym.make, ...)``, a class in a module), the parent starts
a fresh ``python`` that runs this module's :func:`main` instead: a child that imports only what
unpickling the factory imports. It gets the parent's ``sys.path`` (as ``spawn`` gives it), then
the pickled factory, over a socket pair wrapped in ``multiprocessing``'s ``Connection`` (the
same messages as a ``multiprocessing`` pipe), and serves the environment with the same loop.
With a ``functools.partial(agentgym.make, id, ...)`` factory the id's registration travels too
(as an :class:`~agentgym.runtime.runtimes.EnvSpec` carries its own), so an id registered by the
parent's script or at run time is made in the child (a spawn child knew only those that
re-importing ``__main__`` registered again).

:class:`Interpreter` offers the part of ``multiprocessing.Process``'s interface that
:class:`ProcessEnv` uses (``pid``, ``is_alive``, ``kill``, ``join``, ``exitcode``, ``close``).
Like a daemon process, a child still running when the parent's interpreter exits is killed.
"""

from __future__ import annotations

import atexit
import functools
import pickle
import socket
import subprocess
import sys
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import gymnasium

_running: weakref.WeakSet[Interpreter] = weakref.WeakSet()

# The child's first lines: this package's folder first on the path (the parent may have found
# agentgym through a sys.path entry added at run time), then main(), which takes the parent's path.
_BOOTSTRAP = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); "
              "from agentgym.runtime.process_child import main; main(sys.argv[1:])")


class Interpreter:
    """A child interpreter started by :func:`start_interpreter`."""

    def __init__(self, popen: subprocess.Popen, name: str) -> None:
        self._popen = popen
        self.name = name

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def exitcode(self) -> int | None:
        """The exit code once the child has ended (``-N`` for a signal ``N``), else ``None``."""
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def kill(self) -> None:
        """Send SIGKILL (nothing if it has ended)."""
        if self._popen.poll() is None:
            self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` seconds for the child to end (and reap it)."""
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """Forget an ended child (as ``Process.close``)."""
        if self._popen.poll() is None:
            raise ValueError(f"cannot close {self.name}: it is still running")
        _running.discard(self)


def fresh_interpreter_payload(factory: Any) -> bytes | None:
    """What :func:`start_interpreter` sends: the pickled factory, with the registration of the
    id it makes when it is ``functools.partial(agentgym.make, id, ...)`` (an
    :class:`~agentgym.runtime.runtimes.EnvSpec` carries its own); ``None`` when that refers to
    ``__main__`` or the registration cannot be pickled (a lambda): only a child that re-imports
    ``__main__``, as ``multiprocessing``'s spawn does, may then build the environment. Raises
    what pickling an unpicklable factory raises."""
    registration = _registration_made_by(factory)
    try:
        registrations = [] if registration is None else [pickle.dumps(registration)]
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    payload = pickle.dumps((registrations, factory))
    return None if b"__main__" in payload else payload


def _registration_made_by(factory: Any) -> tuple[Any, bool] | None:
    """The registration (record, nondeterministic) of the id a ``partial(agentgym.make, id,
    ...)`` factory makes, if that id is registered here; else ``None``."""
    from agentgym.registry import env_info, is_registered, make

    if not (isinstance(factory, functools.partial) and factory.func is make and factory.args):
        return None
    env_id = factory.args[0]
    if not isinstance(env_id, str) or not is_registered(env_id):
        return None
    return env_info(env_id), gymnasium.spec(env_id).nondeterministic


def start_interpreter(payload: bytes, *, name: str) -> tuple[Interpreter, Connection]:
    """Start a child interpreter that builds the environment of the factory in ``payload``
    (:func:`fresh_interpreter_payload`, registering its id first if need be), then serves
    it; returns it and the parent's end of its connection. The first message the child sends is
    the construction's result, as from a ``multiprocessing`` child."""
    parent_socket, child_socket = socket.socketpair()
    with parent_socket, child_socket:
        popen = subprocess.Popen(
            [sys.executable, *_interpreter_flags(), "-c", _BOOTSTRAP, str(child_socket.fileno()), name],
            pass_fds=(child_socket.fileno(),), stdin=subprocess.DEVNULL,
        )
        connection = Connection(parent_socket.detach())
    child = Interpreter(popen, name)
    _running.add(child)
    try:
        connection.send(list(sys.path))
        connection.send_bytes(payload)
    except OSError:  # it died at once: the caller's first receive reports the exit code
        pass
    return child, connection


def _interpreter_flags() -> list[str]:
    """The parent's ``-W``, ``-X`` and optimisation flags, as ``multiprocessing`` passes them."""
    return list(getattr(subprocess, "_args_from_interpreter_flags", lambda: [])())


@atexit.register
def _kill_the_running() -> None:
    for child in list(_running):
        child.kill()
        child.join(5.0)


def main(argv: list[str]) -> None:
    """The child: take ``sys.path`` and the factory from the parent, then serve."""
    from agentgym.runtime.process_env import serve_environment

    connection = Connection(int(argv[0]))
    try:
        sys.path[:] = connection.recv()
        payload = connection.recv_bytes()
    except (EOFError, OSError):  # the parent went before sending it
        return
    serve_environment(connection, functools.partial(_build, payload))


def _build(payload: bytes) -> Any:
    """The environment: the registration the parent sent is made first if this interpreter
    lacks it (an id registered by the parent's script, or at run time, is known here too); one
    that cannot be made here is named on a failure to build."""
    from agentgym.registry import is_registered, register
    from agentgym.runtime.handle import checked_env

    registrations, factory = pickle.loads(payload)
    missing = []
    for record in registrations:
        try:
            info, nondeterministic = pickle.loads(record)
            if not is_registered(info.id):
                register(info.id, info.entry_point, family=info.family, tags=info.tags,
                         description=info.description, max_turns=info.max_turns, kwargs=info.kwargs,
                         nondeterministic=nondeterministic)
        except Exception as exc:  # noqa: BLE001 - named below if the environment cannot be built
            missing.append(f"{type(exc).__name__}: {exc}")
    try:
        return checked_env(factory(), factory)  # named here: serve_environment sees only this function
    except BaseException as exc:
        if missing:
            exc.add_note(f"the parent process's registration could not be made in the environment's process: "
                         f"{'; '.join(missing)}")
        raise
