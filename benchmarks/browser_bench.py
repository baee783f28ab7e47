"""Process and memory plumbing of the browser benchmarks that run agentgym against BrowserGym
(``bench_gui.py``, ``bench_web_miniwob.py``): their worker processes, the JSON-lines protocol
between a worker and the parent, and the readings of a side's processes (memory, CPU, leftovers).

Both benchmarks are run as scripts (``python benchmarks/bench_gui.py``), so Python puts this
folder first on ``sys.path`` and they ``import browser_bench``; their BrowserGym workers run the
same script in BrowserGym's own virtual environment, so this module imports nothing of agentgym
and imports psutil and numpy only inside the functions of the parent that read processes.

**The worker protocol.** A worker hosts environments and talks to the parent in JSON lines: its
messages on stdout, each line starting with the benchmark's ``prefix`` (so that stray prints of
the libraries it runs are passed over), the parent's on its stdin, one object a line:

    -> {"ready": {"reset_s": [...]}}   after every environment's first reset
    <- {...the window...}              when to step (each benchmark says it its own way)
    -> {"result": [...]}               after the window; the environments stay open
    <- {"close": true}
    -> {"closed": {"close_s": ...}}    then the worker exits.

Worker side: :func:`say`, :func:`hear`, :func:`serve_steppers` (the whole protocol around
environments that are ready), :func:`in_threads`, :func:`first_line`,
:func:`use_chromium_in_browsergym`.

Parent side: :class:`WorkerFleet` (start the workers of one side, gather a message from all of
them, tell them all, wait for them, kill them and their descendants, the tails of their logs);
:func:`process_tree`, :func:`memory_of` (PSS, RSS, processes by kind, and optionally
:func:`distinct_bytes`, the "own memory"), :func:`cpu_seconds`, :func:`still_running`;
:func:`default_browsergym_python` and :func:`make_browsergym_venv` for BrowserGym's virtual
environment.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

REPO = Path(__file__).resolve().parent.parent
#: BrowserGym pins an older Playwright than agentgym's, so it runs from a virtual environment of its own.
BROWSERGYM_VENV = REPO / ".venv" / "browsergym"
#: Process names are counted under the first of these they start with (others under their own name).
PROCESS_KINDS = ("chromium", "chrome", "headless_shell", "node", "python")


# ============================================================================ worker side
def say(prefix: str, message: dict[str, Any]) -> None:
    """Send ``message`` to the parent: one JSON line on stdout, after ``prefix``, flushed."""
    sys.stdout.write(prefix + json.dumps(message) + "\n")
    sys.stdout.flush()


def hear() -> dict[str, Any]:
    """The parent's next message (one JSON line on stdin); exits the worker if the parent went away."""
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("the parent went away")
    return json.loads(line)


def first_line(exc: BaseException) -> str:
    """The first line of ``str(exc)``, at most 200 characters ('' for an empty message)."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def in_threads(function: Callable[[Any], None], items: Iterable[Any]) -> None:
    """Call ``function(item)`` for every item at once, a thread each; return when all have
    returned. If any raised, the first exception raised (in time) is raised here, after all
    threads have ended."""
    errors: list[BaseException] = []

    def guarded(item: Any) -> None:
        try:
            function(item)
        except BaseException as exc:  # noqa: BLE001 - raised on the calling thread below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(item,), daemon=True) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def serve_steppers(steppers: list[Any], close: Callable[[], None], *, prefix: str,
                   run: Callable[[Any, dict[str, Any]], None], settle: Callable[[Any], None] | None = None,
                   threaded: bool = True) -> None:
    """The worker's side of the protocol, around steppers that have each been reset once.

    A stepper has ``reset_s`` (a list of reset seconds: the last one is reported as ready, then
    the list is cleared so that only the resets in the window count) and ``result()`` (a
    JSON-able dict). ``run(stepper, window)`` steps it through the parent's window message;
    ``settle(stepper)``, if given, runs after every stepper's window has ended. ``threaded``:
    the steppers run together, a thread each (``run`` for all, then ``settle`` for all);
    otherwise one after the other on this thread (Playwright's synchronous objects belong to
    the thread that made them). ``close()`` closes the environments when the parent says so;
    its time is reported.
    """
    say(prefix, {"ready": {"reset_s": [s.reset_s[-1] for s in steppers]}})
    window = hear()
    for s in steppers:
        s.reset_s.clear()
    if threaded:
        in_threads(lambda s: run(s, window), steppers)
        if settle is not None:
            in_threads(settle, steppers)
    else:
        for s in steppers:
            run(s, window)
            if settle is not None:
                settle(s)
    say(prefix, {"result": [s.result() for s in steppers]})
    hear()
    start = time.perf_counter()
    close()
    say(prefix, {"closed": {"close_s": time.perf_counter() - start}})


def use_chromium_in_browsergym(executable: str | None) -> None:
    """Make every browser BrowserGym launches (its environment's and its chat window's) run
    ``executable``: its Playwright is one process-wide synchronous instance, whose
    ``chromium.launch`` is given that ``executable_path``. Import in BrowserGym's environment only."""
    import functools

    from browsergym.core import _get_global_playwright

    playwright = _get_global_playwright()
    playwright.chromium.launch = functools.partial(playwright.chromium.launch, executable_path=executable)


