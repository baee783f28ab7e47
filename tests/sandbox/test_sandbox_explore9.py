"""Exploratory round 9 of the sandbox: what the code's exit status, output and errors become."""

from __future__ import annotations

import dataclasses
import os
import resource
import sys
import time

import pytest
from sandbox_helpers import SMALL

from agentgym.sandbox import Sandbox, SandboxError, SandboxLimits
from agentgym.sandbox.capture import CappedOutput

# What ``python main.py`` exits with for ``sys.exit(code)``: the low 8 bits of an int, 255 for
# one past a C long.
EXIT_STATUSES = [("-1", 255), ("256", 0), ("257", 1), ("-256", 0), ("2**100", 255)]


@pytest.mark.parametrize(("code", "status"), EXIT_STATUSES)
def test_a_programs_exit_status_is_what_the_interpreter_would_give(sandbox, code, status):
    result = sandbox.run_python(f"import sys\nsys.exit({code})")
    assert result.exit_code == status
    assert "signal" not in result.for_agent()  # -1 read as "terminated by signal 1"
    plain = sandbox.run([sys.executable, "-c", f"import sys; sys.exit({code})"])
    assert plain.exit_code == status  # the same program as a command


def test_a_cells_exit_status_is_what_a_program_would_give(sandbox, leaks):
    with sandbox.session() as session:
        for code, status in EXIT_STATUSES:
            result = session.run(f"import sys\nsys.exit({code})")
            assert result.exit_code == status, code
            assert "signal" not in result.for_agent()
    leaks.assert_clean()


def test_a_cells_exit_is_told_to_the_agent_as_a_programs_is(sandbox, leaks):
    with sandbox.session() as session:
        status = session.run("import sys\nsys.exit(3)")
        assert status.exit_code == 3 and "[exit code 3]" in status.for_agent()  # was '[no output]'
        message = session.run("raise SystemExit('giving up')")
        assert message.exit_code == 1 and message.stderr == "giving up\n"
        assert message.for_agent() == "[stderr]\ngiving up\n[exit code 1]"
        assert session.run("sys.exit()").for_agent() == "[no output]"
    program = sandbox.run_python("raise SystemExit('giving up')")
    assert program.for_agent() == "[stderr]\ngiving up\n[exit code 1]"  # what a cell now says too
    leaks.assert_clean()


def test_output_chars_counts_characters_not_bytes(sandbox, leaks):
    # 3,000 characters, 9,000 bytes of UTF-8: under SMALL.output_chars (4,000), kept whole
    text = "界" * 2_999 + "!"
    assert sandbox.run_python(f"print({text!r})").stdout == text + "\n"  # 1,375 characters were kept
    with sandbox.session() as session:
        result = session.run(f"print({text!r})")
        assert result.stdout == text + "\n" and not result.truncated  # cut by the host, with a '\ufffd'
        long = session.run("print('界' * 10_000)")  # the launcher's cap alone, its marker in characters
        assert long.stdout.count("omitted") == 1 and "\ufffd" not in long.stdout
    leaks.assert_clean()


def test_the_cap_keeps_characters_whole_and_says_how_many_it_left_out(sandbox):
    result = sandbox.run_python("import sys\nsys.stdout.buffer.write('é'.encode() * 10_000)")
    assert result.truncated and "\ufffd" not in result.stdout
    kept = result.stdout.replace("é", "")
    assert kept == f"\n[... {10_000 - SMALL.output_chars:,} characters of output omitted ...]\n"
    assert sandbox.run_python("import sys\nsys.stdout.buffer.write(b'ok \\xff')").stdout == "ok \ufffd"


def test_a_character_split_between_two_reads_is_decoded_whole():
    capture = CappedOutput(8)
    for byte in "añ界😀b".encode():
        capture.feed(bytes([byte]))
    assert capture.text() == "añ界😀b" and capture.total == 11
    cut = CappedOutput(8)
    cut.feed("a界".encode()[:-1])  # the stream ends inside a character: one replacement character
    assert cut.text() == "a\ufffd"


def test_bytes_a_cell_writes_in_pieces_are_decoded_whole(sandbox, leaks):
    with sandbox.session() as session:
        pieces = session.run("import sys\ndata = 'añ界😀'.encode()\n"
                             "for i in range(len(data)):\n    sys.stdout.buffer.write(data[i:i + 1])")
        assert pieces.stdout == "añ界😀"  # each byte was decoded alone: '\ufffd' * 9
        cut = session.run("sys.stdout.buffer.write('界'.encode()[:2])\nprint('next', end='')")
        assert cut.stdout == "\ufffdnext"  # a character never finished is one replacement
        assert session.run("sys.stdout.buffer.write(b'x\\xff')\nNone").stdout == "x\ufffd"
    leaks.assert_clean()


