"""The persistent Python session: state across calls, restarts, closing from other threads."""

from __future__ import annotations

import dataclasses
import gc
import threading
import time

import pytest
from sandbox_helpers import SMALL

from agentgym.sandbox import PythonSession, Sandbox, SessionClosed


def test_variables_imports_and_functions_persist(sandbox, leaks):
    with sandbox.session() as session:
        assert session.run("x = 2").ok
        result = session.run("print(x * 21)")
        assert result.stdout == "42\n" and result.stderr == "" and result.exit_code == 0
        session.run("import math\ndef area(r):\n    return math.pi * r ** 2")
        assert session.run("print(round(area(2), 3))").stdout == "12.566\n"
        assert session.calls == 4 and session.restarts == 0
    leaks.assert_clean()


def test_a_final_expression_is_shown_like_a_notebook(sandbox, leaks):
    with sandbox.session() as session:
        assert session.run("y = [1, 2]\ny + [3]").stdout == "[1, 2, 3]\n"
        assert session.run("None").stdout == ""
        assert session.run("'text'").for_agent() == "'text'"
        assert session.run("").for_agent() == "[no output]"
    leaks.assert_clean()


def test_an_exception_is_reported_and_the_state_survives(sandbox, leaks):
    with sandbox.session() as session:
        session.run("total = 10")
        result = session.run("total += 1\nitems = {}\nitems['missing']")
        assert result.exception == "KeyError: 'missing'"
        assert result.exit_code == 1 and not result.ok and not result.state_lost
        assert 'File "<cell 2>", line 3, in <module>' in result.stderr
        assert "items['missing']" in result.stderr  # the source line is in the traceback
        assert "launcher" not in result.stderr  # the sandbox's own frames are hidden
        assert "KeyError: 'missing'" in result.for_agent()
        assert session.run("print(total)").stdout == "11\n"
        syntax = session.run("def broken(:")
        assert syntax.exception.startswith("SyntaxError") and "<cell 4>" in syntax.stderr
    leaks.assert_clean()


def test_exit_and_input_do_not_end_the_session(sandbox, leaks):
    with sandbox.session() as session:
        exited = session.run("x = 1\nraise SystemExit(4)")
        assert exited.exit_code == 4 and exited.exception == "SystemExit: 4"
        assert session.run("print(x)").stdout == "1\n"
        eof = session.run("input('name? ')")
        assert eof.exception == "EOFError: EOF when reading a line"
    leaks.assert_clean()


def test_a_timed_out_call_restarts_the_session_and_says_the_state_is_lost(leaks):
    sandbox = Sandbox(dataclasses.replace(SMALL, wall_seconds=1))
    with sandbox.session() as session:
        session.run("x = 5")
        result = session.run("import time\nprint('working', flush=True)\ntime.sleep(60)")
        assert result.timed_out and result.state_lost and result.exit_code is None
        assert result.stdout == "working\n"
        assert result.killed_reason == "wall-clock limit of 1 s exceeded"
        text = result.for_agent()
        assert "[stopped: wall-clock limit of 1 s exceeded]" in text
        assert ("[the Python session was restarted: every variable, import and function defined "
                "before this call is lost]") in text
        assert not session.alive
        fresh = session.run("print('x' in globals())")
        assert fresh.stdout == "False\n" and not fresh.state_lost
        assert session.restarts == 1 and session.alive
    leaks.assert_clean()


def test_files_are_written_at_start_and_tmp_is_private_per_session(sandbox, leaks):
    with sandbox.session(files={"data/input.txt": "hello", "blob.bin": b"\x00\xff"}) as first, \
            sandbox.session() as second:
        assert first.run("print(open('data/input.txt').read())").stdout == "hello\n"
        assert first.run("print(open('blob.bin', 'rb').read())").stdout == "b'\\x00\\xff'\n"
        first.run("open('/tmp/note.txt', 'w').write('first'); secret = 1")
        assert second.run("import os\nprint(os.path.exists('/tmp/note.txt'), 'secret' in globals())"
                          ).stdout == "False False\n"
    leaks.assert_clean()


def test_close_from_another_thread_stops_a_running_call(sandbox, leaks):
    session = sandbox.session()
    timer = threading.Timer(0.5, session.close)
    timer.start()
    start = time.monotonic()
    result = session.run("import time\ntime.sleep(60)")
    timer.join()
    assert time.monotonic() - start < 5
    assert result.killed_reason == "the session was closed while this call was running"
    assert result.state_lost
    with pytest.raises(SessionClosed):
        session.run("print(1)")
    session.close()  # idempotent
    assert session.closed
    leaks.assert_clean()


def test_a_session_outlives_the_thread_that_started_it(sandbox, leaks):
    box: list[PythonSession] = []
    starter = threading.Thread(target=lambda: box.append(sandbox.session()))
    starter.start()
    starter.join()  # the thread that forked the sandbox is gone
    session = box[0]
    try:
        time.sleep(0.2)
        assert session.run("print('still here')").stdout == "still here\n"
        assert session.restarts == 0
    finally:
        session.close()
    leaks.assert_clean()


def test_calls_from_several_threads_run_one_at_a_time(sandbox, leaks):
    with sandbox.session() as session:
        session.run("log = []")
        cell = ("import time\nlog.append(('start', {n}))\ntime.sleep(0.1)\nlog.append(('end', {n}))")
        threads = [threading.Thread(target=session.run, args=(cell.format(n=n),)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log = eval(session.run("log").stdout)
        assert len(log) == 8
        for i in range(0, 8, 2):  # every start is followed by its own end
            assert log[i][0] == "start" and log[i + 1] == ("end", log[i][1])
    leaks.assert_clean()


def test_an_abandoned_session_is_cleaned_up_when_collected(sandbox, leaks):
    session = sandbox.session()
    session.run("x = 1")
    del session
    gc.collect()
    leaks.assert_clean()


def test_bad_input_is_refused_clearly(sandbox):
    with sandbox.session() as session:
        with pytest.raises(TypeError, match="code must be a str"):
            session.run(b"print(1)")
    with pytest.raises(ValueError, match="plain relative path"):
        sandbox.session(files={"../escape.txt": "x"})
