"""The escape suite: code that tries to get out of the sandbox or to hurt the host.

Each test runs real hostile code in a real bubblewrap sandbox and checks three things: it was
contained (what the code could do, seen from the host), the agent gets a clear message, and
nothing is left behind (no thread, descriptor or process of the test; no process of the
sandbox's uid anywhere on the machine: see ``conftest.LeakProbe``).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from sandbox_helpers import SMALL, as_root, processes_of

from agentgym.sandbox import Sandbox


def limited(**changes) -> Sandbox:
    return Sandbox(dataclasses.replace(SMALL, **changes))


@pytest.fixture
def loopback_server():
    """A TCP server listening on 127.0.0.1 (never accepting by itself): the sandbox must not
    reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


NETWORK_PROBE = """
import socket
def attempt(family, kind, address):
    s = socket.socket(family, kind)
    s.settimeout(2)
    try:
        s.connect(address)
        if kind == socket.SOCK_DGRAM:
            s.send(b"x")
        return "connected"
    except OSError as error:
        return type(error).__name__ + ": " + str(error)
    finally:
        s.close()
print("loopback:", attempt(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", {port})))
print("outside:", attempt(socket.AF_INET, socket.SOCK_STREAM, ("1.1.1.1", 443)))
print("udp:", attempt(socket.AF_INET, socket.SOCK_DGRAM, ("8.8.8.8", 53)))
try:
    socket.getaddrinfo("pypi.org", 443)
    print("dns: resolved")
except OSError as error:
    print("dns:", type(error).__name__)
import os
print("interfaces:", sorted(name for _, name in socket.if_nameindex()))
"""


def never_accepted(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


def test_network_is_unreachable(sandbox, loopback_server, leaks):
    port = loopback_server.getsockname()[1]
    # the probe can fail: from the host, the same connection succeeds
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    assert not never_accepted(loopback_server)

    result = sandbox.run_python(NETWORK_PROBE.format(port=port))
    assert result.exit_code == 0, result.for_agent()
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["loopback"].startswith("ConnectionRefusedError"), lines  # its own empty loopback
    assert "unreachable" in lines["outside"].lower(), lines
    assert "unreachable" in lines["udp"].lower(), lines
    assert lines["dns"] == "gaierror"
    assert lines["interfaces"] == "['lo']"
    assert never_accepted(loopback_server)
    leaks.assert_clean()


def test_network_is_unreachable_from_a_session(sandbox, loopback_server, leaks):
    port = loopback_server.getsockname()[1]
    with sandbox.session() as session:
        result = session.run(NETWORK_PROBE.format(port=port))
    assert "loopback: ConnectionRefusedError" in result.stdout, result.for_agent()
    assert never_accepted(loopback_server)
    leaks.assert_clean()


FILE_PROBE = """
import os, sys
def attempt(what, action):
    try:
        action()
        print(what, "ok")
    except OSError as error:
        print(what, type(error).__name__, error.strerror)
attempt("read-secret", lambda: open({secret!r}).read())
attempt("write-secret", lambda: open({secret!r}, "w").write("pwned"))
attempt("create-next-to-secret", lambda: open({sibling!r}, "w").write("pwned"))
attempt("read-home-secret", lambda: open({home_secret!r}).read())
attempt("write-home-secret", lambda: open({home_secret!r}, "a").write("pwned"))
attempt("write-python-prefix", lambda: open(os.path.join(sys.prefix, "pwned"), "w").write("x"))
attempt("write-usr", lambda: open("/usr/pwned", "w").write("x"))
attempt("read-shadow", lambda: open("/etc/shadow").read())
attempt("read-repository", lambda: open({repository_file!r}).read())
attempt("write-tmp", lambda: open("/tmp/mine.txt", "w").write("fine"))
"""


def test_files_outside_the_sandbox_are_absent_or_read_only(sandbox, tmp_path, leaks):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    home_dir = Path(os.path.expanduser("~")) / f"agentgym-sandbox-test-{os.getpid()}"
    home_dir.mkdir(exist_ok=True)
    home_secret = home_dir / "secret.txt"
    home_secret.write_text("home secret")
    repository_file = Path(__file__).resolve()
    try:
        code = FILE_PROBE.format(secret=str(secret), sibling=str(tmp_path / "dropped.txt"),
                                 home_secret=str(home_secret), repository_file=str(repository_file))
        result = sandbox.run_python(code)
        outcome = dict(line.split(" ", 1) for line in result.stdout.splitlines())
        assert result.exit_code == 0, result.for_agent()
        for what in ("read-secret", "write-secret", "create-next-to-secret", "read-home-secret",
                     "write-home-secret", "read-shadow", "read-repository"):
            assert outcome[what].startswith("FileNotFoundError"), (what, outcome[what])
        for what in ("write-python-prefix", "write-usr"):
            assert outcome[what] == "OSError Read-only file system", (what, outcome[what])
        assert outcome["write-tmp"] == "ok"
        # the host's files are untouched and nothing was created next to them
        assert secret.read_text() == "host secret"
        assert home_secret.read_text() == "home secret"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.txt"]
        assert not Path("/usr/pwned").exists()
    finally:
        home_secret.unlink()
        home_dir.rmdir()
    leaks.assert_clean()


FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


def sample_processes(uids: set[int], stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], len(processes_of(uids)))
        time.sleep(0.05)