@pytest.mark.parametrize("files", [{"pkg": "x = 1", "pkg/mod.py": "y = 2"},
                                   {"data/a/b.txt": "deep", "data/a": "also a file"}])
def test_a_file_that_is_also_a_folder_of_another_is_refused_by_name(sandbox, files, leaks):
    # it was a SandboxError ("the sandbox's set-up failed: FileExistsError/NotADirectoryError")
    # after a sandbox had been started, which says the sandbox itself failed
    with pytest.raises(ValueError, match="is also a folder"):
        sandbox.run_python("print(1)", files=files)
    with pytest.raises(ValueError, match="is also a folder"):
        sandbox.session(files=files)
    leaks.assert_clean()


UNPRINTABLE = "class Unprintable:\n    def __str__(self):\n        raise ValueError('no text')\n"


@pytest.mark.parametrize("raising", ["class E(Exception):\n    __str__ = Unprintable.__str__\nraise E()",
                                     "raise SystemExit(Unprintable())"])
def test_an_exception_that_cannot_be_printed_fails_only_its_cell(sandbox, raising, leaks):
    # it ended the interpreter ("the Python interpreter ended (exit status 1)", every variable
    # lost) with the launcher's own traceback in stderr
    with sandbox.session() as session:
        session.run("x = 41\n" + UNPRINTABLE)
        result = session.run(raising)
        assert not result.state_lost and result.exit_code == 1
        assert result.exception.endswith(": <exception str() failed>")
        assert "launcher" not in result.stderr
        assert session.run("x + 1").stdout == "42\n" and session.restarts == 0
    leaks.assert_clean()


def test_a_huge_exception_message_is_capped_like_output(sandbox, leaks):
    # a 2 MB message made the answer frame too long: the session restarted, "the code wrote to
    # the session's control pipe"; a 300 kB one came back whole in result.exception
    with sandbox.session() as session:
        session.run("x = 1")
        for size in (300_000, 2_000_000):
            result = session.run(f"raise ValueError('a' * {size} + 'END')")
            assert not result.state_lost and result.exit_code == 1
            assert result.exception.startswith("ValueError: aaa") and result.exception.endswith("aaaEND")
            assert len(result.exception) <= SMALL.output_chars + 100
            assert "characters omitted" in result.exception
        assert session.run("x").stdout == "1\n" and session.restarts == 0
    leaks.assert_clean()


def test_a_limit_past_what_this_machine_allows_is_refused_when_the_sandbox_is_made(leaks):
    # every call raised SandboxError("the sandbox's set-up failed: ValueError: not allowed to
    # raise maximum limit" / "OverflowError: Python int too large to convert to C long"),
    # naming no limit; open_files=65536 (a usual `ulimit -n`) did so on hosts allowing 20,000
    hard_files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with pytest.raises(ValueError, match=r"SandboxLimits\.open_files.*RLIMIT_NOFILE"):
        Sandbox(dataclasses.replace(SMALL, open_files=hard_files + 1))
    for name, value in (("cpu_seconds", 1e30), ("memory_mb", 10**13), ("file_size_mb", 10**13),
                        ("disk_mb", 10**13)):
        with pytest.raises(ValueError, match=rf"SandboxLimits\.{name}"):
            Sandbox(dataclasses.replace(SMALL, **{name: value}))
    fits = Sandbox(dataclasses.replace(SMALL, open_files=hard_files))
    assert fits.run_python("import resource\nprint(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
                           ).stdout == f"{hard_files}\n"
    leaks.assert_clean()


MAIN_MODULE = """
import pickle, sys
class Point:
    def __init__(self, x):
        self.x = x
def square(v):
    return v * v
print(pickle.loads(pickle.dumps(Point(3))).x, sys.modules['__main__'].square is square)
"""


