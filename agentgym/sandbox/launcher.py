"""The program that runs first inside every sandbox (standard library only, run as ``python -I -S -u``).

The host imports only :func:`process_table` from it (to find a sandbox's processes); it starts
``python -I -S -u -c "import launcher; launcher.main()" CTRL_IN CTRL_OUT`` (inside bubblewrap, or
directly in the weaker ``rlimits`` mode; imported so that its cached byte-code is used), with
two pipes. Every message is a frame: a 4-byte big-endian length, then
the body. On ``CTRL_IN`` the host sends one *job* (``marshal`` of a dict of plain values: fast
to load, and the host is trusted); for a persistent session it then sends one frame per code
cell. On ``CTRL_OUT`` the launcher answers with UTF-8 JSON written by :func:`to_json` (the host
parses what the sandbox says with ``json``, never ``marshal``). Nothing heavier than the
built-in modules plus ``resource`` and ``select`` is imported before the code runs, to keep a
one-shot start as fast as a plain interpreter's. The launcher:

1. reads the job; applies the resource limits to itself (they are inherited by everything it
   starts); when the host is root, drops to the job's unprivileged uid/gid (a fresh one per
   sandbox, so ``RLIMIT_NPROC`` counts this sandbox's processes only); in the ``rlimits`` mode
   also sets ``PR_SET_NO_NEW_PRIVS`` and makes itself a child subreaper;
2. writes the job's files into the working directory, as the sandbox user, then limits the
   size of the files written from then on (the code's, not these);
3. then, by ``mode``:

   * ``python`` under bubblewrap: runs the Python file in this process (no second interpreter
     start, no fork; see :func:`run_in_place`): answers ``{"running": true}`` before it runs,
     ``{"exit_code": n, "cpu_s": s}`` after (the program, in this process, can write frames
     too: the host does not take them on trust);
   * ``exec``, and ``python`` in the rlimits mode: forks; the child runs the command
     (``execvp``) or the Python file; the parent stays as the *monitor*: it waits for the
     child, or for ``CTRL_IN`` to reach end-of-file (the host is gone or gave up), answers
     ``{"exit_code": n}`` or ``{"signal": n}`` with the child's CPU seconds (after
     ``{"running": true}`` before it forks), and kills every
     process the program left behind before it exits. Under bubblewrap it is the pid
     namespace's init (``--as-pid-1``): the code cannot kill it, and its exit ends every
     process of the sandbox;
   * ``session``: answers ``{"ready": true}``, then executes each cell (``{"code": ...}``) with
     ``exec`` in one persistent namespace, like a notebook (a final expression's ``repr`` is
     printed), and answers ``{"cell": n, "exception": ..., ...}`` (``n`` counts the cells, so
     the host can skip frames the code wrote itself; the exception's text is capped like the
     output, see :data:`EXCEPTION_CHARS`). After each cell every process the cell
     started is killed. A watchdog thread kills everything and exits as soon as the host closes
     ``CTRL_IN``, even while a cell is running.

Python-level output of a cell (``print``, ``sys.stdout.write``) is capped here too, keeping
the head and the tail (so a huge print never kills the session); writes straight to the file
descriptors are capped by the host while it reads them.
"""

import builtins
import marshal
import os
import resource
import select
import _signal as signal  # the C module: "signal" would import enum (milliseconds at every start)
import sys
import time

HEADER_SIZE = 4
MAX_FRAME = 1 << 30
# A cell's exception text sent to the host: at most output_chars and this many characters (at
# most 12 bytes each in JSON), well under the host's limit on an answer (process.MAX_ANSWER).
EXCEPTION_CHARS = 20_000


# -- framing ---------------------------------------------------------------------------------

