"""One running sandbox seen from the host: its process, its pipes, reading them under the caps,
and killing everything in it.

A :class:`SandboxProcess` is started by :func:`spawn` from a :class:`LaunchSpec` (how to isolate)
and a job (what to run, see :mod:`agentgym.sandbox.launcher`). Its pipes: the code's stdout and
stderr, ``CTRL_IN`` (host → launcher: the job, then a session's cells; for sessions and
commands also the lifeline: when it closes, the launcher kills everything and exits) and
``CTRL_OUT`` (launcher → host: framed answers). Under bubblewrap the host also holds a pidfd
of the sandbox's pid-namespace init (from ``--info-fd``): SIGKILL to it ends every process of
the sandbox, which :meth:`SandboxProcess.close` always does. :meth:`SandboxProcess.kill` may be
called from any thread; :meth:`SandboxProcess.close` (kill, wait until every process is gone,
close every descriptor, remove the temporary directory) is idempotent.
"""

from __future__ import annotations

import enum
import functools
import importlib.util
import json
import marshal
import os
import py_compile
import secrets
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.sandbox.bwrap import LAUNCHER_DIR, WORKDIR, bwrap_command, launcher_argv
from agentgym.sandbox.capture import CappedOutput
from agentgym.sandbox.errors import SandboxError
from agentgym.sandbox.launcher import process_table  # standard library only: the sandbox's own reading of /proc
from agentgym.sandbox.limits import SandboxLimits

LAUNCHER = str(Path(__file__).with_name("launcher.py"))
HEADER = struct.Struct(">I")
MAX_ANSWER = 1 << 20  # the launcher's answers are small: a longer frame is garbage
# Frames read and not yet taken: the launcher has at most two unread at any time, so more is
# code writing to the pipe (a one-shot program or a session's cell can), which becomes garbage.
MAX_PENDING = 64
READ_SIZE = 1 << 16
EXIT_GRACE_S = 0.5  # after the launcher is gone, how long stray holders of stdout may keep it open
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class LaunchSpec:
    """How sandboxes are started: ``isolation`` ``"bubblewrap"`` or ``"rlimits"``, the bubblewrap
    executable, the Python interpreter (its installation is bound read-only) and extra read-only
    paths."""

    isolation: str
    limits: SandboxLimits
    python: str
    readonly_paths: tuple[str, ...]
    bwrap: str = "bwrap"
    as_root: bool = field(default_factory=lambda: os.geteuid() == 0)


def encode_files(files: Mapping[str, str | bytes] | None) -> dict[str, bytes]:
    """``{relative path: text or bytes}`` → ``{path: bytes}`` for the job; bad names refused
    (``ValueError``), a name that is also a folder of another (``"pkg"`` and ``"pkg/mod.py"``)
    and one no file system can hold (see :func:`_check_name_size`) included."""
    encoded = {}
    for name, content in (files or {}).items():
        if not isinstance(name, str) or not name or name.startswith("/") or "\0" in name:
            raise ValueError(f"file name {name!r} must be a non-empty relative path")
        name = str.__str__(name)  # a str subclass's text: marshal sends numpy.str_ as its UCS-4 buffer
        parts = name.split("/")
        if ".." in parts or "" in parts or "." in parts:
            raise ValueError(f"file name {name!r} must be a plain relative path (no '..', '.' or '//')")
        _check_name_size(name)
        if isinstance(content, str):
            # A lone surrogate (text that is not valid unicode) is written as its code unit, so
            # the file holds invalid UTF-8 and the program that reads it fails as it would on
            # disk (Python: a SyntaxError naming the byte): a result, not an exception here.
            data = content.encode("utf-8", "surrogatepass")
        elif isinstance(content, (bytes, bytearray, memoryview)):
            data = bytes(content)
        else:
            raise TypeError(f"content of file {name!r} must be str or bytes, not {type(content).__name__}")
        encoded[name] = data
    folders = {name.rsplit("/", 1)[0] for name in encoded if "/" in name}
    folders = {"/".join(folder.split("/")[:depth]) for folder in folders
               for depth in range(1, folder.count("/") + 2)}
    for name in encoded:
        if name in folders:
            inside = next(other for other in encoded if other.startswith(name + "/"))
            raise ValueError(f"file name {name!r} is also a folder of {inside!r}: a path cannot be both")
    return encoded


