"""Exploratory round 15 of the sandbox: uncaught exceptions printed as the interpreter prints
them, exit statuses past 128, output printed before a stop, the launcher's byte-code removed
under a running host, file names no file system can hold."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil

import numpy
import pytest
from sandbox_helpers import SMALL

from agentgym.sandbox import Sandbox, SandboxLimits
from agentgym.sandbox import process as sandbox_process

# A program's own module named like one the launcher's traceback printing imports
TEXTWRAP = "def wrap(text, width=70):\n    return [text]\n"
# Infinite recursion under a raised recursion limit (competitive programmers' first line)
DEEP = "import sys\nsys.setrecursionlimit(100_000)\ndef down(n):\n    return down(n + 1)\ndown(0)"


def test_a_programs_module_named_like_the_standard_library_does_not_replace_its_traceback(sandbox):
    # the launcher imported traceback, which imported the program's textwrap.py: stderr was the
    # launcher's own AttributeError ("module 'textwrap' has no attribute 'indent'")
    result = sandbox.run_python("import textwrap\nprint(textwrap.wrap('a b'))\n1 / 0", files={"textwrap.py": TEXTWRAP})
    assert result.stdout == "['a b']\n"  # the program's own module, as `python main.py` imports it
    assert result.exit_code == 1
    assert result.stderr.startswith('Traceback (most recent call last):\n  File "main.py", line 3, in <module>\n')
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "launcher" not in result.stderr


def test_an_uncaught_deep_recursion_is_printed_as_python_prints_it(sandbox):
    # every one of the 100,000 entries was formatted: past the wall clock, the launcher's
    # MemoryError as stderr
    result = sandbox.run_python(DEEP)
    assert not result.timed_out and result.exit_code == 1, result.killed_reason
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "[Previous line repeated 997 more times]" in result.stderr  # the last 1,000 entries
    assert result.stderr.rstrip().endswith("RecursionError: maximum recursion depth exceeded")
    assert "launcher" not in result.stderr


def test_a_sessions_files_named_like_the_standard_library(sandbox, leaks):
    # the launcher imported ast, linecache and traceback with the session's folder on sys.path:
    # a token.py made the session fail to start (SandboxError: "cannot import name
    # 'EXACT_TOKEN_TYPES' from 'token'"), a textwrap.py ended the interpreter at the first
    # exception (state lost, the launcher's AttributeError as stderr)
    files = {"token.py": "NAME = 'mine'\n", "textwrap.py": TEXTWRAP}
    with sandbox.session(files=files) as session:
        imported = session.run("import token, textwrap\nprint(token.NAME, textwrap.wrap('a b'))")
        assert imported.stdout == "mine ['a b']\n"  # the session's own modules, as a program's
        failed = session.run("x = 41\n1 / 0")
        assert failed.exception == "ZeroDivisionError: division by zero" and not failed.state_lost
        assert failed.stderr.startswith("Traceback (most recent call last):\n")
        assert failed.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
        assert session.run("x + 1").stdout == "42\n" and session.restarts == 0
    leaks.assert_clean()


def test_a_deep_recursion_in_a_cell_fails_only_the_cell(sandbox, leaks):
    # every one of the 100,000 entries was formatted: the call ran past the wall clock and the
    # session restarted, every variable lost
    with sandbox.session() as session:
        session.run("x = 41")
        result = session.run(DEEP)
        assert not result.state_lost and not result.timed_out, result.killed_reason
        assert result.exception == "RecursionError: maximum recursion depth exceeded"
        assert "[Previous line repeated 997 more times]" in result.stderr  # the last 1,000, as Python prints
        assert session.run("x + 1").stdout == "42\n"
        # as the interpreter: sys.tracebacklimit entries (none when 0), the last ones
        entries = session.run("import sys\nsys.tracebacklimit = 2\n"
                              "def f(n):\n    return f(n - 1) if n else 1 / 0\nf(5)")
        assert entries.stderr.count('File "<cell') == 2 and "return f(n - 1) if n else 1 / 0\n" in entries.stderr
        assert entries.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
        assert session.run("sys.tracebacklimit = 0\nf(1)").stderr == "ZeroDivisionError: division by zero\n"
    leaks.assert_clean()


@pytest.mark.parametrize(("code", "status"), [("200", 200), ("-1", 255)])
def test_os_exit_past_128_is_an_exit_status_not_a_signal(sandbox, code, status):
    # bubblewrap reports signal N as exit status 128 + N: os._exit(200) came back exit_code -72,
    # "[stopped: terminated by signal 72]" (there are 64 signals), os._exit(-1) "signal 127"
    result = sandbox.run_python(f"import os\nos._exit({code})")
    assert result.exit_code == status and result.killed_reason is None
    assert result.for_agent() == f"[exit code {status}]"
    with sandbox.session() as session:
        ended = session.run(f"import os\nos._exit({code})")
        assert ended.state_lost and ended.killed_reason == f"the Python interpreter ended (exit status {status})"
    killed = sandbox.run_python("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)")
    assert killed.exit_code == -15 and killed.killed_reason == "terminated by SIGTERM"  # signals stay signals


@pytest.fixture
def launcher_copy(tmp_path, monkeypatch):
    """The launcher's source copied to ``tmp_path`` and used by the sandboxes of the test (the
    checkout's byte-code is shared with whoever else runs sandboxes from it)."""
    copy = tmp_path / "launcher.py"
    shutil.copy2(sandbox_process.LAUNCHER, copy)
    monkeypatch.setattr(sandbox_process, "LAUNCHER", str(copy))
    sandbox_process.launcher_files.cache_clear()
    yield str(copy)
    sandbox_process.launcher_files.cache_clear()  # the real launcher's again, once LAUNCHER is restored


