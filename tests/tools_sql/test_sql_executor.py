"""The read-only executor: what it refuses, its time limit and row cap, its error texts, the
rendering caps, and that it leaves the database and the process as it found them."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from agentgym.envs.tools.sql.executor import (
    MAX_VALUE_BYTES,
    QueryResult,
    SQLExecutor,
    connect_read_only,
    render_result,
)
from agentgym.envs.tools.sql.schemas import build_database
from tests.resource_probe import ResourceProbe


TIME_LIMIT = 0.25


@pytest.fixture
def executor():
    executor = SQLExecutor(connect_read_only(build_database("shop", 0).image), time_limit=TIME_LIMIT, max_rows=100)
    yield executor
    executor.close()


def _counts(executor: SQLExecutor) -> dict[str, int]:
    tables = [row[0] for row in executor.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows]
    return {table: executor.execute(f"SELECT COUNT(*) FROM {table}").rows[0][0] for table in tables}


WRITES = [
    "INSERT INTO categories VALUES (99, 'Weapons')",
    "REPLACE INTO categories VALUES (1, 'Weapons')",
    "UPDATE products SET price = 0",
    "DELETE FROM orders",
    "DROP TABLE customers",
    "DROP TABLE IF EXISTS customers",
    "CREATE TABLE evil (x)",
    "CREATE TEMP TABLE evil (x)",
    "CREATE INDEX evil ON orders (status)",
    "CREATE VIEW evil AS SELECT 1",
    "CREATE TRIGGER evil AFTER INSERT ON orders BEGIN DELETE FROM orders; END",
    "ALTER TABLE customers ADD COLUMN password TEXT",
    "ALTER TABLE customers RENAME TO clients",
    "ATTACH DATABASE ':memory:' AS other",
    "ATTACH DATABASE '/tmp/agentgym_sql_attack.db' AS other",
    "DETACH DATABASE main",
    "PRAGMA writable_schema = 1",
    "PRAGMA writable_schema = ON",
    "PRAGMA query_only = 0",
    "PRAGMA query_only = OFF",
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = OFF",
    "PRAGMA user_version = 7",
    "VACUUM",
    "VACUUM INTO '/tmp/agentgym_sql_attack.db'",
    "ANALYZE",
    "BEGIN",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "SAVEPOINT s1",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT fts3_tokenizer('simple')",
    "WITH x AS (SELECT 1) DELETE FROM orders",
    "INSERT INTO orders SELECT * FROM orders",
]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_and_state_changes_are_refused(executor, sql):
    before = _counts(executor)
    result = executor.execute(sql)
    assert not result.ok and result.error_kind in ("refused", "sql"), result
    assert result.rows == [] and "Traceback" not in result.error
    assert _counts(executor) == before
    assert not Path("/tmp/agentgym_sql_attack.db").exists()
    assert executor.execute("SELECT COUNT(*) FROM customers").ok, "the connection still works afterwards"


def test_refusals_are_explained_to_the_agent(executor):
    result = executor.execute("DROP TABLE customers")
    assert result.error_kind == "refused" and "read-only" in result.error


def test_reading_and_introspection_are_allowed(executor):
    assert executor.execute("SELECT name, sql FROM sqlite_master").ok
    result = executor.execute("PRAGMA table_info(customers)")
    assert result.ok and "email" in [row[1] for row in result.rows]
    assert executor.execute("EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer_id = 3").ok
    assert executor.execute("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 5) "
                            "SELECT SUM(x) FROM r").rows == [(15,)]
    assert executor.execute("VALUES (1, 'a'), (2, 'b')").rows == [(1, "a"), (2, "b")]


@pytest.mark.parametrize("sql", [
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT COUNT(*) FROM r",
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r ORDER BY x DESC",
    "SELECT COUNT(*) FROM order_items a, order_items b, order_items c",
    "SELECT a.order_id FROM order_items a, order_items b, order_items c ORDER BY random()",
    "SELECT group_concat(a.order_id) FROM order_items a, order_items b",
])
def test_runaway_queries_stop_at_the_time_limit(executor, sql):
    result = executor.execute(sql)
    assert result.error_kind == "timeout" and "time limit" in result.error
    assert TIME_LIMIT <= result.elapsed < TIME_LIMIT + 1.0
    assert executor.execute("SELECT 1").rows == [(1,)], "the connection works after an interrupted query"


@pytest.mark.parametrize("sql", [
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r",
    "SELECT a.order_id, b.order_id FROM order_items a, order_items b, order_items c",
])
def test_endless_row_streams_stop_at_the_row_cap(executor, sql):
    result = executor.execute(sql)
    assert result.ok and result.truncated and len(result.rows) == 100
    assert result.elapsed < TIME_LIMIT
    assert "100+ rows" in render_result(result)


def test_huge_values_are_refused_before_allocation(executor):
    result = executor.execute("SELECT randomblob(900000000)")
    assert result.error_kind == "sql" and f"{MAX_VALUE_BYTES:,}" in result.error
    assert executor.execute("SELECT length(zeroblob(1000))").rows == [(1000,)]


@pytest.mark.parametrize("sql, kind, words", [
    ("SELECT 1; SELECT 2", "input", "one statement"),
    ("DROP TABLE customers; SELECT 1", "refused", "read-only"),
    ("SELEC name FROM customers", "sql", "syntax error"),
    ("SELECT nope FROM customers", "sql", "no such column"),
    ("SELECT * FROM nowhere", "sql", "no such table"),
    ("SELECT '\x00'", "input", "NUL"),
    ("SELECT '\ud800'", "input", "surrogate"),
    (b"SELECT 1", "input", "text"),
    (None, "input", "text"),
    ("SELECT CAST(x'ff' AS TEXT)", "sql", "UTF-8"),
])
def test_bad_queries_become_errors_not_exceptions(executor, sql, kind, words):
    result = executor.execute(sql)
    assert result.error_kind == kind and words in result.error, result
    rendered = render_result(result)
    assert rendered.startswith("Error: ")
    rendered.encode("utf-8")  # always valid text for the agent


def test_statements_without_rows(executor):
    for sql in ("", "   ", "-- only a comment", "/* nothing */"):
        result = executor.execute(sql)
        assert result.ok and result.columns == () and result.rows == []
        assert render_result(result) == "The statement returned no result set."


def test_render_caps_rows_characters_and_cells():
    rows = [(i, "x" * 500, None, 1.5, b"\x00\x01", "a|b\nc") for i in range(100)]
    result = QueryResult(("id", "long", "gap", "f", "blob", "odd"), rows)
    text = render_result(result, max_rows=10, max_chars=2_000, cell_chars=40)
    assert len(text) <= 2_000 + 100
    lines = text.splitlines()
    assert lines[0] == "id | long | gap | f | blob | odd"
    assert lines[1].startswith("0 | " + "x" * 39 + "…") and "NULL" in lines[1] and "<blob 2 bytes>" in lines[1]
    assert "a\\|b\\nc" in lines[1]
    assert lines[-1].startswith("(100 rows; the first") and len(lines) <= 12
    assert render_result(QueryResult(("n",), [])) == "n\n(0 rows)"
    assert render_result(QueryResult(("n",), [(1,)])) == "n\n1\n(1 row)"
    many_columns = QueryResult(tuple(f"c{i}" for i in range(5_000)), [tuple(range(5_000))])
    assert len(render_result(many_columns, max_chars=1_000)) < 1_100


def test_a_database_file_is_opened_read_only(tmp_path):
    path = tmp_path / "shop.sqlite"
    path.write_bytes(build_database("shop", 1).image)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    executor = SQLExecutor(connect_read_only(path), time_limit=TIME_LIMIT)
    try:
        assert executor.execute("SELECT COUNT(*) FROM customers").rows[0][0] > 0
        for sql in WRITES:
            assert not executor.execute(sql).ok
    finally:
        executor.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.sqlite"], "no journal or WAL file appeared"


def test_not_a_database_is_an_error_at_connect(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        connect_read_only(path)
    with pytest.raises(sqlite3.DatabaseError):
        connect_read_only(b"junk" * 1000)
    with pytest.raises(TypeError):
        connect_read_only(42)


def test_bad_settings_are_config_errors():
    connection = connect_read_only(build_database("shop", 0).image)
    try:
        for kwargs in ({"time_limit": 0}, {"time_limit": "1"}, {"max_rows": 0}, {"max_rows": 2.5}):
            with pytest.raises(ValueError):
                SQLExecutor(connection, **kwargs)
    finally:
        connection.close()


def test_no_threads_or_descriptors_left_behind(tmp_path):
    probe = ResourceProbe()
    path = tmp_path / "flights.sqlite"
    path.write_bytes(build_database("flights", 0).image)
    for source in [build_database("flights", 0).image, path] * 10:
        executor = SQLExecutor(connect_read_only(source), time_limit=0.05)
        executor.execute("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT COUNT(*) FROM r")
        executor.execute("SELECT * FROM bookings")
        executor.close()
    probe.assert_released()


def test_close_from_another_thread_stops_a_running_query_at_once():
    executor = SQLExecutor(connect_read_only(build_database("shop", 0).image), time_limit=30.0)
    results = []
    worker = threading.Thread(target=lambda: results.append(executor.execute(
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT COUNT(*) FROM r")))
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    executor.close()
    worker.join(timeout=5)
    assert not worker.is_alive() and time.monotonic() - started < 2.0, "close waited for the query"
    assert results[0].error_kind == "closed" and results[0].elapsed < 5.0
    assert executor.execute("SELECT 1").error_kind == "closed"
    executor.close()  # idempotent


@pytest.mark.parametrize("delay", [0.0, 0.0001, 0.001, 0.01])
def test_a_close_that_races_the_start_of_a_statement_stops_it_cleanly(delay):
    """A close as the statement starts (before SQLite runs it, or as it does) used to close the
    connection under it: a segmentation fault, or an 'sql' error instead of 'closed'."""
    for _ in range(3):
        executor = SQLExecutor(connect_read_only(build_database("shop", 0).image), time_limit=30.0)
        results = []
        worker = threading.Thread(target=lambda: results.append(executor.execute(
            "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT COUNT(*) FROM r")))
        worker.start()
        time.sleep(delay)
        executor.close()
        worker.join(timeout=5)
        assert not worker.is_alive() and results[0].error_kind == "closed", results