def test_fork_bomb_is_contained(leaks):
    sandbox = limited(wall_seconds=3, processes=16)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=sample_processes, args=(leaks.uids, stop, peak))
    sampler.start()
    try:
        result = sandbox.run_python(FORK_BOMB)
    finally:
        stop.set()
        sampler.join()
    assert result.timed_out
    assert result.killed_reason.startswith("wall-clock limit of 3 s exceeded")
    assert "[stopped: wall-clock limit of 3 s exceeded; every process of the call was killed]" in result.for_agent()
    if as_root():  # each sandbox has its own uid: the count is the sandbox's own processes
        assert 0 < peak[0] <= 16 + 3, peak
    assert subprocess.run(["true"]).returncode == 0  # the host can still start processes
    leaks.assert_clean()


def test_shell_fork_bomb_is_contained(leaks):
    sandbox = limited(wall_seconds=2, processes=16)
    # The bomb's processes orphan themselves at once (each `:` returns after starting `:|:&`), so
    # a `wait` could return before any fork failed, and the command's end killed the bomb: the
    # shell stays until the wall clock, while the orphans hit the process limit.
    result = sandbox.run(["bash", "-c", ":(){ :|:& };:; sleep 30"])
    assert "fork: retry: Resource temporarily unavailable" in result.stderr, result
    assert result.timed_out and result.killed_reason.startswith("wall-clock limit of 2 s exceeded")
    assert "[the sandbox allows 16 processes and threads at once]" in result.for_agent()
    assert result.duration_s < 10
    assert subprocess.run(["true"]).returncode == 0
    leaks.assert_clean()


@pytest.mark.parametrize("code", [
    "x = bytearray(8 * 1024 ** 3)",
    "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 ** 2))",
])
def test_memory_bomb_fails_inside_the_sandbox(sandbox, code, leaks):
    result = sandbox.run_python(code)
    assert result.exit_code == 1
    assert "MemoryError" in result.stderr
    assert "MemoryError: the sandbox allows 256 MB of memory per process" in result.notes
    assert "[MemoryError: the sandbox allows 256 MB of memory per process]" in result.for_agent()
    leaks.assert_clean()


def test_memory_bomb_in_a_session_leaves_the_session_usable(sandbox, leaks):
    with sandbox.session() as session:
        session.run("kept = 'still here'")
        result = session.run("hog = []\nwhile True:\n    hog.append(bytearray(16 * 1024 ** 2))")
        assert result.exception == "MemoryError: "
        del_result = session.run("del hog\nprint(kept)")
        assert del_result.stdout == "still here\n", del_result.for_agent()
    leaks.assert_clean()


def test_infinite_loop_is_stopped_by_the_cpu_limit(leaks):
    sandbox = limited(cpu_seconds=1, wall_seconds=30)
    result = sandbox.run_python("while True:\n    pass")
    assert result.exit_code == -signal.SIGXCPU
    assert result.killed_reason == "CPU time limit of 1 s exceeded"
    assert not result.timed_out
    assert result.duration_s >= 0.9  # it did spend its CPU second (the kernel counts in ticks)
    assert "[stopped: CPU time limit of 1 s exceeded]" in result.for_agent()
    leaks.assert_clean()