def test_the_launchers_byte_code_removed_under_a_running_host(sandbox, launcher_copy, leaks):
    # the byte-code's path was found once per process: removed later (`make clean`, a
    # `find -name __pycache__ -delete`), every call raised SandboxError('did not start: bwrap:
    # Can't find source path .../launcher.cpython-311.pyc') for the rest of the process
    assert sandbox.run_python("print(6 * 7)").stdout == "42\n"
    byte_code = importlib.util.cache_from_source(launcher_copy)
    assert os.path.exists(byte_code)  # written for the first call, as for the checkout's
    os.remove(byte_code)
    assert sandbox.run_python("print(6 * 7)").stdout == "42\n"
    assert os.path.exists(byte_code)  # written again: later starts do not compile the launcher
    assert sandbox.run(["python", "-c", "print(7)"]).stdout == "7\n"
    with sandbox.session() as session:
        assert session.run("6 * 7").stdout == "42\n"
    leaks.assert_clean()


def test_what_a_program_printed_before_it_was_stopped_is_kept(leaks):
    # Python block-buffers a pipe: a program that printed, then hung, came back with no output
    # at all ('[stopped: wall-clock limit ...]' alone: the agent could not tell how far it got),
    # where a session's cell shows it; so did one that printed, then called os._exit
    box = Sandbox(dataclasses.replace(SMALL, wall_seconds=1))
    hung = box.run_python("print('started')\nimport time\ntime.sleep(30)")
    assert hung.timed_out and hung.stdout == "started\n"
    command = box.run(["python", "-c", "import os\nprint('started')\nos._exit(3)"])
    assert command.exit_code == 3 and command.stdout == "started\n"  # a command's Python, too
    ended = box.run_python("import os\nprint('started')\nos._exit(3)")
    assert ended.exit_code == 3 and ended.stdout == "started\n"
    leaks.assert_clean()


@pytest.mark.parametrize(("name", "match"), [
    ("a" * 256, "255 bytes"),                        # one name past NAME_MAX
    ("data/" + "é" * 128, "255 bytes"),              # 256 bytes of UTF-8 in 128 characters
    ("/".join(["d" * 200] * 21), "4,095 bytes"),     # every name short, the path past PATH_MAX
    ("a\ud800.txt", "file system"),                  # a lone surrogate: no bytes name it
])
def test_a_file_name_no_file_system_can_hold_is_refused_by_name(sandbox, name, match, leaks):
    # it was a SandboxError ("the sandbox's set-up failed: OSError: [Errno 36] File name too
    # long" / "UnicodeEncodeError") after a sandbox had been started, which says the sandbox
    # itself failed
    with pytest.raises(ValueError, match=match):
        sandbox.run_python("print(1)", files={name: "x"})
    with pytest.raises(ValueError, match=match):
        sandbox.run(["true"], files={name: "x"})
    with pytest.raises(ValueError, match=match):
        sandbox.session(files={name: "x"})
    leaks.assert_clean()


def test_file_names_a_file_system_can_hold_are_written(sandbox):
    longest, deep = "a" * 255, "/".join(["d" * 200] * 20)  # 255 bytes; 4,019 bytes in all
    program = f"import os\nprint(sorted(os.listdir('.')) == {sorted(['a' * 255, 'd' * 200, 'main.py', 'raw'])!r})\n"
    program += f"print(open({longest!r}).read(), open({deep!r}).read(), open(os.fsencode('raw/\\udcff'), 'rb').read())"
    result = sandbox.run_python(program, files={longest: "x", deep: "y", "raw/\udcff": b"z"})
    assert result.stderr == "" and result.stdout == "True\nx y b'z'\n"  # '\udcff': the byte 0xff, as os names it


def test_files_larger_than_the_sandboxs_tmp_are_refused_naming_disk_mb(sandbox, leaks):
    # it was a SandboxError ("the sandbox's set-up failed: OSError: [Errno 28] No space left on
    # device") after a sandbox had been started, which says the sandbox itself failed
    big = {"data.bin": bytes(SMALL.disk_mb * 1024 * 1024 + 1)}
    with pytest.raises(ValueError, match=r"disk_mb=64\b"):
        sandbox.run_python("print(1)", files=big)
    with pytest.raises(ValueError, match="disk_mb"):
        sandbox.run(["true"], files=big)
    with pytest.raises(ValueError, match="disk_mb"):
        sandbox.session(files=big)
    with pytest.raises(ValueError, match="disk_mb"):
        sandbox.run_python("#" * (SMALL.disk_mb * 1024 * 1024 + 1))  # the program is a file there too
    leaks.assert_clean()


