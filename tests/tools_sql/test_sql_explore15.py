"""Exploratory round 15 of the SQL tool environment: defects found by probing, one test each."""

from __future__ import annotations

import time

import pytest

from agentgym.envs.tools.sql.env import SQLEnv
from agentgym.envs.tools.sql.executor import (MAX_CTE_EXPANSION, SQLExecutor, connect_read_only, cte_expansion,
                                              render_result)
from agentgym.envs.tools.sql.schemas import build_database


@pytest.fixture(scope="module")
def executor():
    executor = SQLExecutor(connect_read_only(build_database("shop", 0).image), time_limit=2.0, max_rows=100)
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def env():
    env = SQLEnv("easy", schema="shop", databases=1, max_result_chars=500)
    yield env
    env.close()


def test_an_error_that_echoes_the_query_is_escaped_and_kept_within_the_budget(executor, env):
    # SQLite's messages echo identifiers and tokens: 'no such table: x<ESC>[2J<newline>...' reached
    # the agent raw (a terminal took the ESC; the error read as several lines), and a 15,000-character
    # identifier made a 15,000-character observation past max_result_chars
    hostile = executor.execute('SELECT * FROM "x\x1b[2J\nDROP\u2028"')
    text = render_result(hostile)
    assert text == "Error: SQL error: no such table: x\\x1b[2J\\nDROP\\u2028"
    long = executor.execute('SELECT * FROM "' + "a" * 15_000 + '"')
    assert not long.ok and len(long.error) > 15_000
    text = render_result(long, max_chars=1_000)
    assert len(text) <= 1_000 and text.startswith("Error: SQL error: no such table: aaa") and text.endswith("…")
    env.reset(seed=0)
    observation = env.step("<sql>SELECT " + "b" * 15_000 + " FROM customers</sql>")[0]
    assert "no such column: bbb" in observation and len(observation) < 600
    observation = env.step('<answer>SELECT * FROM "t\x1b[1m' + "c" * 15_000 + '"</answer>')[0]
    assert "no such table: t\\x1b[1mccc" in observation and "\x1b" not in observation
    assert len(observation) < 600