def test_infinite_loop_in_a_session_raises_in_the_cell_and_keeps_the_state(leaks):
    sandbox = limited(cpu_seconds=1, wall_seconds=30)
    with sandbox.session() as session:
        session.run("x = 41")
        result = session.run("while True:\n    pass")
        assert result.killed_reason == "CPU time limit of 1 s for one call exceeded"
        assert result.exception.startswith("CPUTimeExceeded")
        assert not result.state_lost
        assert session.run("print(x + 1)").stdout == "42\n"
        assert session.restarts == 0
    leaks.assert_clean()


def test_sleeping_past_the_timeout_is_killed(leaks):
    sandbox = limited(wall_seconds=1)
    result = sandbox.run_python("import time\nprint('going to sleep', flush=True)\ntime.sleep(300)")
    assert result.timed_out
    assert result.exit_code is None
    assert result.stdout == "going to sleep\n"
    assert 1.0 <= result.duration_s < 6
    assert result.killed_reason == "wall-clock limit of 1 s exceeded; every process of the call was killed"
    leaks.assert_clean()


GIGABYTES = """
import sys
chunk = "x" * (1 << 20)
for _ in range(4 * 1024):  # 4 GiB
    sys.stdout.write(chunk)
"""


def test_gigabytes_of_output_are_cut_off(sandbox, leaks):
    result = sandbox.run_python(GIGABYTES)
    assert result.killed_reason.startswith("output limit: more than 8 MB written to stdout and stderr")
    assert result.truncated
    assert len(result.stdout) <= SMALL.output_chars + 100
    assert "characters of output omitted" in result.stdout
    assert result.duration_s < 10
    leaks.assert_clean()


def test_gigabytes_of_output_from_a_subprocess_are_cut_off(sandbox, leaks):
    result = sandbox.run(["bash", "-c", "yes 'flood' >&2"])
    assert result.killed_reason.startswith("output limit")
    assert len(result.stderr) <= SMALL.output_chars + 100
    leaks.assert_clean()


def test_a_huge_print_in_a_session_is_capped_without_killing_it(sandbox, leaks):
    with sandbox.session() as session:
        session.run("x = 1")
        result = session.run("print('a' * 3000 + 'b' * 50_000_000 + 'END')")
        assert result.truncated and not result.state_lost
        assert result.stdout.startswith("a" * 3000)
        assert result.stdout.rstrip("\n").endswith("b" * 100 + "END")
        assert "characters omitted" in result.stdout
        assert len(result.stdout) <= SMALL.output_chars + 200
        assert session.run("print(x)").stdout == "1\n"
    leaks.assert_clean()


def test_a_file_descriptor_flood_in_a_session_kills_and_restarts_it(sandbox, leaks):
    with sandbox.session() as session:
        session.run("x = 1")
        result = session.run("import os\nwhile True:\n    os.write(1, b'z' * 65536)")
        assert result.killed_reason.startswith("output limit")
        assert result.state_lost
        assert "every variable, import and function defined before this call is lost" in result.for_agent()
        assert session.run("print('x' in globals())").stdout == "False\n"
        assert session.restarts == 1
    leaks.assert_clean()


OUTLIVE = """
import os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
if os.fork() == 0:             # a daemon: new session, double fork, parent gone
    os.setsid()
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
print("left", child.pid, "behind")
"""


def test_a_child_process_does_not_outlive_the_call(sandbox, leaks):
    result = sandbox.run_python(OUTLIVE)
    assert result.exit_code == 0, result.for_agent()
    assert result.stdout.startswith("left")
    assert result.duration_s < 10
    leaks.assert_clean()


