"""The :class:`Sandbox`: a configuration (limits, isolation, what is visible) that runs code."""

from __future__ import annotations

import os
import resource
import stat
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence

from agentgym.sandbox.bwrap import check_bubblewrap, host_path
from agentgym.sandbox.errors import SandboxUnavailable, WeakIsolationWarning
from agentgym.sandbox.limits import SandboxLimits
from agentgym.sandbox.oneshot import run_job
from agentgym.sandbox.process import LaunchSpec, encode_files
from agentgym.sandbox.result import ExecutionResult
from agentgym.sandbox.session import PythonSession

ISOLATIONS = ("bubblewrap", "rlimits")
WEAKER = ("isolation='rlimits' is weaker than the bubblewrap sandbox: resource limits, a timeout, "
          "output caps and a private working directory only; the code can reach the network and "
          "read every file its user can, and as a normal user a process that escapes its process "
          "tree can outlive the call")
MAIN_FILE = "main.py"


def python_installation(python: str) -> list[str]:
    """Folders to bind read-only so that ``python`` runs: its prefix, the prefix of the file the
    path resolves to, a virtual environment's base installation (``pyvenv.cfg``), and, for the
    running interpreter, ``sys.prefix`` and friends."""
    paths = []
    for executable in (python, os.path.realpath(python)):
        prefix = os.path.dirname(os.path.dirname(os.path.abspath(executable)))
        paths.append(prefix)
        config = os.path.join(prefix, "pyvenv.cfg")
        if os.path.isfile(config):
            with open(config, encoding="utf-8") as handle:
                for line in handle:
                    key, _, value = line.partition("=")
                    if key.strip() == "home" and value.strip():
                        paths.append(os.path.dirname(value.strip()))
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        paths += [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    return [path for path in dict.fromkeys(paths) if path not in ("/", "") and os.path.isdir(path)]


# SandboxLimits field → (its number for the launcher, the rlimit the launcher sets it as)
RLIMITS = (("cpu_seconds", "cpu_seconds", "RLIMIT_CPU"), ("memory_mb", "memory_bytes", "RLIMIT_AS"),
           ("file_size_mb", "file_size_bytes", "RLIMIT_FSIZE"), ("open_files", "open_files", "RLIMIT_NOFILE"),
           ("processes", "processes", "RLIMIT_NPROC"))
RLIMIT_MAX = 2**63 - 1  # what the kernel takes (rlim_t; all ones is "unlimited")


def check_rlimits(limits: SandboxLimits) -> None:
    """``ValueError`` naming the first limit the sandbox cannot set: past the hard limit this
    process runs under (the sandbox inherits it and may not raise it) or past what the kernel
    takes (``disk_mb``: a tmpfs's size). Checked here, not at every call inside the sandbox."""
    numbers = limits.for_launcher()
    for name, key, rlimit in RLIMITS:
        value = numbers[key] + (1 if key == "cpu_seconds" else 0)  # SIGKILL a second past SIGXCPU
        hard = resource.getrlimit(getattr(resource, rlimit))[1]
        most = RLIMIT_MAX if hard == resource.RLIM_INFINITY else min(hard, RLIMIT_MAX)
        if value > most:
            why = "the kernel's most" if most == RLIMIT_MAX else "this process's hard limit: `ulimit -H` shows it"
            raise ValueError(f"SandboxLimits.{name}={getattr(limits, name)!r} is more than the sandbox can "
                             f"set: {rlimit} would be {value:,}, and it may be at most {most:,} ({why})")
    if limits.disk_mb * 1024 * 1024 > RLIMIT_MAX:  # the size of a tmpfs, bubblewrap's --size
        raise ValueError(f"SandboxLimits.disk_mb={limits.disk_mb!r} is more than a tmpfs can hold "
                         f"({RLIMIT_MAX:,} bytes)")


def hidden_from_others(path: str) -> str | None:
    """The first folder on the way to ``path`` (symlinks resolved) that a user other than its
    owner cannot search, or None when every one can be searched."""
    current = "/"
    for part in os.path.realpath(path).split("/")[1:-1]:
        current = os.path.join(current, part)
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return current
    return None


class Sandbox:
    """Runs untrusted code in a separate, isolated, resource-limited process.

    ``Sandbox(limits)`` checks once that bubblewrap can build sandboxes here and raises
    :class:`SandboxUnavailable` naming the cause otherwise; a limit past what a process here
    may have (its hard rlimit, e.g. ``open_files`` past ``ulimit -Hn``) is a ``ValueError``
    naming it. ``isolation="rlimits"`` is the weaker mode (see :data:`WEAKER`), used only when
    asked for; it warns with :class:`WeakIsolationWarning` (under root it runs the code as a
    fresh uid, so ``python`` must be an interpreter other users can run). ``python`` (default:
    this interpreter; a relative path is taken from the current folder) runs the code; its
    installation is visible read-only, like ``readonly_paths``. ``bwrap`` names the bubblewrap
    executable. A Sandbox holds no processes: each :meth:`run` / :meth:`run_python` starts and
    ends its own, each :meth:`session` owns one until closed. Thread-safe.
    """

    def __init__(self, limits: SandboxLimits | None = None, *, isolation: str = "bubblewrap",
                 python: str | None = None, readonly_paths: Sequence[str] = (), bwrap: str = "bwrap") -> None:
        if limits is None:
            limits = SandboxLimits()
        if not isinstance(limits, SandboxLimits):
            raise TypeError(f"limits must be a SandboxLimits, not {type(limits).__name__}")
        check_rlimits(limits)
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
        python = python or sys.executable
        if not (os.path.isfile(python) and os.access(python, os.X_OK)):
            raise ValueError(f"python {python!r} is not an executable file")
        python = os.path.abspath(python)  # the sandbox starts it from elsewhere (bwrap's /tmp)
        if isinstance(readonly_paths, (str, bytes, os.PathLike)):
            raise TypeError(f"readonly_paths must be a list of paths, not one path ({readonly_paths!r})")
        extra = []
        for path in readonly_paths:
            absolute = host_path(path)
            if os.path.realpath(absolute) == "/":  # '/', '//', '/.', a symlink to '/'
                named = "" if absolute == "/" else f" ({path!r} is it)"
                raise ValueError(f"readonly_paths may not contain '/'{named}: that would show the whole host")
            if not os.path.exists(absolute):
                raise ValueError(f"readonly path {path!r} does not exist")
            extra.append(absolute)
        if isolation == "bubblewrap":
            bwrap = check_bubblewrap(bwrap)
        else:
            warnings.warn(WEAKER, WeakIsolationWarning, stacklevel=2)
            hidden = hidden_from_others(python) if os.geteuid() == 0 else None
            if hidden is not None:
                raise SandboxUnavailable(
                    f"isolation='rlimits' under root runs the code as a fresh unprivileged uid, which "
                    f"cannot use the Python at {os.path.realpath(python)!r}: {hidden!r} is not searchable "
                    "by other users. Pass python= an interpreter installed elsewhere (e.g. "
                    "Sandbox(isolation='rlimits', python='/usr/bin/python3'), and an environment "
                    "sandbox=that Sandbox), or use the bubblewrap isolation.")
        self._spec = LaunchSpec(isolation=isolation, limits=limits, python=python,
                                readonly_paths=tuple(python_installation(python) + extra), bwrap=bwrap)

    @property
    def limits(self) -> SandboxLimits:
        return self._spec.limits

    @property
    def isolation(self) -> str:
        return self._spec.isolation

    @property
    def description(self) -> str:
        """One line on what this sandbox isolates (says so when it is the weaker mode)."""
        if self.isolation == "rlimits":
            return WEAKER
        return ("bubblewrap: own pid, network (no route out), ipc, uts and mount namespaces; the "
                "Python installation read-only, a private /tmp, nothing else of the host; "
                "rlimits, a wall-clock timeout and output caps")

    def run(self, argv: Iterable[str], *, files: Mapping[str, str | bytes] | None = None,
            stdin: str | bytes | None = None) -> ExecutionResult:
        """Run the command ``argv`` (a list of str, or any iterable of them; the first is looked
        up on the sandbox's ``PATH``: this Python's ``bin`` first, then
        ``/usr/local/bin:/usr/bin:/bin``) in a fresh sandbox whose working directory, ``/tmp``,
        holds ``files`` (relative path → text or bytes), with ``stdin`` as
        its standard input (text or bytes, else a ``TypeError``; empty when None). E.g.
        ``run(["python", "-m", "pytest", "-q"], files={"test_solution.py": ...})``. An argument
        no command line can hold (a NUL character, a lone surrogate) is a ``ValueError`` naming
        it; so are files that cannot be written there (a bad name, more bytes than ``disk_mb``)."""
        if isinstance(argv, (str, bytes)) or not isinstance(argv, Iterable):
            raise TypeError("argv must be a non-empty sequence of str (a list, not one command string)")
        argv = list(argv)  # an iterator (map(str, parts)) is read once, here
        if not argv or not all(isinstance(a, str) for a in argv):
            raise TypeError("argv must be a non-empty sequence of str (a list, not one command string)")
        argv = [str.__str__(argument) for argument in argv]  # a str subclass's text (numpy.str_)
        for index, argument in enumerate(argv):
            _check_argument(index, argument)
        _check_stdin(stdin)
        job = {"mode": "exec", "argv": argv, "files": self._files(files)}
        return run_job(self._spec, job, stdin)

    def run_python(self, code: str, *, files: Mapping[str, str | bytes] | None = None,
                   stdin: str | bytes | None = None) -> ExecutionResult:
        """Run ``code`` as ``/tmp/main.py`` in a fresh sandboxed interpreter (like ``python
        main.py``, the files next to it); the exit status is the program's."""
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, not {type(code).__name__}")
        if files and MAIN_FILE in files:
            raise ValueError(f"files may not contain {MAIN_FILE!r}: the code is written there")
        _check_stdin(stdin)
        job = {"mode": "python", "filename": MAIN_FILE, "args": [],
               "files": self._files({**(files or {}), MAIN_FILE: code})}
        return run_job(self._spec, job, stdin)

    def session(self, *, files: Mapping[str, str | bytes] | None = None) -> PythonSession:
        """Start a persistent sandboxed interpreter (one per episode); close it, or use it as a
        context manager. ``files`` are written to its ``/tmp`` at start (and again after a
        restart)."""
        return PythonSession(self._spec, self._files(files))

    def _files(self, files: Mapping[str, str | bytes] | None) -> dict[str, bytes]:
        """``files`` for the job (:func:`encode_files`); under bubblewrap a ``ValueError`` naming
        ``disk_mb`` when they hold more bytes than ``/tmp`` (it was a :class:`SandboxError`, "the
        sandbox's set-up failed: ... No space left on device", as if the sandbox had failed)."""
        encoded = encode_files(files)
        size, room = sum(map(len, encoded.values())), int(self.limits.disk_mb * 1024 * 1024)
        if self.isolation == "bubblewrap" and size > room:
            raise ValueError(f"the files ({size:,} bytes in all) do not fit the sandbox's /tmp of {room:,} "
                             f"bytes (SandboxLimits.disk_mb={self.limits.disk_mb:g})")
        return encoded

    def __repr__(self) -> str:
        return f"Sandbox(isolation={self.isolation!r}, limits={self.limits!r})"


def _check_stdin(stdin: object) -> None:
    """``TypeError`` unless ``stdin`` is None, text or bytes (``bytes(5)`` would be five NUL
    bytes, ``bytes(10**10)`` ten gigabytes of them)."""
    if stdin is not None and not isinstance(stdin, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"stdin must be str or bytes, not {type(stdin).__name__}")


def _check_argument(index: int, argument: str) -> None:
    """ValueError naming ``argv[index]`` when no command line can hold it (``execve`` takes
    NUL-terminated UTF-8 strings)."""
    if "\0" in argument:
        raise ValueError(f"argv[{index}] contains a NUL character, which a command-line argument cannot hold")
    try:
        argument.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"argv[{index}] is not valid unicode text (a lone surrogate, "
                         f"{argument[error.start]!r}, at character {error.start})") from None
