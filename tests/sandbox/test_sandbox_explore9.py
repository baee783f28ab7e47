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
