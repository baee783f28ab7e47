"""The time limit holds for statements made of few, slow instructions: each row of a
1000-row recursive CTE runs string functions on 80 KB values (~30 ms a row), and the progress
handler, called every few thousand instructions, first looked at the clock after about 130 rows
(seconds past the limit); 1 MB values made one call alone take 4 s."""

from __future__ import annotations

from agentgym.envs.tools.sql.executor import MAX_VALUE_BYTES, SQLExecutor, connect_read_only
from agentgym.envs.tools.sql.schemas import build_database

SLOW_ROWS = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000) "
             "SELECT sum(instr(replace(hex(zeroblob(40000 + i % 2)), '0', 'a'), "
             "replace(hex(zeroblob(20000)), '0', 'a') || 'b')) FROM r")


def test_a_statement_of_slow_rows_stops_at_the_time_limit():
    executor = SQLExecutor(connect_read_only(build_database("shop", 0).image), time_limit=0.3)
    try:
        result = executor.execute(SLOW_ROWS)
        assert result.error_kind == "timeout", result
        assert result.elapsed < 5  # about 0.3 s plus one row; 27 s before
        assert executor.execute("SELECT 1").rows == [(1,)]  # the next statement is not interrupted
    finally:
        executor.close()


def test_values_are_capped_where_one_call_stays_short():
    executor = SQLExecutor(connect_read_only(build_database("shop", 0).image))
    try:
        assert MAX_VALUE_BYTES <= 100_000
        result = executor.execute(f"SELECT length(hex(zeroblob({MAX_VALUE_BYTES})))")
        assert result.error_kind == "sql" and f"values are limited to {MAX_VALUE_BYTES:,} bytes" in result.error
    finally:
        executor.close()


def _deadline_threads():
    import threading

    return [t for t in threading.enumerate() if t.name == "agentgym-sql-deadline" and t.is_alive()]


def test_the_deadline_thread_ends_with_its_executor_closed_or_dropped():
    import gc

    before = len(_deadline_threads())
    closed = SQLExecutor(connect_read_only(build_database("shop", 0).image))
    assert closed.execute("SELECT 1").ok and len(_deadline_threads()) == before + 1
    closed.close()
    assert len(_deadline_threads()) == before
    dropped = SQLExecutor(connect_read_only(build_database("shop", 0).image))
    assert dropped.execute("SELECT 1").ok and len(_deadline_threads()) == before + 1
    del dropped
    gc.collect()
    assert len(_deadline_threads()) == before
