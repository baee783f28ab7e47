"""Exploratory round 9 of the sandbox: what the code's exit status, output and errors become."""

from __future__ import annotations

import sys

import pytest

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