NAME_MAX = 255    # bytes of one name in a path (Linux file systems, tmpfs included)
PATH_MAX = 4095   # bytes of a path handed to the kernel (4,096 with its NUL)


def _check_name_size(name: str) -> None:
    """``ValueError`` naming ``name`` when no file system can hold it: a lone surrogate (no bytes
    name it; ``\\udc80``-``\\udcff`` are the bytes ``os`` gives them), a name in it past
    :data:`NAME_MAX` bytes, or past :data:`PATH_MAX` in all."""
    try:
        encoded = os.fsencode(name)
    except UnicodeEncodeError as error:
        raise ValueError(f"file name {name!r} cannot be a name in the file system: a lone surrogate, "
                         f"{name[error.start]!r}, at character {error.start}") from None
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        raise ValueError(f"file name {name!r} has a name of {len(longest):,} bytes in it: a file system "
                         f"holds at most {NAME_MAX} bytes")
    if len(encoded) > PATH_MAX:
        raise ValueError(f"file name {name!r} is {len(encoded):,} bytes long: a path may have at most "
                         f"{PATH_MAX:,} bytes")


class FrameReader:
    """Splits the ``CTRL_OUT`` byte stream into JSON frames. Anything else (code in a session can
    write to that pipe too) becomes ``{"garbled": True}``, and so does a frame announced longer
    than ``MAX_ANSWER``, after which the stream is ignored: it is never buffered."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.broken = False

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        if self.broken:
            return []
        self.buffer += data
        frames = []
        while len(self.buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self.buffer)
            if length > MAX_ANSWER:
                self.broken = True
                self.buffer.clear()
                frames.append({"garbled": True})
                break
            if len(self.buffer) < HEADER.size + length:
                break
            body = bytes(self.buffer[HEADER.size:HEADER.size + length])
            del self.buffer[:HEADER.size + length]
            try:
                frame = json.loads(body.decode("utf-8"))
            except ValueError:
                frame = {"garbled": True}
            frames.append(frame if isinstance(frame, dict) else {"garbled": True})
        return frames


def frame_bytes(message: Mapping[str, Any]) -> bytes:
    """A host → launcher frame: ``marshal`` (version 4) of plain values (exact ``str``, not a
    subclass: ``numpy.str_`` would go as its UCS-4 buffer, others not at all); see the launcher."""
    body = marshal.dumps(dict(message), 4)
    return HEADER.pack(len(body)) + body


class Stop(enum.Enum):
    """Why :meth:`SandboxProcess.pump` returned."""

    FRAME = "frame"        # a control frame arrived (and the output written before it was read)
    FINISHED = "finished"  # the started process exited, or every pipe reached end-of-file
    TIMEOUT = "timeout"    # the wall-clock deadline passed
    OUTPUT = "output"      # more than output_stop_mb was written
    CANCELLED = "cancelled"  # the cancel callback said so (a session closed from another thread)


class SandboxProcess:
    """A started sandbox; see the module docstring."""

    def __init__(self, popen: subprocess.Popen, *, fds: dict[str, int], workdir: str | None,
                 uid: int | None, spec: LaunchSpec) -> None:
        self.popen = popen
        self.fds = fds
        self.workdir = workdir
        self.uid = uid
        self.spec = spec
        self.frames = FrameReader()
        self.pending: list[dict[str, Any]] = []
        self.open_streams = {"stdout", "stderr", "ctrl_out"}
        self.exited = False  # the process started (bubblewrap or the launcher) has exited
        self.written = 0
        self._lock = threading.Lock()
        self._killed = False
        self._closed = False

    # -- talking to the launcher ---------------------------------------------------------

    def send(self, message: Mapping[str, Any]) -> bool:
        """Write one frame to ``CTRL_IN`` (blocking: the launcher reads as soon as it is idle);
        False when the launcher is gone."""
        data = memoryview(frame_bytes(message))
        try:
            while data:
                data = data[os.write(self.fds["ctrl_in"], data):]
        except (BrokenPipeError, OSError):
            return False
        return True

    def pump(self, stdout: CappedOutput, stderr: CappedOutput, deadline: float, *,
             until_frame: bool, cancelled: Callable[[], bool] = lambda: False) -> Stop:
        """Read stdout and stderr into the captures and ``CTRL_OUT`` into frames until: a frame
        arrives (``until_frame``; the output written before it is then drained), the sandbox is
        done (every pipe closed, or the started process exited: what it wrote is drained), the
        deadline passes, the output passes ``output_stop_mb`` or ``cancelled()``."""
        captures = {"stdout": stdout, "stderr": stderr}
        if until_frame and self.pending:
            return Stop.FRAME
        names = {self.fds["stdout"]: "stdout", self.fds["stderr"]: "stderr", self.fds["ctrl_out"]: "ctrl_out"}
        stop_bytes = self.spec.limits.output_stop_bytes
        gone_at: float | None = None
        with selectors.DefaultSelector() as selector:
            for fd, name in names.items():
                if name in self.open_streams:
                    selector.register(fd, selectors.EVENT_READ, name)
            if not self.exited:
                selector.register(self.fds["exit"], selectors.EVENT_READ, "exit")
            while self.open_streams:
                now = time.monotonic()
                if now >= deadline:
                    return Stop.TIMEOUT
                if cancelled():
                    return Stop.CANCELLED
                if self.exited:
                    # what the launcher wrote is in the pipes: read it, and do not wait for
                    # strays (or bubblewrap's init) that may still hold them
                    self.drain(captures)
                    return Stop.FRAME if until_frame and self.pending else Stop.FINISHED
                if "ctrl_out" not in self.open_streams:  # the launcher closed it or died
                    gone_at = gone_at or now
                    if now - gone_at > EXIT_GRACE_S:
                        self.drain(captures)
                        return Stop.FRAME if until_frame and self.pending else Stop.FINISHED
                wait = min(deadline - now, 0.25 if gone_at is None else 0.02)
                for key, _ in selector.select(wait):
                    name = key.data
                    if name == "exit":
                        selector.unregister(key.fd)
                        self.exited = True
                        continue
                    try:
                        data = os.read(key.fd, READ_SIZE)
                    except BlockingIOError:
                        continue
                    if not data:
                        selector.unregister(key.fd)
                        self.open_streams.discard(name)
                        continue
                    if name == "ctrl_out":
                        self._take_frames(data)
                        continue
                    captures[name].feed(data)
                    self.written += len(data)
                    if self.written > stop_bytes:
                        return Stop.OUTPUT
                if until_frame and self.pending:
                    self.drain(captures)
                    return Stop.FRAME
        return Stop.FINISHED

    def drain(self, captures: Mapping[str, CappedOutput]) -> None:
        """Read what is already in the pipes, without waiting."""
        for name in ("stdout", "stderr", "ctrl_out"):
            while name in self.open_streams:
                try:
                    data = os.read(self.fds[name], READ_SIZE)
                except BlockingIOError:
                    break
                if not data:
                    self.open_streams.discard(name)
                    break
                if name == "ctrl_out":
                    self._take_frames(data)
                    continue
                captures[name].feed(data)
                self.written += len(data)

    def _take_frames(self, data: bytes) -> None:
        """Add the frames in ``data`` to ``pending``; past :data:`MAX_PENDING` the stream is
        garbage from then on (a flood of tiny frames held gigabytes of the host's memory)."""
        self.pending += self.frames.feed(data)
        if len(self.pending) > MAX_PENDING:
            self.frames.broken = True
            self.frames.buffer.clear()
            del self.pending[MAX_PENDING:]
            self.pending.append({"garbled": True})

    def gone(self) -> bool:
        """The started process has exited (looked at without waiting)."""
        if not self.exited and "exit" in self.fds and _wait_readable(self.fds["exit"], 0):
            self.exited = True
        return self.exited

    def next_frame(self) -> dict[str, Any] | None:
        return self.pending.pop(0) if self.pending else None

    # -- ending it ------------------------------------------------------------------------

    def kill(self) -> None:
        """Kill every process of this sandbox (any thread; repeated calls are no-ops; this only
        sends signals: :meth:`close` waits for the processes to be gone).

        bubblewrap: SIGKILL, through a pidfd, to the pid namespace's init, which makes the
        kernel kill everything in the namespace. rlimits mode: every process of the sandbox's
        own uid (as root), or the launcher's process tree (as a normal user), and its group."""
        with self._lock:
            if self._killed or self._closed:
                return
            self._killed = True
            self._signal_all()

    def _signal_all(self) -> None:
        if "init" in self.fds:
            try:
                signal.pidfd_send_signal(self.fds["init"], signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        if self.spec.isolation == "rlimits":
            if self.uid is not None:
                kill_uid(self.uid)
            else:
                for pid in process_tree(self.popen.pid):
                    _signal(pid)
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> int | None:
        """End the sandbox: kill what is left of it (under bubblewrap always: the namespace's
        init goes, and with it anything the code left behind), wait until every process is
        gone, close every descriptor and remove the temporary directory; return the started
        process's exit status. Idempotent; call it from the thread that reads."""
        if self.spec.isolation == "bubblewrap":
            self.kill()
            if "init" in self.fds and not _wait_readable(self.fds["init"], 5.0):
                raise SandboxError("the sandbox's processes did not end within 5 s of SIGKILL")
        with self._lock:
            if self._closed:
                return self.popen.returncode
            self._closed = True
        _close_fd(self.fds.pop("ctrl_in", None))  # the lifeline: a live launcher ends its sandbox
        try:
            self.popen.wait(timeout=5 if self._killed else 1)
        except subprocess.TimeoutExpired:
            self._signal_all()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        if self.spec.isolation == "rlimits" and self.uid is not None:
            kill_uid(self.uid)  # anything of this sandbox's uid that outlived the launcher
        for name in list(self.fds):
            _close_fd(self.fds.pop(name))
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.popen.returncode


def _wait_readable(fd: int, timeout: float) -> bool:
    """Wait until ``fd`` (a pidfd: readable once the process has exited) is readable."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def namespace_init(info_fd: int, timeout: float = 10.0) -> int | None:
    """A pidfd of the sandbox's pid-namespace init, from bubblewrap's ``--info-fd`` (written as
    soon as the namespace exists, before the launcher starts); None when bubblewrap failed
    first. The pidfd is checked to be of a process in that namespace."""
    raw, info = b"", None
    deadline = time.monotonic() + timeout
    while info is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not _wait_readable(info_fd, remaining):
            return None
        data = os.read(info_fd, 4096)
        if not data:
            return None
        raw += data
        try:
            info = json.loads(raw.decode())
        except ValueError:
            continue
    try:
        pid, namespace = int(info["child-pid"]), int(info["pid-namespace"])
        pidfd = os.pidfd_open(pid)
    except (ValueError, KeyError, TypeError, OSError):
        return None
    try:
        same = os.readlink(f"/proc/{pid}/ns/pid") == f"pid:[{namespace}]"
    except OSError:
        same = False
    if not same:
        os.close(pidfd)
        return None
    return pidfd


def _signal(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _close_fd(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, ppid, _ in process_table():
        children.setdefault(ppid, []).append(pid)
    found, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def kill_uid(uid: int) -> None:
    """SIGKILL every process whose real uid is ``uid`` until none is left (bounded)."""
    for _ in range(100):
        pids = [pid for pid, _, owner in process_table() if owner == uid]
        if not pids:
            return
        for pid in pids:
            _signal(pid)
        time.sleep(0.005)


def fresh_uid() -> int:
    """An unused-looking uid for one sandbox (as root): ``RLIMIT_NPROC`` counts per uid."""
    return 1_000_000_000 + secrets.randbelow(1_000_000_000)


def fresh_byte_code(source: str, cached: str) -> bool:
    """``cached`` is this interpreter's byte-code of ``source`` as it is now (the header the
    import system checks: magic number, timestamp-based, source mtime and size)."""
    try:
        with open(cached, "rb") as handle:
            header = handle.read(16)
        stat = os.stat(source)
    except OSError:
        return False
    return (header[:4] == importlib.util.MAGIC_NUMBER and header[4:8] == b"\0\0\0\0"
            and int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF)


@functools.lru_cache(maxsize=None)
def launcher_files(python: str) -> tuple[tuple[str, str], ...]:
    """(host path, sandbox path) of the launcher and, when it can be written or exists, its
    byte-code for ``python``: compiling the launcher at every start would cost milliseconds."""
    files = [(LAUNCHER, f"{LAUNCHER_DIR}/launcher.py")]
    tag = sys.implementation.cache_tag if os.path.realpath(python) == os.path.realpath(sys.executable) else None
    if tag:
        cached = importlib.util.cache_from_source(LAUNCHER)
        if not fresh_byte_code(LAUNCHER, cached):
            try:
                py_compile.compile(LAUNCHER, cfile=cached, doraise=True)
            except (OSError, py_compile.PyCompileError):
                pass
        if fresh_byte_code(LAUNCHER, cached):
            files.append((cached, f"{LAUNCHER_DIR}/__pycache__/{os.path.basename(cached)}"))
    return tuple(files)


def current_launcher_files(python: str) -> tuple[tuple[str, str], ...]:
    """:func:`launcher_files`, found again when its byte-code was removed since it was found (a
    ``make clean``, another process): bubblewrap failed to bind it, and every later call of this
    process with it. One ``stat`` per start."""
    files = launcher_files(python)
    if not all(os.path.exists(host) for host, _ in files[1:]):
        launcher_files.cache_clear()
        files = launcher_files(python)
    return files


def child_env(home: str, python: str) -> dict[str, str]:
    """The sandbox's whole environment. ``PYTHONUNBUFFERED``: Python block-buffers output to a
    pipe, so what a program printed before it was stopped (wall clock, CPU limit, ``os._exit``)
    was lost with it; a session's cell output is written as it comes too."""
    path = os.pathsep.join(dict.fromkeys([os.path.dirname(python), "/usr/local/bin", "/usr/bin", "/bin"]))
    env = {"PATH": path, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    env.update({name: "1" for name in THREAD_VARS})
    return env


def spawn(spec: LaunchSpec, job: dict[str, Any], *, stdin: str | bytes | None = None) -> SandboxProcess:
    """Start a sandbox and hand it ``job`` (``mode``, ``argv`` / ``filename``, ``files`` already
    encoded); the limits, uid, working directory and cleanup strategy are filled in here.
    :class:`SandboxError` when the sandbox cannot start."""
    uid = fresh_uid() if spec.as_root else None
    program = spec.bwrap if spec.isolation == "bubblewrap" else spec.python
    workdir = None
    fds: dict[str, int] = {}
    child_ends: list[int] = []
    try:
        ctrl_in_r, fds["ctrl_in"] = os.pipe()
        fds["ctrl_out"], ctrl_out_w = os.pipe()
        fds["stdout"], out_w = os.pipe()
        fds["stderr"], err_w = os.pipe()
        child_ends += [ctrl_in_r, ctrl_out_w, out_w, err_w]
        pass_fds = [ctrl_in_r, ctrl_out_w]
        if spec.isolation == "bubblewrap":
            fds["info"], info_w = os.pipe()
            child_ends.append(info_w)
            pass_fds.append(info_w)
            env = child_env(WORKDIR, spec.python)
            argv = bwrap_command(spec.bwrap, launcher_files=current_launcher_files(spec.python), python=spec.python,
                                 readonly_paths=spec.readonly_paths,
                                 disk_bytes=int(spec.limits.disk_mb * 1024 * 1024), env=env,
                                 info_fd=info_w, ctrl_fds=(ctrl_in_r, ctrl_out_w), as_root=spec.as_root,
                                 as_pid_1=job["mode"] != "python", die_with_parent=job["mode"] != "session")
            cwd, popen_env, cleanup = None, {"PATH": "/usr/bin:/bin"}, "namespace"
        else:
            workdir = tempfile.mkdtemp(prefix="agentgym-sandbox-")
            if uid is not None:
                os.chown(workdir, uid, uid)
            env = child_env(workdir, spec.python)
            argv = launcher_argv(spec.python, os.path.dirname(LAUNCHER), (ctrl_in_r, ctrl_out_w))
            cwd, popen_env = workdir, env
            cleanup = "uid" if uid is not None else "descendants"
        stdin_fd: int | None = None
        if stdin is not None:
            stdin_fd = os.memfd_create("sandbox-stdin")
            child_ends.append(stdin_fd)
            os.write(stdin_fd, stdin.encode("utf-8", "surrogatepass") if isinstance(stdin, str) else bytes(stdin))
            os.lseek(stdin_fd, 0, os.SEEK_SET)
        popen = subprocess.Popen(argv, stdin=stdin_fd if stdin_fd is not None else subprocess.DEVNULL,
                                 stdout=out_w, stderr=err_w, pass_fds=pass_fds, cwd=cwd, env=popen_env,
                                 start_new_session=True, close_fds=True)
    except BaseException as error:
        for fd in [*fds.values(), *child_ends]:
            _close_fd(fd)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        if isinstance(error, OSError):
            raise SandboxError(f"could not start the sandbox ({program}): {error}") from error
        raise
    for fd in child_ends:
        _close_fd(fd)
    for name in ("stdout", "stderr", "ctrl_out", "info"):
        if name in fds:
            os.set_blocking(fds[name], False)
    fds["exit"] = os.pidfd_open(popen.pid)
    process = SandboxProcess(popen, fds=fds, workdir=workdir, uid=uid, spec=spec)
    if spec.isolation == "bubblewrap":
        init = namespace_init(fds["info"])
        if init is None:
            raise SandboxError(f"the sandbox did not start: {startup_failure(process)}")
        fds["init"] = init
    job = {**job, "limits": spec.limits.for_launcher(), "uid": uid, "cleanup": cleanup,
           "cwd": WORKDIR if workdir is None else workdir}
    try:
        sent = process.send(job)
    except BaseException:  # a job marshal refuses: nothing of the started sandbox may stay
        process.kill()
        process.close()
        raise
    if not sent:
        failure = startup_failure(process)
        raise SandboxError(f"the sandbox did not start: {failure}")
    return process


def startup_failure(process: SandboxProcess, timeout: float = 10.0, *, stderr: CappedOutput | None = None) -> str:
    """Close ``process`` and return what it said on stderr (bubblewrap's or Python's error);
    ``stderr``: where its stderr was read into so far."""
    stdout, stderr = CappedOutput(4096), stderr or CappedOutput(4096)
    process.pump(stdout, stderr, time.monotonic() + timeout, until_frame=False)
    frame = process.next_frame()
    status = process.close()
    said = (frame or {}).get("setup_error") or stderr.text().strip() or stdout.text().strip()
    return said or f"exit status {status}"
