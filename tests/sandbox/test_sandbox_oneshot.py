"""One-shot execution: a fresh sandboxed interpreter or command per call."""

from __future__ import annotations

import dataclasses
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sandbox_helpers import SMALL, as_root

from agentgym.sandbox import ExecutionResult, Sandbox, SandboxLimits
from agentgym.sandbox.sandbox import python_installation


def test_run_python_returns_output_and_exit_status(sandbox, leaks):
    result = sandbox.run_python("print(6 * 7)")
    assert isinstance(result, ExecutionResult)
    assert (result.stdout, result.stderr, result.exit_code) == ("42\n", "", 0)
    assert result.ok and not result.timed_out and result.killed_reason is None
    assert result.for_agent() == "42"
    assert 0 < result.duration_s < 10 and result.cpu_s is not None
    exited = sandbox.run_python("import sys\nprint('partial')\nsys.exit(3)")
    assert exited.exit_code == 3 and not exited.ok
    assert exited.for_agent() == "partial\n[exit code 3]"
    leaks.assert_clean()


def test_an_uncaught_exception_reads_like_python(sandbox):
    result = sandbox.run_python("def f():\n    return 1 / 0\n\nf()")
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert 'File "main.py", line 4, in <module>' in result.stderr
    assert "return 1 / 0" in result.stderr
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "launcher" not in result.stderr


def test_stdin_files_and_sibling_modules(sandbox):
    result = sandbox.run_python(
        "import helper, sys\nprint(helper.double(int(sys.stdin.read())))\n"
        "print(open('data/notes.txt').read(), open('raw.bin', 'rb').read())",
        files={"helper.py": "def double(x):\n    return 2 * x\n", "data/notes.txt": "ünïcode ✓",
               "raw.bin": b"\x00\x01"},
        stdin="21")
    assert result.stdout == "42\nünïcode ✓ b'\\x00\\x01'\n", result.for_agent()


def test_the_sandbox_view_of_the_machine(sandbox):
    result = sandbox.run_python(
        "import os, socket, sys\n"
        "print(os.getcwd(), os.environ['HOME'], socket.gethostname())\n"
        "print(os.getuid() == 0, os.getpid())\n"
        "print(sorted(os.listdir('/')))\n"
        "print(sorted(os.environ))\n"
        "import numpy\nprint(numpy.arange(3).sum())\n")
    lines = result.stdout.splitlines()
    assert lines[0] == "/tmp /tmp sandbox", result.for_agent()
    uid_is_root, pid = lines[1].split()
    if as_root():
        assert uid_is_root == "False"  # dropped to a fresh unprivileged uid
    assert int(pid) <= 3  # its own pid namespace
    system = {".sandbox", "bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"}
    # The Python installation is bound at its host path, wherever the checkout lives.
    installation = {path.split("/")[1] for path in python_installation(sys.executable)}
    assert set(eval(lines[2])) <= system | installation, (lines[2], installation)
    assert "PYTHONPATH" not in eval(lines[3]) and "PATH" in eval(lines[3])
    assert lines[4] == "3"  # the Python installation's packages are usable


def test_run_a_command_with_files(sandbox, leaks):
    echoed = sandbox.run(["sh", "-c", "cat input.txt; echo err >&2; exit 4"], files={"input.txt": "from file\n"})
    assert (echoed.stdout, echoed.stderr, echoed.exit_code) == ("from file\n", "err\n", 4)
    missing = sandbox.run(["no-such-command-here"])
    assert missing.exit_code == 127
    assert "cannot run 'no-such-command-here'" in missing.stderr
    leaks.assert_clean()


SOLUTION = "def add(a, b):\n    return a + b\n"
TESTS = "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def test_unit_tests_run_in_the_sandbox(sandbox):
    passing = sandbox.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_solution.py"],
                          files={"solution.py": SOLUTION, "test_solution.py": TESTS})
    assert passing.exit_code == 0, passing.for_agent()
    assert "1 passed" in passing.stdout
    failing = sandbox.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_solution.py"],
                          files={"solution.py": SOLUTION.replace("a + b", "a - b"), "test_solution.py": TESTS})
    assert failing.exit_code == 1
    assert "1 failed" in failing.stdout


def test_long_output_keeps_its_head_and_tail(sandbox):
    result = sandbox.run_python("for i in range(100_000):\n    print(f'line {i}')")
    assert result.exit_code == 0 and result.killed_reason is None  # capped, not stopped
    assert result.truncated
    assert result.stdout.startswith("line 0\nline 1\n")
    assert result.stdout.endswith("line 99999\n")
    assert "characters of output omitted ...]" in result.stdout
    assert len(result.stdout) <= SMALL.output_chars + 100


