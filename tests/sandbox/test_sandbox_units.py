"""The sandbox's pure parts: the output cap, the frames between host and launcher, the text an
agent reads, the bubblewrap command line."""

from __future__ import annotations

import json
import marshal
import os
import py_compile
import sys

from hypothesis import given
from hypothesis import strategies as st

from agentgym.sandbox import ExecutionResult, SandboxLimits
from agentgym.sandbox import launcher
from agentgym.sandbox.bwrap import bwrap_command, readonly_mounts
from agentgym.sandbox.capture import CappedOutput
from agentgym.sandbox.process import FrameReader, frame_bytes, fresh_byte_code


@given(st.lists(st.binary(max_size=300) | st.text(max_size=100).map(str.encode), max_size=30),
       st.integers(min_value=4, max_value=200))
def test_capped_output_keeps_the_head_and_the_tail(chunks, limit):
    capture = CappedOutput(limit)
    for chunk in chunks:
        capture.feed(chunk)
    everything = b"".join(chunks).decode("utf-8", "replace")  # characters split between chunks too
    head, tail = limit - limit // 4, limit // 4
    text = capture.text()
    assert capture.total == sum(map(len, chunks))
    if len(everything) <= limit:
        assert text == everything and not capture.truncated
    else:
        assert capture.head == everything[:head]
        assert capture.tail == (everything[len(everything) - tail:] if tail else "")
        assert capture.omitted == len(everything) - head - tail
        assert text == (everything[:head] + f"\n[... {capture.omitted:,} characters of output omitted ...]\n"
                        + capture.tail)
    assert len(capture.head) + len(capture.tail) <= limit


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12)


@given(json_values)
def test_the_launchers_json_is_read_back_exactly(value):
    text = launcher.to_json(value)
    assert text.isascii()
    assert json.loads(text) == value


def test_frames_are_split_wherever_the_bytes_break():
    answers = [{"ready": True}, {"exception": "ValueError: ünï ✓ \ud83d", "omitted": {"stdout": 3}}]
    stream = b"".join(len(body).to_bytes(4, "big") + body
                      for body in (launcher.to_json(a).encode("ascii") for a in answers))
    reader = FrameReader()
    seen = []
    for i in range(len(stream)):
        seen += reader.feed(stream[i:i + 1])
    assert seen == answers
    assert FrameReader().feed(b"\x00\x00\x00\x03abc") == [{"garbled": True}]  # code can write there too
    flooded = FrameReader()
    assert flooded.feed(b"\x7f\xff\xff\xff" + b"x" * 100) == [{"garbled": True}]  # never buffered
    assert flooded.feed(b"y" * 100) == [] and not flooded.buffer


def test_host_frames_are_what_the_launcher_reads():
    job = {"mode": "exec", "argv": ["python", "-c", "pass"], "files": {"a.txt": b"\x00\xff"}, "uid": None}
    data = frame_bytes(job)
    read, write = os.pipe()
    try:
        os.write(write, data)
        os.close(write)
        assert launcher.read_frame(read) == job
        assert launcher.read_frame(read) is None  # end-of-file
    finally:
        os.close(read)
    assert marshal.loads(data[4:]) == job


def test_the_text_for_the_agent():
    def result(**fields):
        base = {"stdout": "", "stderr": "", "exit_code": 0, "duration_s": 0.1}
        return ExecutionResult(**{**base, **fields})

    assert result().for_agent() == "[no output]"
    assert result(stdout="hi\n").for_agent() == "hi"
    assert result(stdout="out\n", stderr="warn\n", exit_code=2).for_agent() == "out\n[stderr]\nwarn\n[exit code 2]"
    assert result(exit_code=-9).for_agent() == "[terminated by signal 9]"
    stopped = result(exit_code=None, timed_out=True, killed_reason="wall-clock limit of 1 s exceeded",
                     state_lost=True, notes=("note",))
    assert stopped.for_agent() == ("[stopped: wall-clock limit of 1 s exceeded]\n[the Python session was "
                                   "restarted: every variable, import and function defined before this call "
                                   "is lost]\n[note]")
    assert not stopped.ok and result().ok


def test_limits_for_the_launcher():
    limits = SandboxLimits(cpu_seconds=2.5, memory_mb=512, processes=10, file_size_mb=1, open_files=32)
    assert limits.for_launcher() == {"cpu_seconds": 3, "memory_bytes": 512 << 20, "file_size_bytes": 1 << 20,
                                     "open_files": 32, "processes": 13, "output_chars": 20_000}


def test_the_command_line_shows_only_what_it_must():
    command = bwrap_command("bwrap", launcher_files=[("/host/launcher.py", "/.sandbox/launcher.py")],
                            python=sys.executable, readonly_paths=["/opt/py", "/opt/py/lib", "/usr/lib/x"],
                            disk_bytes=1 << 20, env={"HOME": "/tmp"}, info_fd=9, ctrl_fds=(3, 4), as_root=True)
    assert command[0] == "bwrap"
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--as-pid-1", "--new-session", "--clearenv"):
        assert flag in command
    # a session may outlive the thread that started it: --die-with-parent (which fires when that
    # *thread* exits) is only for one-shot calls
    assert "--die-with-parent" not in command
    assert "--die-with-parent" in bwrap_command("bwrap", launcher_files=[], python="/p", readonly_paths=[],
                                                disk_bytes=1, env={}, info_fd=9, ctrl_fds=(3, 4), as_root=True,
                                                die_with_parent=True)
    binds = [command[i + 1] for i, arg in enumerate(command) if arg in ("--bind", "--dev-bind")]
    assert binds == []  # nothing of the host is writable
    tmpfs = command.index("--tmpfs")
    assert command[tmpfs - 4:tmpfs + 2] == ["--size", str(1 << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    assert command[-2:] == ["3", "4"]
    # a path under an already bound one is not bound twice; /usr is bound once, read-only
    assert readonly_mounts(["/opt/py", "/opt/py/lib", "/usr/lib/x"]) == [
        "--perms", "0755", "--dir", "/opt", "--ro-bind", "/opt/py", "/opt/py"]
    assert bwrap_command("bwrap", launcher_files=[], python="/p", readonly_paths=[], disk_bytes=1, env={},
                         info_fd=9, ctrl_fds=(3, 4), as_root=False)[1:4] == ["--unshare-all", "--unshare-user",
                                                                             "--disable-userns"]


def test_the_launchers_byte_code_is_reused_only_while_it_matches_the_source(tmp_path):
    source = tmp_path / "launcher.py"
    source.write_text("x = 1\n")
    cached = str(tmp_path / "launcher.pyc")
    assert not fresh_byte_code(str(source), cached)
    py_compile.compile(str(source), cfile=cached, doraise=True)
    assert fresh_byte_code(str(source), cached)
    source.write_text("x = 22\n")  # another size: the import system would recompile it
    assert not fresh_byte_code(str(source), cached)