def test_the_programs_namespace_is_the_main_module(sandbox, leaks):
    # sys.modules['__main__'] was the launcher's own: pickling a class or function the program
    # defined failed ("attribute lookup Point on __main__ failed"), and so did
    # multiprocessing.Pool().map(square, ...), which works under `python main.py`
    program = sandbox.run_python(MAIN_MODULE + "if __name__ == '__main__':\n    from multiprocessing import Pool\n"
                                 "    with Pool(2) as pool:\n        print(pool.map(square, range(4)))")
    assert program.stdout == "3 True\n[0, 1, 4, 9]\n", program.stderr
    with sandbox.session() as session:
        assert session.run(MAIN_MODULE).stdout == "3 True\n"
        assert session.run("pickle.loads(pickle.dumps(square))(7)").stdout == "49\n"  # the next cell too
    leaks.assert_clean()


@pytest.mark.parametrize("stdin", [5, 3.0, ["a"], {"a": 1}, True])
def test_stdin_that_is_not_text_or_bytes_is_a_type_error(sandbox, stdin, leaks):
    # 5 was bytes(5): the program read five NUL bytes (10**10 would have allocated 10 GB);
    # a list failed inside spawn with "'str' object cannot be interpreted as an integer"
    with pytest.raises(TypeError, match="stdin must be str or bytes"):
        sandbox.run_python("import sys\nprint(len(sys.stdin.buffer.read()))", stdin=stdin)
    with pytest.raises(TypeError, match="stdin must be str or bytes"):
        sandbox.run(["cat"], stdin=stdin)
    assert sandbox.run(["cat"], stdin=bytearray(b"ok")).stdout == "ok"
    leaks.assert_clean()


@pytest.mark.parametrize("code", [
    "sys.stdout.reconfigure(encoding='utf-8', line_buffering=True)\nprint('ok')",
    "wrapper = io.TextIOWrapper(sys.stdout.buffer, encoding='utf-8')\nwrapper.write('ok\\n')\nwrapper.flush()",
    "sys.stdout.buffer.writelines([b'o', b'k\\n'])",
    "print('ok' if sys.stdout.name == '<stdout>' and sys.stdout.buffer.writable() else 'no')",
])
def test_a_cells_stdout_takes_what_a_programs_does(sandbox, code, leaks):
    # AttributeError: 'CellOutput' object has no attribute 'reconfigure' / 'name', 'CellBytes'
    # object has no attribute 'readable' / 'writelines': the same code runs as a program
    assert sandbox.run_python("import io, sys\n" + code).stdout == "ok\n"
    with sandbox.session() as session:
        result = session.run("import io, sys\n" + code)
        assert result.ok and result.stdout == "ok\n", result.stderr
        assert session.run("print('after')").stdout == "after\n"
    leaks.assert_clean()


def test_the_callers_files_and_code_are_not_bound_by_file_size_mb(sandbox, leaks):
    # file_size_mb bounds what the code writes; a 9 MB main.py or data file (SMALL allows files
    # of 8 MB) raised SandboxError("the sandbox's set-up failed: OSError: [Errno 27] File too large")
    big = 9 * 1024 * 1024
    code = f"x = '{'a' * big}'\nprint(len(x))"
    assert sandbox.run_python(code).stdout == f"{big}\n"
    read = sandbox.run_python("import os\nprint(os.path.getsize('data.bin'))", files={"data.bin": b"\0" * big})
    assert read.stdout == f"{big}\n"
    with sandbox.session(files={"data.bin": b"\0" * big}) as session:
        assert session.run("import os\nos.path.getsize('data.bin')").stdout == f"{big}\n"
        written = session.run(f"open('copy.bin', 'wb').write(b'0' * {big})")  # the code is still bound
        assert written.exception.startswith("OSError") and "File too large" in written.stderr
    limited = sandbox.run(["python", "-c", f"open('out', 'wb').write(b'0' * {big})"], files={"data.bin": b"\0" * big})
    assert limited.exit_code == 1 and "File too large" in limited.stderr
    leaks.assert_clean()


def test_counts_are_whole_numbers():
    # output_chars=1000.5 (or 2e4 from a config) was accepted and every call then failed with
    # "TypeError: slice indices must be integers or None" from the output cap
    for name in ("processes", "open_files", "output_chars"):
        with pytest.raises(ValueError, match=rf"SandboxLimits\.{name} must be a whole number"):
            SandboxLimits(**{name: 1000.5})
    whole = SandboxLimits(processes=32.0, open_files=64.0, output_chars=2e4)
    assert (whole.processes, whole.open_files, whole.output_chars) == (32, 64, 20_000)
    assert type(whole.output_chars) is int


