"""Red team of the SQL executor: statements that the time limit could not stop.

The progress handler (and ``interrupt``) act between SQLite's virtual-machine jumps, never
inside one function call. ``printf('%.*c', N, 'x')`` repeats a character N times in one call,
past the value limit (the result is then NULL, but the loop goes on): about 10 s of CPU for N
near 2**31, several such calls in one row run back to back, and neither the time limit nor
``close()`` could stop them.
"""

from __future__ import annotations

import pytest

from agentgym.envs.tools.sql.executor import SQLExecutor, connect_read_only
from agentgym.envs.tools.sql.schemas import build_database


@pytest.fixture
def executor():
    executor = SQLExecutor(connect_read_only(build_database("shop", 0).image), time_limit=0.25, max_rows=100)
    yield executor
    executor.close()


@pytest.mark.parametrize("function", ["printf", "format", "PRINTF"])
def test_printf_is_refused_naming_the_function(executor, function):
    result = executor.execute(f"SELECT {function}('%.*c', 400000000, 'x'), {function}('%.*c', 400000000, 'y')")
    assert result.error_kind == "refused", result
    assert result.error == f"not allowed: the function {function.lower()}() is disabled here", result
    assert result.elapsed < 0.25
    assert executor.execute("SELECT round(2.345, 2)").rows == [(2.35,)]  # other functions still work