def read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    """The next (marshal) frame from the host on ``fd``, or None at end-of-file."""
    header = read_exact(fd, HEADER_SIZE)
    if header is None:
        return None
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME:
        raise ValueError(f"frame of {length} bytes")
    body = read_exact(fd, length)
    return None if body is None else marshal.loads(body)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def json_string(text):
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"' or char == "\\":
            out.append("\\" + char)
        elif 32 <= code < 127:
            out.append(char)
        elif code > 0xFFFF:
            code -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
        else:
            out.append("\\u%04x" % code)
    out.append('"')
    return "".join(out)


def to_json(value):
    """JSON text of None, bools, numbers, str, lists and dicts with str keys (all ASCII)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(int(value) if isinstance(value, int) else float(value))
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json_string(str(k)) + ":" + to_json(v) for k, v in value.items()) + "}"
    raise TypeError(f"cannot send {type(value).__name__}")


def write_frame(fd, message):
    body = to_json(message).encode("ascii")
    write_all(fd, len(body).to_bytes(HEADER_SIZE, "big") + body)


# -- limits, identity, files -------------------------------------------------------------------

def apply_limits(limits, mode):
    """Set the rlimits but the file size (:func:`limit_file_size`, once the job's files are
    written: it bounds what the code writes, not the caller's files). In a session the CPU
    limit is per cell (see ``Cells``), so only its hard value (unlimited) is set here;
    elsewhere a soft limit sends SIGXCPU and the hard one, a second later, SIGKILL."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name, key in (("RLIMIT_AS", "memory_bytes"), ("RLIMIT_NOFILE", "open_files"),
                      ("RLIMIT_NPROC", "processes")):
        value = limits[key]
        resource.setrlimit(getattr(resource, name), (value, value))
    if mode != "session":
        cpu = int(limits["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def limit_file_size(limits):
    value = limits["file_size_bytes"]
    resource.setrlimit(resource.RLIMIT_FSIZE, (value, value))


def prctl(option, arg):
    import ctypes  # only in the rlimits mode: bubblewrap already sets no-new-privs
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38


def drop_identity(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def write_files(files):
    """Write ``{relative name: bytes}`` under the working directory."""
    for name, data in files.items():
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or "" in parts:
            raise ValueError(f"file name {name!r} is not a plain relative path")
        folder = os.path.dirname(name)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(name, "wb") as handle:
            handle.write(data)


# -- cleanup -----------------------------------------------------------------------------------

def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def process_table():
    """(pid, parent pid, real uid) of every live process visible in /proc (zombies, which can
    do nothing and wait for their parent to reap them, are left out)."""
    table = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as handle:
                status = handle.read()
        except OSError:
            continue
        ppid = uid = None
        zombie = False
        for line in status.split(b"\n"):
            if line.startswith(b"State:"):
                zombie = line.split()[1] in (b"Z", b"X")
            elif line.startswith(b"PPid:"):
                ppid = int(line.split()[1])
            elif line.startswith(b"Uid:"):
                uid = int(line.split()[1])
                break
        if ppid is not None and uid is not None and not zombie:
            table.append((int(entry), ppid, uid))
    return table


def others(strategy):
    """The sandbox's processes other than the caller, for the ``uid`` and ``descendants``
    strategies (see :func:`kill_others`)."""
    me = os.getpid()
    table = process_table()
    if strategy == "uid":
        uid = os.getuid()
        return [pid for pid, _, owner in table if owner == uid and pid != me]
    children = {}
    for pid, ppid, _ in table:
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [me]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def kill_others(strategy):
    """Kill every process of this sandbox except the caller, and reap its own children.

    ``namespace`` (bubblewrap): ``kill(-1)`` reaches every process of the pid namespace but the
    caller and the namespace's init, and fails with ESRCH once there is no other. ``uid`` (the
    rlimits mode under root): every process of the sandbox's own fresh uid. ``descendants``
    (the rlimits mode as a normal user): the caller is a child subreaper, so orphans of its
    descendants are re-parented to it and stay in its tree. Repeated until nothing is left (a
    process may fork while it is being killed), a bounded number of times."""
    for _ in range(200):
        if strategy == "namespace":
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                break
        else:
            pids = others(strategy)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        reap()
        time.sleep(0.001)
    reap()


# -- one-shot: monitor and child ---------------------------------------------------------------

def exit_status(code):
    """The status the interpreter exits with on ``SystemExit(code)``, for an int or None code:
    0 for None, else the low 8 bits the kernel keeps (``-1`` is 255, ``256`` is 0), 255 for an
    int past a C long (the interpreter fails to convert it)."""
    if code is None:
        return 0
    if not -(1 << 63) <= code < 1 << 63:
        return 255
    return code & 0xFF


def main_namespace(**names):
    """The globals of a fresh ``__main__`` module that replaces the launcher's own in
    ``sys.modules``: what the code defines is found there by name, as pickle and multiprocessing
    look classes and functions up."""
    module = type(sys)("__main__")
    module.__dict__.update(__builtins__=builtins, **names)
    sys.modules["__main__"] = module
    return module.__dict__


def run_python_file(path, args):
    """Run ``path`` as ``__main__``, like ``python path args...``; return its exit status (an
    uncaught exception goes to the program's ``sys.excepthook`` when it set one, else it is
    printed as the interpreter prints it, see :func:`print_uncaught`; the status is then 1;
    ``SystemExit`` is interpreted like the interpreter does, see :func:`exit_status`)."""
    import site
    site.main()
    sys.path.insert(0, os.getcwd())
    sys.argv = [path, *args]
    with open(path, "rb") as handle:
        source = handle.read()
    namespace = main_namespace(__file__=os.path.abspath(path), __package__=None, __spec__=None,
                               __loader__=None, __cached__=None)
    try:
        code = compile(source, path, "exec")
        exec(code, namespace)
    except SystemExit as exit_request:
        status = exit_request.code
        if status is None or isinstance(status, int):
            return exit_status(status)
        sys.stderr.write(f"{as_text(status)}\n")  # its __str__ may raise: the code's, not the launcher's
        return 1
    except BaseException as error:  # noqa: BLE001 - reported like the interpreter does
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        error.__traceback__ = tb  # from the program on, also for a hook that reads it there
        hook = getattr(sys, "excepthook", print_uncaught)
        if hook is print_uncaught:  # deleted by the program
            sys.stderr.write("sys.excepthook is missing\n")  # as the interpreter says it
        elif hook is not INTERPRETER_EXCEPTHOOK:  # the program's own, as the interpreter calls it
            try:
                hook(type(error), error, tb)
                return 1
            except BaseException as hook_error:  # noqa: BLE001 - reported like the interpreter does
                hook_error.__traceback__ = hook_error.__traceback__.tb_next  # from the hook on
                if hook_error.__context__ is error:  # raised while this launcher handled it
                    hook_error.__context__ = None
                sys.stderr.write("Error in sys.excepthook:\n")
                print_uncaught(hook_error)
                sys.stderr.write("\nOriginal exception was:\n")
        print_uncaught(error)
        return 1
    return 0


# The interpreter's own printer of an uncaught exception, kept before any code runs
INTERPRETER_EXCEPTHOOK = sys.__excepthook__


def print_uncaught(error):
    """Print ``error`` to ``sys.stderr`` with the interpreter's own printer, as ``python main.py``
    does: it imports nothing the program's files could shadow (``traceback`` would import
    ``textwrap``, ``tokenize``, ... from the program's folder: its own ``textwrap.py`` made the
    launcher fail instead) and prints at most ``sys.tracebacklimit`` (1000) entries, the last
    ones, as it goes (``traceback.format_exception`` of a 100,000-deep recursion held every
    entry in memory and took longer than the wall clock)."""
    INTERPRETER_EXCEPTHOOK(type(error), error, error.__traceback__)


def child_main(job, ctrl_fds):
    for fd in ctrl_fds:
        os.close(fd)
    sys.modules.pop(__name__, None)  # the code may have a module called "launcher" of its own
    if job["mode"] == "exec":
        # Python ignores these two; a command gets the usual defaults (ignored stays ignored
        # across exec otherwise)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        argv = job["argv"]
        try:
            os.execvp(argv[0], argv)
        except OSError as error:
            os.write(2, f"cannot run {argv[0]!r}: {error.strerror}\n".encode())
            os._exit(127)
    # SIGXFSZ stays ignored here, as in every Python program: writes past the limit raise
    # OSError(EFBIG) instead of killing the process.
    raise SystemExit(run_python_file(job["filename"], job.get("args", [])))


def run_in_place(job, ctrl_in, ctrl_out):
    """Under bubblewrap, a one-shot Python program runs in the launcher itself (no fork: a
    forked child would pay copy-on-write faults on every page the interpreter touches), under
    bubblewrap's init (pid 1). No lifeline is watched: a one-shot call holds the host's thread
    until the sandbox is gone, so bubblewrap's ``--die-with-parent`` covers the host dying. The
    host ends the sandbox (SIGKILL to the pid namespace's init) once this process has exited,
    which also ends whatever the program left behind."""
    os.set_inheritable(ctrl_out, False)
    os.close(ctrl_in)
    # The program can write to ctrl_out too: the host believes a set-up error only before this
    # marker, and reads the report as the last well-formed one (see oneshot.launcher_report).
    write_frame(ctrl_out, {"running": True})
    sys.modules.pop(__name__, None)  # the code may have a module called "launcher" of its own
    status = run_python_file(job["filename"], job.get("args", []))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    try:
        write_frame(ctrl_out, {"exit_code": status, "cpu_s": cpu})
    except OSError:
        pass  # the code closed or replaced the descriptor: the host falls back on the exit status
    raise SystemExit(status)


def monitor(job, ctrl_in, ctrl_out):
    """Fork the program and supervise it (see the module docstring). Under bubblewrap this
    process is the pid namespace's init: the code cannot signal it, orphans are re-parented to
    it (so it reaps every child, woken by SIGCHLD), and when it exits the kernel kills whatever
    is left in the namespace."""
    write_frame(ctrl_out, {"running": True})  # the sandbox started (see oneshot.launcher_report)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w)
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.close(wake_r)
        os.close(wake_w)
        child_main(job, (ctrl_in, ctrl_out))  # returns (or raises SystemExit) into the normal exit
        return
    status = usage = None
    while status is None:
        ready, _, _ = select.select([ctrl_in, wake_r], [], [])
        if ctrl_in in ready:
            # the host closed the control pipe: it gave up on this sandbox, or died
            kill_others(job["cleanup"])
            os._exit(0)
        os.read(wake_r, 4096)
        while True:
            try:
                waited, raw, rusage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if waited == 0:
                break
            if waited == pid:
                status, usage = raw, rusage
    report = {"cpu_s": usage.ru_utime + usage.ru_stime}
    if os.WIFSIGNALED(status):
        report["signal"] = os.WTERMSIG(status)
    else:
        report["exit_code"] = os.WEXITSTATUS(status)
    kill_others(job["cleanup"])
    write_frame(ctrl_out, report)
    os._exit(0)


# -- session -----------------------------------------------------------------------------------

class CellStream:
    """What a program's ``sys.stdout`` (and its ``buffer``) answers besides writing, so that
    code wrapping or inspecting it (``io.TextIOWrapper(sys.stdout.buffer)``) works in a cell."""

    def flush(self):
        pass

    def fileno(self):
        return self.fd

    @property
    def name(self):
        return {1: "<stdout>", 2: "<stderr>"}.get(self.fd, self.fd)

    def isatty(self):
        return False

    def readable(self):
        return False

    def writable(self):
        return True

    def seekable(self):
        return False

    @property
    def closed(self):
        return False

    def close(self):
        pass


class CellOutput(CellStream):
    """A text stream for ``sys.stdout`` / ``sys.stderr`` in a session: it forwards the first
    ``head`` characters of each cell to ``fd`` at once, keeps the last ``tail`` characters
    after that in memory and writes them, after an omission marker, when the cell ends."""

    encoding = "utf-8"
    errors = "replace"
    newlines = None
    line_buffering = False
    write_through = True
    mode = "w"

    def __init__(self, fd, limit):
        self.fd = fd
        self.head = limit - limit // 4
        self.tail_limit = limit // 4
        self.buffer = CellBytes(self)
        self.reset()

    def reset(self):
        self.written = 0
        self.tail = ""
        self.omitted = 0

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.buffer.finish()  # bytes written before this text come first
        return self.write_text(text)

    def write_text(self, text):
        room = self.head - self.written
        if room > 0:
            part = text[:room]
            write_all(self.fd, part.encode("utf-8", "replace"))
            self.written += len(part)
            rest = text[room:]
        else:
            rest = text
        if rest:
            kept = self.tail + rest
            if len(kept) > self.tail_limit:
                self.omitted += len(kept) - self.tail_limit
                kept = kept[len(kept) - self.tail_limit:] if self.tail_limit else ""
            self.tail = kept
        return len(text)

    def end_cell(self):
        """Write the kept tail; return how many characters were left out."""
        self.buffer.finish()
        omitted = self.omitted
        if omitted:
            write_all(self.fd, f"\n[... {omitted:,} characters omitted ...]\n".encode())
        if self.tail:
            write_all(self.fd, self.tail.encode("utf-8", "replace"))
        self.reset()
        return omitted

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def reconfigure(self, **options):
        """Accepted, without effect: the host takes the output as UTF-8 text as it is written."""
        unknown = set(options) - {"encoding", "errors", "newline", "line_buffering", "write_through"}
        if unknown:
            raise TypeError(f"reconfigure() got an unexpected keyword argument {sorted(unknown)[0]!r}")


class CellBytes(CellStream):
    """``sys.stdout.buffer``: bytes through the same cap, decoded as UTF-8 (invalid bytes
    replaced) as they come: a character written in pieces is decoded whole, one never finished
    (text written after it, the cell's end) is one replacement character."""

    mode = "wb"

    def __init__(self, stream):
        import codecs
        self.stream = stream
        self.fd = stream.fd
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def write(self, data):
        data = memoryview(data).tobytes()  # a bytes-like object, as a binary stream takes
        self.stream.write_text(self.decoder.decode(data))
        return len(data)

    def finish(self):
        """Write the bytes of a character left unfinished."""
        if self.decoder.getstate()[0]:
            self.stream.write_text(self.decoder.decode(b"", True))

    def writelines(self, lines):
        for line in lines:
            self.write(line)


def capped(text, limit):
    """``text``, or, past ``limit`` characters, its head and tail around a marker (as
    :class:`CellOutput` cuts a cell's output)."""
    if len(text) <= limit:
        return text
    head, tail = limit - limit // 4, limit // 4
    return (f"{text[:head]} [... {len(text) - head - tail:,} characters omitted ...] "
            f"{text[len(text) - tail:]}")


def as_text(value):
    """``str(value)``, or ``<exception str() failed>`` (as a traceback says) when the code's
    ``__str__`` raises: what a cell raised must fail the cell, never the runner."""
    try:
        return str(value)
    except BaseException:  # noqa: BLE001 - the code's own __str__ (it may raise SystemExit too)
        return "<exception str() failed>"


def standard_modules(names, folder):
    """The standard library's modules ``names``, imported for the launcher's own use while the
    code's ``folder`` is not on ``sys.path`` yet: the code's files (a ``token.py``, a
    ``textwrap.py``) stood in for what they import, so a session did not start or ended at the
    first exception. Of the modules this imports, those a file in ``folder`` would shadow are
    then left out of ``sys.modules`` (the launcher keeps its references): the code's ``import
    token`` still finds its own ``token.py``, as ``python main.py`` would."""
    from importlib.machinery import PathFinder
    before = set(sys.modules)
    modules = [__import__(name) for name in names]
    for name in set(sys.modules) - before:
        if "." not in name and PathFinder.find_spec(name, [folder]) is not None:
            del sys.modules[name]
    return modules


def traceback_limit():
    """How many entries of a traceback the interpreter prints, the last ones: ``sys.tracebacklimit``
    when the code set it to an int (none when it is not positive), else 1000."""
    limit = getattr(sys, "tracebacklimit", 1000)
    return 1000 if type(limit) is not int else max(limit, 0)


def last_entries(tb, count):
    """The traceback ``tb`` from its last ``count`` entries on (None for none), found by following
    the chain: ``traceback`` works out every entry's position, which is slow for deep ones."""
    depth, entry = 0, tb
    while entry is not None:
        depth, entry = depth + 1, entry.tb_next
    for _ in range(depth - count):
        tb = tb.tb_next
    return tb


class CPUTimeExceeded(BaseException):
    """Raised in a cell when its CPU-time budget is spent (SIGXCPU)."""


class Cells:
    """The persistent namespace and how one cell runs in it."""

    def __init__(self, limits, stderr):
        # before the code's folder is on sys.path (see standard_modules)
        self.ast, self.linecache, self.traceback = standard_modules(("ast", "linecache", "traceback"),
                                                                    os.getcwd())
        self.cpu_seconds = limits["cpu_seconds"]
        self.stderr = stderr  # the session's own, for when the code's sys.stderr cannot take a report
        self.namespace = main_namespace()
        self.count = 0
        self.in_cell = False
        self.runner = os.getpid()
        signal.signal(signal.SIGXCPU, self.on_cpu_limit)

    def on_cpu_limit(self, signum, frame):
        if self.in_cell:
            raise CPUTimeExceeded(f"the CPU time limit of {self.cpu_seconds:g} s for one call was exceeded")

    def report(self, text):
        """Write ``text`` (a traceback, an exit message) to the cell's ``sys.stderr``, or, when the
        code replaced it with something that cannot take it (``None``, a closed file), to the
        session's own, as the interpreter falls back on its descriptor: the cell fails, never the
        interpreter (it ended, every variable lost)."""
        try:
            sys.stderr.write(text)
        except BaseException:  # noqa: BLE001 - the code's own stream
            self.stderr.write(text)

    def cpu_used(self):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def run(self, source):
        """Execute one cell; return the exception's text (None on success) and its kind."""
        self.count += 1
        filename = f"<cell {self.count}>"
        self.linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            tree = self.ast.parse(source, filename, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], self.ast.Expr):
                last = self.ast.Expression(tree.body.pop().value)
            body = compile(tree, filename, "exec")
            tail = compile(last, filename, "eval") if last is not None else None
        except SyntaxError as error:
            self.report("".join(self.traceback.format_exception_only(type(error), error)))
            return f"SyntaxError: {error.msg}", "exception", None
        except (ValueError, RecursionError, MemoryError) as error:
            # compile's other refusals: a lone surrogate (UnicodeEncodeError), nesting deeper
            # than the parser's stack, a source too big for the memory limit. The cell fails;
            # the interpreter and its variables live on.
            self.report("".join(self.traceback.format_exception_only(type(error), error)))
            return f"{type(error).__name__}: {error}", "exception", None
        start = self.cpu_used()
        resource.setrlimit(resource.RLIMIT_CPU, (int(start + self.cpu_seconds) + 1, resource.RLIM_INFINITY))
        self.in_cell = True
        try:
            exec(body, self.namespace)
            if tail is not None:
                value = eval(tail, self.namespace)
                if value is not None:
                    sys.stdout.write(repr(value) + "\n")
            return None, None, None
        except SystemExit as error:
            code = error.code  # the exit status it would give a program, as run_python_file
            if isinstance(code, (int, type(None))):
                return f"SystemExit: {code}", "exit", exit_status(code)
            self.report(f"{as_text(code)}\n")  # the message a program's exit prints
            return f"SystemExit: {as_text(code)}", "exit", 1
        except BaseException as error:  # noqa: BLE001 - shown to the agent
            self.in_cell = False
            tb = error.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
                tb = tb.tb_next
            # as the interpreter prints it: the last sys.tracebacklimit (1000) entries (every
            # entry of a 100,000-deep recursion took longer than the wall clock: state lost)
            count = traceback_limit()
            lines = self.traceback.format_exception(type(error), error, last_entries(tb, count), limit=-count)
            self.report("".join(lines))
            kind = "cpu" if isinstance(error, CPUTimeExceeded) else "exception"
            return f"{type(error).__name__}: {as_text(error)}", kind, None
        finally:
            self.in_cell = False
            if os.getpid() != self.runner:
                os._exit(0)  # a process the cell forked: it ends with the cell's code
            resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def watchdog(ctrl_in, strategy):
    """Kill everything and exit as soon as the host closes the control pipe."""
    poller = select.poll()
    poller.register(ctrl_in, 0)  # POLLHUP / POLLERR are always reported; POLLIN is not asked for
    while True:
        for _, event in poller.poll():
            if event & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                kill_others(strategy)
                os._exit(0)


def session(job, ctrl_in, ctrl_out):
    import _thread
    import site
    site.main()
    sys.modules.pop(__name__, None)  # the code may have a module called "launcher" of its own
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    limit = job["limits"]["output_chars"]
    out, err = CellOutput(1, limit), CellOutput(2, limit)
    sys.stdout = sys.__stdout__ = out
    sys.stderr = sys.__stderr__ = err
    sys.stdin = sys.__stdin__ = open(0, encoding="utf-8", closefd=False)
    sys.argv = [""]
    cells = Cells(job["limits"], err)
    sys.path.insert(0, os.getcwd())  # the code's folder: once the launcher has its own modules
    _thread.start_new_thread(watchdog, (ctrl_in, job["cleanup"]))
    runner = os.getpid()
    write_frame(ctrl_out, {"ready": True})
    while True:
        request = read_frame(ctrl_in)
        if request is None:
            kill_others(job["cleanup"])
            os._exit(0)
        exception, kind, exit_code = cells.run(request["code"])
        if exception is not None:  # a message of megabytes would make the answer garbage
            exception = capped(exception, min(limit, EXCEPTION_CHARS))
        if os.getpid() != runner:
            os._exit(0)  # a process the cell forked, returning from it: never speak for the runner
        kill_others(job["cleanup"])
        omitted = {"stdout": out.end_cell(), "stderr": err.end_cell()}
        write_frame(ctrl_out, {"cell": cells.count, "exception": exception, "kind": kind,
                               "exit_code": exit_code, "omitted": omitted})


# -- entry point -------------------------------------------------------------------------------

def main():
    ctrl_in, ctrl_out = int(sys.argv[-2]), int(sys.argv[-1])
    job = read_frame(ctrl_in)
    if job is None:
        os._exit(0)
    try:
        if job["cleanup"] == "descendants":
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            prctl(PR_SET_CHILD_SUBREAPER, 1)
        apply_limits(job["limits"], job["mode"])
        if job.get("uid") is not None:
            drop_identity(job["uid"])
        os.chdir(job["cwd"])
        write_files(job.get("files", {}))
        limit_file_size(job["limits"])
    except Exception as error:  # noqa: BLE001 - reported to the host, which raises SandboxError
        write_frame(ctrl_out, {"setup_error": f"{type(error).__name__}: {error}"})
        os._exit(1)
    if job["mode"] == "session":
        session(job, ctrl_in, ctrl_out)
    elif job["mode"] == "python" and job["cleanup"] == "namespace":
        run_in_place(job, ctrl_in, ctrl_out)
    else:
        monitor(job, ctrl_in, ctrl_out)


if __name__ == "__main__":
    main()