# ============================================================================ parent side
class WorkerFleet:
    """The worker processes of one side (or configuration) of a benchmark, started at once.

    Each runs ``commands[i]`` with ``env``, its stdin and stdout piped (text, line-buffered) and
    its stderr written to ``log_dir/<label, spaces as _>-<i>.log``; ``prefix`` marks the lines of
    its stdout that are messages (see the module's protocol).
    """

    def __init__(self, label: str, commands: list[list[str]], env: dict[str, str], log_dir: Path, *,
                 prefix: str) -> None:
        self.label, self.prefix = label, prefix
        self.logs = [log_dir / f"{label.replace(' ', '_')}-{i}.log" for i in range(len(commands))]
        self.procs: list[subprocess.Popen] = []
        for command, log in zip(commands, self.logs):
            with open(log, "w") as stderr:  # the worker holds its own copy of the descriptor
                self.procs.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                   stderr=stderr, env=env, text=True, bufsize=1))

    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def gather(self, key: str, timeout: float) -> list[Any]:
        """The value under ``key`` of the first message carrying it from every worker, in the
        workers' order. Raises RuntimeError (with the tails of the logs) if a worker exits first
        or ``timeout`` seconds pass. A worker's lines after that message are left for later."""
        found: dict[int, Any] = {}
        selector = selectors.DefaultSelector()
        for i, proc in enumerate(self.procs):
            selector.register(proc.stdout, selectors.EVENT_READ, i)
        deadline = time.monotonic() + timeout
        try:
            while len(found) < len(self.procs):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{self.label}: workers did not send {key!r} within {timeout:.0f} s"
                                       + self.log_tail())
                for selected, _ in selector.select(min(left, 1.0)):
                    i = selected.data
                    line = self.procs[i].stdout.readline()
                    if not line:
                        raise RuntimeError(f"{self.label}: worker {i} exited before {key!r}" + self.log_tail(i))
                    if line.startswith(self.prefix):
                        message = json.loads(line[len(self.prefix):])
                        if key in message:
                            found[i] = message[key]
                            selector.unregister(self.procs[i].stdout)  # its next line is for later
        finally:
            selector.close()
        return [found[i] for i in range(len(self.procs))]

    def tell(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every worker."""
        for proc in self.procs:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()

    def finish(self, timeout: float = 60.0) -> None:
        """Wait for every worker to exit (after it said "closed"); kill one that takes longer than ``timeout`` s."""
        for proc in self.procs:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def kill(self) -> None:
        """Kill the workers and everything they started (after a failure), and reap the workers."""
        import psutil

        for victim in process_tree(self.pids()):
            try:
                victim.kill()
            except psutil.NoSuchProcess:
                pass
        for proc in self.procs:
            proc.wait()

    def log_tail(self, index: int | None = None) -> str:
        """The last 15 lines of worker ``index``'s log, or of the first two workers' logs, each
        under a ``--- <name>:`` line ('' where none can be read)."""
        logs = self.logs if index is None else [self.logs[index]]
        tails = []
        for log in logs[:2]:
            try:
                lines = log.read_text(errors="replace").strip().splitlines()[-15:]
            except OSError:
                continue
            tails.append(f"\n--- {log.name}:\n" + "\n".join(lines))
        return "".join(tails)


def process_tree(pids: list[int]) -> list[Any]:
    """psutil processes of ``pids`` and all their descendants (those that still exist)."""
    import psutil

    found = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            found.append(root)
            found.extend(root.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    return found


def pss_rss(proc: Any) -> tuple[int, int]:
    """(PSS, RSS) of a psutil process in bytes, from ``/proc/<pid>/smaps_rollup`` (one cheap
    read; psutil's ``memory_full_info`` parses every mapping of ``smaps``), else from psutil."""
    try:
        with open(f"/proc/{proc.pid}/smaps_rollup") as rollup:
            fields = dict(line.split(":", 1) for line in rollup if line[:4] in ("Pss:", "Rss:"))
        return int(fields["Pss"].split()[0]) * 1024, int(fields["Rss"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        info = proc.memory_full_info()
        return info.pss, info.rss


def distinct_bytes(processes: Iterable[Any]) -> int | None:
    """Bytes of the distinct physical pages that ``processes`` have resident, each page counted
    once however many of them map it (``/proc/<pid>/pagemap``; anonymous and file pages alike).

    This is what the processes' PSS would sum to if nothing else ran on the machine. PSS splits
    a shared page among *all* the processes that map it, so another program running the same
    Chromium binary (a test suite next door) takes part of its text pages off a side's PSS, and
    takes more off the side that runs fewer Chromium processes: the PSS ratio moves with the
    machine's load; this one does not. ``None`` where the page frame numbers cannot be read
    (they read as 0 without CAP_SYS_ADMIN).
    """
    import numpy as np
    import psutil

    present, frame = np.uint64(1 << 63), np.uint64((1 << 55) - 1)
    frames = []
    for proc in processes:
        try:
            regions = []
            with open(f"/proc/{proc.pid}/smaps") as smaps:
                start = end = 0
                for line in smaps:
                    head = line.split(" ", 1)[0]
                    if "-" in head and not head.endswith(":"):
                        low, high = head.split("-")
                        start, end = int(low, 16), int(high, 16)
                    elif head == "Rss:" and line.split()[1] != "0":
                        regions.append((start, end))
            with open(f"/proc/{proc.pid}/pagemap", "rb", buffering=0) as pagemap:
                for start, end in regions:
                    pagemap.seek(start // 4096 * 8)
                    entries = np.frombuffer(pagemap.read((end - start) // 4096 * 8), dtype=np.uint64)
                    frames.append(entries[(entries & present) != 0] & frame)
        except (OSError, ValueError, psutil.Error):
            continue  # gone meanwhile
    if not frames:
        return None
    every = np.concatenate(frames)
    if every.size and not every.any():
        return None
    return int(np.unique(every).size) * 4096


def memory_of(pids: list[int], *, distinct: bool = False) -> dict[str, Any]:
    """PSS and RSS (bytes, :func:`pss_rss`) summed over ``pids`` and all their descendants,
    under ``"pss"`` and ``"rss"``; a count of each kind of process (:data:`PROCESS_KINDS`) under
    ``"processes"`` and the PSS of each kind under ``"pss_by_kind"``; each process's (pid,
    creation time) under ``"seen"`` (for :func:`still_running`); and under ``"distinct"`` the
    :func:`distinct_bytes` of them all if ``distinct``, else None. Processes that exit during
    the reading are left out."""
    import psutil

    tree = process_tree(pids)
    pss = rss = 0
    kinds: dict[str, int] = {}
    pss_by_kind: dict[str, int] = {}
    seen: list[tuple[int, float]] = []
    for proc in tree:
        try:
            name = proc.name()
            seen.append((proc.pid, proc.create_time()))
            one_pss, one_rss = pss_rss(proc)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        pss += one_pss
        rss += one_rss
        kind = next((k for k in PROCESS_KINDS if name.startswith(k)), name)
        kinds[kind] = kinds.get(kind, 0) + 1
        pss_by_kind[kind] = pss_by_kind.get(kind, 0) + one_pss
    return {"pss": pss, "rss": rss, "processes": kinds, "pss_by_kind": pss_by_kind, "seen": seen,
            "distinct": distinct_bytes(tree) if distinct else None}


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by ``pids``, their descendants and the descendants they reaped
    (a browser that exited, a renderer of a closed context): the difference of two readings is
    the CPU the processes used between them."""
    import psutil

    total = 0.0
    for proc in process_tree(pids):
        try:
            times = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def still_running(seen: Iterable[tuple[int, float]]) -> int:
    """How many of the processes ``seen`` (pid, creation time) during the run still exist
    (a zombie, or another process that reused the pid, does not count)."""
    import psutil

    left = 0
    for pid, created in seen:
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                left += 1
        except psutil.NoSuchProcess:
            pass
    return left


def default_browsergym_python() -> str:
    """BrowserGym's interpreter: ``$AGENTGYM_BROWSERGYM_PYTHON``, else ``.venv/browsergym/bin/python``."""
    return os.environ.get("AGENTGYM_BROWSERGYM_PYTHON", str(BROWSERGYM_VENV / "bin" / "python"))


def make_browsergym_venv(python: str | Path, packages: list[str]) -> None:
    """Install ``packages`` (from the configured index) for the interpreter ``python``, first
    making its virtual environment (two folders above it) if it does not exist."""
    python = Path(python)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