def test_a_child_process_does_not_outlive_a_session_call(sandbox, leaks):
    with sandbox.session() as session:
        first = session.run(OUTLIVE.replace("print(\"left\", child.pid, \"behind\")", "pid = child.pid"))
        assert first.ok, first.for_agent()
        second = session.run("import os\ntry:\n    os.kill(pid, 0)\n    print('alive')\n"
                             "except ProcessLookupError:\n    print('gone')\n"
                             "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
        assert second.stdout.splitlines()[0] == "gone", second.for_agent()
        assert second.stdout.splitlines()[1] == "[1]"  # the interpreter, the namespace's init, alone
    leaks.assert_clean()


SIGNALS = """
import os, signal, subprocess, time
def attempt(name, pid):
    try:
        os.kill(pid, signal.SIGKILL)
        print(name, "sent", flush=True)
    except OSError as error:
        print(name, type(error).__name__, flush=True)
attempt("host", {host_pid})
attempt("host-neighbour", {neighbour_pid})
print("parent is", os.getppid(), flush=True)
attempt("parent", os.getppid())
sibling = subprocess.Popen(["sleep", "300"])
attempt("everything", -1)
print("sibling", "killed" if sibling.wait() == -signal.SIGKILL else "alive", flush=True)
time.sleep(300)
print("slept", flush=True)
"""


def test_signalling_the_parent_is_contained(leaks):
    sandbox = limited(wall_seconds=3)
    host_parent = os.getppid()
    # A host process outside the test's ancestry. (The host's parent is not a target: a test
    # run reparented to the host's init has parent pid 1, which inside is the sandbox's init.)
    neighbour = subprocess.Popen(["sleep", "300"])
    try:
        assert neighbour.pid > 64, "a host pid that the sandbox's own few pids could share"
        result = sandbox.run_python(SIGNALS.format(host_pid=os.getpid(), neighbour_pid=neighbour.pid))
        lines = result.stdout.splitlines()
        # the host's pids do not exist in the sandbox's pid namespace
        assert lines[0] == "host ProcessLookupError", lines
        assert lines[1] == "host-neighbour ProcessLookupError", lines
        # its parent is the sandbox's pid-namespace init: root's (refused) or the kernel ignores it
        assert lines[2] == "parent is 1", lines
        assert lines[3] == ("parent PermissionError" if as_root() else "parent sent"), lines
        # kill(-1) reaches the sandbox's own processes only; the program carries on
        assert lines[4:6] == ["everything sent", "sibling killed"], lines
        # ... until the host, still in charge, stops it at the wall-clock limit
        assert "slept" not in lines
        assert result.timed_out and result.killed_reason.startswith("wall-clock limit of 3 s exceeded")
        # the host process, its parent and the neighbour are untouched
        os.kill(os.getpid(), 0)
        os.kill(host_parent, 0)
        assert neighbour.poll() is None, "the sandbox killed a host process"
    finally:
        neighbour.kill()
        neighbour.wait()
    leaks.assert_clean()


def test_signalling_from_a_session_is_contained(sandbox, leaks):
    with sandbox.session() as session:
        session.run("x = 1")
        attempts = session.run("import os, signal\nprint(os.getpid(), os.getppid())\n"
                               "os.kill(os.getpid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)\n"
                               "print('alive')")
        # the interpreter is the namespace's init: signals from inside cannot kill it
        assert attempts.stdout == "1 0\nalive\n", attempts.for_agent()
        assert session.run("print(x)").stdout == "1\n"
        ended = session.run("import os\nos._exit(3)")
        assert ended.state_lost
        assert ended.killed_reason == "the Python interpreter ended (exit status 3)"
        assert "[the Python session was restarted: every variable" in ended.for_agent()
        assert session.run("print('x' in globals())").stdout == "False\n"
    leaks.assert_clean()


HOST = """
import sys
from agentgym.sandbox import Sandbox, SandboxLimits
sandbox = Sandbox(SandboxLimits(wall_seconds=300, cpu_seconds=300))
marker = sys.argv[2]
if sys.argv[1] == "command":
    print("ready", flush=True)
    sandbox.run(["sleep", marker])
elif sys.argv[1] == "python":
    print("ready", flush=True)
    sandbox.run_python(f"import subprocess\\nsubprocess.run(['sleep', '{marker}'])")
else:
    session = sandbox.session()
    print("ready", flush=True)
    session.run(f"import subprocess\\nsubprocess.run(['sleep', '{marker}'])")
"""


def sleepers(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if process.info["cmdline"] == ["sleep", marker]:
            found.append(process)
    return found


@pytest.mark.parametrize("mode", ["command", "python", "session"])
def test_a_host_killed_mid_call_takes_its_sandbox_with_it(mode, tmp_path):
    marker = str(900_000 + os.getpid() % 1000 * 10 + ["command", "python", "session"].index(mode))
    script = tmp_path / "host.py"
    script.write_text(HOST)
    host = subprocess.Popen([sys.executable, str(script), mode, marker], stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 20
        while not sleepers(marker):
            assert time.monotonic() < deadline, "the sandboxed sleep never started"
            time.sleep(0.05)
        host.kill()  # SIGKILL: no cleanup code of the host runs
        host.wait()
        deadline = time.monotonic() + 10
        while sleepers(marker):
            assert time.monotonic() < deadline, "the sandbox outlived the host process"
            time.sleep(0.05)
    finally:
        host.kill()
        host.wait()
        host.stdout.close()