def test_a_long_run_of_blank_space_inside_a_tag_is_parsed_in_linear_time(env):
    # the code-fence pattern '\n?\s*```\s*$' was tried at every position of a whitespace run:
    # 12,000 newlines (a degenerate generation) inside <sql> cost 2.5 s of parsing, 19,000 spaces 3.7 s
    env.reset(seed=0)
    for blank in ("\n", " ", "\t \n"):
        start = time.monotonic()
        observation = env.step("<sql>SELECT 7" + blank * (12_000 // len(blank)) + "AS n</sql>")[0]
        assert time.monotonic() - start < 0.5 and observation.startswith("n\n7\n(1 row)")
    env.reset(seed=0)
    # fences are still taken off, with or without a language, on one line or several
    for action in ("<sql>```sql\nSELECT 8 AS n\n```</sql>", "<sql>\n```\nSELECT 8 AS n```  </sql>",
                   "<sql>```SQLite SELECT 8 AS n\n```</sql>"):
        assert env.step(action)[0].startswith("n\n8\n(1 row)"), action


def _cte_chain(levels: int, quote: str = "{}") -> str:
    """WITH a0 AS (SELECT 1), a1 AS (SELECT .. FROM a0 x JOIN a0 y ..), ...: each level copies
    the one below twice, 2**levels copies of a0 in all."""
    name = lambda i: quote.format(f"a{i}")  # noqa: E731
    ctes = [f"{name(0)} AS (SELECT 1 AS v)"] + [
        f"{name(i)} AS (SELECT x.v FROM {name(i - 1)} x JOIN /* c */ {name(i - 1).upper()} y ON x.v = y.v)"
        for i in range(1, levels)]
    return "WITH " + ", ".join(ctes) + f" SELECT count(*) FROM {name(levels - 1)}"


@pytest.mark.parametrize("quote", ["{}", '"{}"', "[{}]", "`{}`", "'{}'"])
def test_a_with_clause_that_expands_exponentially_is_refused_before_sqlite_compiles_it(quote):
    # SQLite copies a common table expression at each reference while it compiles, where neither
    # the time limit nor close() reaches: 18 levels of a 1.5 KB query took 10 s (390 MB) with
    # time_limit=0.2 and then succeeded; 20 levels 35 s, and each level doubles time and memory
    executor = SQLExecutor(connect_read_only(build_database("shop", 0).image), time_limit=0.25)
    try:
        start = time.monotonic()
        result = executor.execute(_cte_chain(16, quote))
        assert time.monotonic() - start < 0.25
        assert result.error_kind == "refused" and "WITH" in result.error and "expand" in result.error, result
        assert executor.execute(_cte_chain(4, quote)).rows == [(1,)]  # a small chain still runs
    finally:
        executor.close()


def test_decoy_ctes_of_the_same_names_do_not_hide_the_doubling():
    # an unused inner WITH a0 AS (... a1), a1 AS (... a2), ... made the first bound take each real
    # a{i+1} -> a{i} reference for a recursive one (a{i} was being sized when it got there): the
    # 16-level chain was counted as 1,567 tokens and ran 3 s past time_limit=0.25
    decoys = ", ".join(f"a{i} AS (SELECT * FROM a{i + 1})" for i in range(15))
    sql = _cte_chain(16).replace("WITH ", f"WITH z AS (SELECT * FROM (WITH {decoys} SELECT 1)), ", 1)
    executor = SQLExecutor(connect_read_only(build_database("shop", 0).image), time_limit=0.25)
    try:
        start = time.monotonic()
        result = executor.execute(sql)
        assert time.monotonic() - start < 0.25 and result.error_kind == "refused", result
        assert cte_expansion(sql) > MAX_CTE_EXPANSION
        small = _cte_chain(4).replace("WITH ", "WITH z AS (SELECT * FROM (WITH a0 AS (SELECT * FROM a1) SELECT 1)), ", 1)
        assert executor.execute(small).rows == [(1,)]
    finally:
        executor.close()


def test_ordinary_with_queries_still_run(executor):
    assert executor.execute(
        "WITH per AS (SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id), "
        "big AS (SELECT * FROM per WHERE n > (SELECT AVG(n) FROM per)) "
        "SELECT COUNT(*) > 0, (SELECT COUNT(*) FROM big) = COUNT(*) FROM big JOIN per USING (customer_id)"
    ).rows == [(1, 1)]
    assert executor.execute("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 50) "
                            "SELECT SUM(a.x) FROM r a JOIN r b ON a.x = b.x").rows == [(1275,)]
    ids = ", ".join(map(str, range(3_000)))
    assert executor.execute(f"WITH c AS (SELECT * FROM customers WHERE customer_id IN ({ids})) "
                            "SELECT COUNT(*) FROM c a JOIN c b USING (customer_id)").ok
    assert executor.execute("SELECT 'with a as (' AS w, \"with\" FROM (SELECT 1 AS \"with\")").ok


def _questions(level: str, **kwargs) -> list[tuple]:
    env = SQLEnv(level, databases=2, **kwargs)
    try:
        drawn = []
        for seed in range(5):
            env.reset(seed=seed)
            drawn.append((env.question.text, env.question.answer))
        assert (env._executor.max_rows, env._executor.time_limit) == (env.max_rows, env.time_limit)
        return drawn
    finally:
        env.close()


def test_the_agents_row_cap_and_time_limit_do_not_change_the_questions_a_seed_draws():
    # the templates' probes and gold queries ran under the agent's max_rows and time_limit: with
    # max_rows=10 seed 2 asked about flights between two of the 10 shortest distances (24 rows
    # became 6), max_rows=1 failed reset with 'IndexError: Cannot choose from an empty sequence',
    # and time_limit=0.002 with "RuntimeError: a question template's probe failed"
    assert _questions("easy", max_rows=10) == _questions("easy")
    assert _questions("medium", max_rows=1, time_limit=0.001) == _questions("medium")
    env = SQLEnv("easy", schema="flights", databases=1, max_rows=10)
    try:
        env.reset(seed=0)  # the agent's own queries keep the agent's cap
        assert "10+ rows" in env.step("<sql>SELECT * FROM flights</sql>")[0]
    finally:
        env.close()


def test_the_table_valued_form_of_an_allowed_pragma_is_allowed_too(tmp_path):
    # SELECT name FROM pragma_table_info('orders') (the usual way to list columns in a query) was
    # refused as 'the database is read-only; run a single SELECT' while PRAGMA table_info(orders)
    # ran: SQLite builds the table-valued form at its first use, an action the authorizer refuses
    path = tmp_path / "school.sqlite"
    path.write_bytes(build_database("school", 0).image)
    for source in (build_database("shop", 0).image, path):
        executor = SQLExecutor(connect_read_only(source), time_limit=0.25)
        try:
            table = "orders" if isinstance(source, bytes) else "teachers"
            first = executor.execute(f"SELECT name FROM pragma_table_info('{table}') WHERE pk")
            assert first.ok, first
            assert first.rows == ([("order_id",)] if table == "orders" else [("teacher_id",)])
            assert executor.execute(f"DROP TABLE {table}").error_kind == "refused"
            assert executor.execute("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) "
                                    "SELECT COUNT(*) FROM r").error_kind == "timeout"
            listed = executor.execute("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
                                      "WHERE m.type = 'table'")
            assert listed.ok and len(listed.rows) > 20
            assert executor.execute(f"SELECT * FROM pragma_foreign_key_list('{table}')").ok
            # pragmas outside READ_ONLY_PRAGMAS stay refused in both forms
            for sql in ("SELECT * FROM pragma_compile_options", "SELECT * FROM pragma_user_version",
                        "PRAGMA user_version", "SELECT * FROM pragma_query_only"):
                assert executor.execute(sql).error_kind == "refused", sql
        finally:
            executor.close()