def test_str_subclasses_are_taken_as_their_text(sandbox, leaks):
    # numpy.str_ (an array's file names, commands or code) is a str that marshal sent as its
    # UCS-4 buffer: echo ran as 'e\0\0\0c...' (the launcher's "embedded null character" as
    # the command's stderr), a cell's code was a SyntaxError, a file name a SandboxError; any
    # other str subclass raised "unmarshallable object" and left its sandbox running
    text = numpy.str_
    assert sandbox.run([text("echo"), text("hi")]).stdout == "hi\n"
    assert sandbox.run_python("print(open('a.txt').read())", files={text("a.txt"): text("x")}).stdout == "x\n"
    with sandbox.session(files={text("b.txt"): "y"}) as session:
        assert session.run(text("print(6 * 7)")).stdout == "42\n"
        assert session.run("print(open('b.txt').read())").stdout == "y\n"
    leaks.assert_clean()


def test_numpy_numbers_are_limits():
    # numpy.int64 (a grid of configurations, a value read back from an array) is no int:
    # "TypeError: SandboxLimits.memory_mb must be a number, got np.int64(256)"
    limits = SandboxLimits(cpu_seconds=numpy.float64(5), memory_mb=numpy.int64(256), processes=numpy.int32(32),
                           output_chars=numpy.int64(4_000), wall_seconds=numpy.float32(15))
    assert limits == SandboxLimits(cpu_seconds=5, memory_mb=256, processes=32, output_chars=4_000, wall_seconds=15)
    assert all(type(value) in (int, float) for value in dataclasses.asdict(limits).values())  # kept as Python's
    assert Sandbox(limits).run_python("print(6 * 7)").stdout == "42\n"
    with pytest.raises(TypeError, match="must be a number"):
        SandboxLimits(memory_mb=numpy.bool_(True))


def test_argv_given_as_an_iterator_is_the_command(sandbox):
    # map(str, parts) passed the checks, which used it up: the launcher ran an empty argv and
    # its IndexError came back as the command's stderr, exit status 1
    assert sandbox.run(map(str, ["echo", "hi"])).stdout == "hi\n"
    assert sandbox.run(part for part in ("echo", "there")).stdout == "there\n"
    assert sandbox.run(numpy.array(["echo", "array"])).stdout == "array\n"  # was 'truth value ... ambiguous'
    with pytest.raises(TypeError, match="non-empty"):
        sandbox.run(iter([]))


def test_a_program_that_deleted_its_excepthook_gets_pythons_message(sandbox):
    # the launcher read sys.excepthook and its own AttributeError came back as the stderr
    result = sandbox.run_python("import sys\ndel sys.excepthook\n1 / 0")
    assert result.exit_code == 1 and result.stderr.startswith("sys.excepthook is missing\nTraceback")
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero") and "launcher" not in result.stderr
    gone = sandbox.run_python("import sys\ndel sys.__excepthook__\n1 / 0")  # the hook itself left as it was
    assert gone.stderr.startswith("Traceback") and gone.stderr.rstrip().endswith("ZeroDivisionError: division by zero")


@pytest.mark.parametrize("replaced", ["sys.stderr = None", "sys.stderr = open('log.txt', 'w')\nsys.stderr.close()"])
def test_a_cell_that_replaced_sys_stderr_fails_alone(sandbox, replaced, leaks):
    # the launcher wrote the traceback to the code's sys.stderr: None (or a closed file) raised
    # inside the runner, which ended: 'the Python interpreter ended (exit status 1)', state lost
    with sandbox.session() as session:
        session.run("import sys\nx = 41")
        failed = session.run(f"{replaced}\n1 / 0")
        assert failed.exception == "ZeroDivisionError: division by zero" and not failed.state_lost
        assert failed.stderr.rstrip().endswith("ZeroDivisionError: division by zero")  # on the session's own stderr
        assert session.run("sys.exit('bye')").stderr == "bye\n"
        assert session.run("x = (").exception.startswith("SyntaxError")
        assert session.run("sys.stderr = sys.__stderr__\nx + 1").stdout == "42\n" and session.restarts == 0
    leaks.assert_clean()


def test_a_programs_exit_with_an_unprintable_message_is_its_own(sandbox):
    # sys.exit(E()) whose __str__ raises: the launcher's traceback (run_python_file, run_in_place)
    # came back as the program's stderr
    result = sandbox.run_python("class E:\n    def __str__(self):\n        raise ValueError('no text')\n"
                                "import sys\nsys.exit(E())")
    assert result.exit_code == 1 and result.stderr == "<exception str() failed>\n"  # as a session's cell says