def test_a_whole_float_output_chars_runs(sandbox, leaks):
    box = Sandbox(dataclasses.replace(SMALL, output_chars=1000.0))
    kept = box.run_python("print('a' * 5000)").stdout
    assert kept == "a" * 750 + "\n[... 4,001 characters of output omitted ...]\n" + "a" * 249 + "\n"
    with box.session() as session:
        assert session.run("print(1)").stdout == "1\n"
    leaks.assert_clean()


def test_an_interpreter_that_ended_between_calls_is_restarted_for_the_next(sandbox, leaks):
    # the next call's code never ran and its result blamed it: "[stopped: the Python interpreter
    # ended (exit status 3)]" for print('hi')
    with sandbox.session() as session:
        session.run("import os, threading, time\nx = 5\n"
                    "threading.Thread(target=lambda: (time.sleep(0.2), os._exit(3))).start()")
        deadline = time.monotonic() + 5
        while session._box[0].popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        result = session.run("print('hi')")
        assert result.stdout == "hi\n" and result.ok and not result.state_lost
        assert session.restarts == 1
        assert "ended between calls (exit status 3)" in result.for_agent()
        assert "every variable" in result.for_agent()
        assert session.run("print('x' in dir())").stdout == "False\n"
    leaks.assert_clean()


def test_a_programs_own_excepthook_reports_its_uncaught_exception(sandbox):
    # the launcher printed its own traceback, never calling the hook (rich.traceback.install()
    # and the like), where `python main.py` calls it
    hooked = sandbox.run_python("import sys\n"
                                "def hook(kind, error, tb):\n    print('hooked', kind.__name__, file=sys.stderr)\n"
                                "sys.excepthook = hook\n1 / 0")
    assert hooked.exit_code == 1 and hooked.stderr == "hooked ZeroDivisionError\n"
    broken = sandbox.run_python("import sys\nsys.excepthook = lambda *args: 1 / 0\nraise KeyError('k')")
    assert broken.exit_code == 1 and "Error in sys.excepthook" in broken.stderr
    assert broken.stderr.rstrip().endswith("KeyError: 'k'")  # the original exception, as Python shows it
    assert "launcher" not in broken.stderr


def test_a_relative_python_path_is_taken_from_the_current_folder(monkeypatch, leaks):
    # Sandbox(python='.venv/bin/python') was accepted (the file exists here), then every
    # run_python came back exit 1 with "bwrap: execvp .venv/bin/python: No such file or
    # directory" as the code's stderr, and a session raised "did not start: exit status 1"
    monkeypatch.chdir(os.path.dirname(os.path.dirname(sys.executable)))
    box = Sandbox(SMALL, python=os.path.join("bin", os.path.basename(sys.executable)))
    assert box.run_python("print(6 * 7)").stdout == "42\n"
    with box.session() as session:
        assert session.run("6 * 7").stdout == "42\n"
    leaks.assert_clean()


def test_a_session_that_cannot_start_says_what_bubblewrap_said(tmp_path, leaks):
    # "the Python session did not start: exit status 1": bubblewrap's own words were read and
    # thrown away while the host waited for the launcher's first answer
    shown = tmp_path / "shown"
    shown.mkdir()
    box = Sandbox(SMALL, readonly_paths=[str(shown)])
    shown.rmdir()  # gone by the time a sandbox binds it
    with pytest.raises(SandboxError, match=r"did not start: .*bwrap: Can't find source path .*shown"):
        box.session()
    leaks.assert_clean()


@pytest.mark.parametrize("mode", ["python", "command"])
def test_a_one_shot_sandbox_that_cannot_start_is_a_sandbox_error(tmp_path, mode, leaks):
    # it was the code's result: exit_code 1 with "bwrap: Can't find source path ..." as stderr
    shown = tmp_path / "shown"
    shown.mkdir()
    box = Sandbox(SMALL, readonly_paths=[str(shown)])
    shown.rmdir()
    with pytest.raises(SandboxError, match=r"did not start: bwrap: Can't find source path .*shown"):
        box.run_python("print(1)") if mode == "python" else box.run(["true"])
    leaks.assert_clean()


def test_code_that_writes_like_bubblewrap_is_still_a_result(sandbox):
    result = sandbox.run_python("import os, sys\nos.write(2, b\"bwrap: Can't find source path /x\\n\")\nos._exit(1)")
    assert result.exit_code == 1 and result.stderr.startswith("bwrap:")
    command = sandbox.run(["bash", "-c", "echo \"bwrap: Can't find source path /x\" >&2; exit 1"])
    assert command.exit_code == 1 and command.stderr.startswith("bwrap:")