def test_file_size_and_disk_limits(sandbox):
    big_file = sandbox.run_python("open('big', 'wb').write(b'x' * (9 * 1024 * 1024))")
    assert big_file.exit_code == 1 and "File too large" in big_file.stderr
    assert "[the sandbox allows files of at most 8 MB]" in big_file.for_agent()
    full_disk = sandbox.run_python("for i in range(9):\n    open(f'part{i}', 'wb').write(b'x' * (8 * 1024 * 1024 - 1))")
    assert full_disk.exit_code == 1 and "No space left on device" in full_disk.stderr
    assert "[the sandbox's /tmp holds at most 64 MB]" in full_disk.for_agent()


def test_open_files_limit(sandbox):
    result = sandbox.run_python("handles = [open('/dev/null') for _ in range(1000)]")
    assert result.exit_code == 1 and "Too many open files" in result.stderr
    assert "[the sandbox allows 64 open files per process]" in result.for_agent()


def test_killed_by_a_signal_is_reported(sandbox):
    result = sandbox.run_python("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert result.exit_code == -11
    assert result.killed_reason == "terminated by SIGSEGV"


def test_bad_input_is_refused_clearly(sandbox):
    with pytest.raises(TypeError, match="argv must be a non-empty sequence of str"):
        sandbox.run("ls -l")
    with pytest.raises(TypeError, match="argv"):
        sandbox.run([])
    with pytest.raises(TypeError, match="code must be a str"):
        sandbox.run_python(None)
    with pytest.raises(ValueError, match="may not contain 'main.py'"):
        sandbox.run_python("pass", files={"main.py": "x"})
    for name in ("/etc/passwd", "../up.txt", "a//b", "a/./b", ""):
        with pytest.raises(ValueError, match="relative path"):
            sandbox.run_python("pass", files={name: "x"})
    with pytest.raises(TypeError, match="must be str or bytes"):
        sandbox.run_python("pass", files={"n.txt": 3})


def test_an_argument_no_command_line_can_hold_is_refused_before_the_sandbox_starts(sandbox):
    # execve cannot take a NUL byte or a lone surrogate: the launcher crashed inside the sandbox
    # and its traceback came back as the command's stderr, exit code 1.
    with pytest.raises(ValueError, match=r"argv\[2\] contains a NUL character"):
        sandbox.run(["python", "-c", "print(1)\x00"])
    with pytest.raises(ValueError, match=r"argv\[0\] contains a NUL character"):
        sandbox.run(["python\x00"])
    with pytest.raises(ValueError, match=r"argv\[3\] is not valid unicode text \(a lone surrogate"):
        sandbox.run(["python", "-c", "pass", "\ud800"])
    assert sandbox.run(["python", "-c", "import sys; print(sys.argv[1:])", "é", ""]).stdout == "['é', '']\n"


@pytest.mark.parametrize("field, value, error", [
    ("cpu_seconds", 0, ValueError), ("memory_mb", -1, ValueError), ("wall_seconds", float("inf"), ValueError),
    ("processes", "many", TypeError), ("output_chars", True, TypeError), ("memory_mb", 16, ValueError),
    ("cpu_seconds", 0.5, ValueError)])
def test_limits_are_validated(field, value, error):
    with pytest.raises(error, match=field):
        SandboxLimits(**{field: value})


def test_sandbox_arguments_are_validated(tmp_path):
    with pytest.raises(ValueError, match="isolation must be one of"):
        Sandbox(isolation="docker")
    with pytest.raises(TypeError, match="SandboxLimits"):
        Sandbox({"cpu_seconds": 1})
    with pytest.raises(ValueError, match="not an executable"):
        Sandbox(python=str(tmp_path / "python"))
    with pytest.raises(ValueError, match="whole host"):
        Sandbox(readonly_paths=["/"])
    with pytest.raises(ValueError, match="does not exist"):
        Sandbox(readonly_paths=[str(tmp_path / "missing")])


def test_readonly_paths_are_visible_and_read_only(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.txt").write_text("visible")
    sandbox = Sandbox(dataclasses.replace(SMALL), readonly_paths=[str(shared)])
    result = sandbox.run_python(
        f"print(open({str(shared / 'data.txt')!r}).read())\n"
        f"try:\n    open({str(shared / 'new.txt')!r}, 'w')\nexcept OSError as e:\n    print(e.strerror)")
    assert result.stdout == "visible\nRead-only file system\n", result.for_agent()
    assert sorted(p.name for p in shared.iterdir()) == ["data.txt"]


def test_calls_from_many_threads_at_once(sandbox, leaks):
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: sandbox.run_python(f"print({n} * {n})"), range(12)))
    assert [r.stdout for r in results] == [f"{n * n}\n" for n in range(12)]
    leaks.assert_clean()
