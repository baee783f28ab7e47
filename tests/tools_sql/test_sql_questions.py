"""Questions: every gold query runs and gives a usable answer, for many databases at every
difficulty; every template is reachable; drawing is deterministic; the levels mean what they say."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from agentgym.envs.tools.sql.executor import QueryResult, SQLExecutor, connect_read_only
from agentgym.envs.tools.sql.matching import has_top_level_order_by
from agentgym.envs.tools.sql.questions import (
    DIFFICULTIES,
    MAX_ANSWER_ROWS,
    TEMPLATES,
    Probe,
    draw_question,
    usable,
)
from agentgym.envs.tools.sql.schemas import SCHEMAS, build_database

DATABASE_SEEDS = range(6)
DRAWS_PER_DATABASE = 12


def _executor(schema: str, seed: int) -> SQLExecutor:
    return SQLExecutor(connect_read_only(build_database(schema, seed).image), time_limit=5.0)


def _questions(schema: str, difficulty: str):
    for seed in DATABASE_SEEDS:
        executor = _executor(schema, seed)
        rng = random.Random(f"{schema}-{difficulty}-{seed}")
        try:
            for _ in range(DRAWS_PER_DATABASE):
                yield draw_question(schema, difficulty, rng, executor), executor
        finally:
            executor.close()


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_gold_query_runs_and_gives_a_usable_answer(schema, difficulty):
    seen = Counter()
    for question, executor in _questions(schema, difficulty):
        seen[question.template] += 1
        result = executor.execute(question.gold_sql)
        assert result.ok, f"{question.template}: {result.error}"
        assert tuple(result.rows) == question.answer and result.columns == question.columns
        assert 1 <= len(question.answer) <= MAX_ANSWER_ROWS
        assert len(set(question.answer)) == len(question.answer), "duplicate rows make DISTINCT ambiguous"
        assert question.answer != ((0,),) and question.answer != ((None,),)
        assert question.ordered == has_top_level_order_by(question.gold_sql)
        assert question.text.endswith(("?", ".")) and question.gold_sql not in question.text
        assert (question.schema, question.difficulty) == (schema, difficulty)
    names = {name for name, _ in TEMPLATES[(schema, difficulty)]}
    assert set(seen) == names, f"templates never drawn: {names - set(seen)}"


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("schema", SCHEMAS)
def test_top_k_answers_have_no_tie_at_the_cut(schema, difficulty):
    """For ORDER BY ... LIMIT k questions, the (k+1)-th row of the ranking sorts strictly after
    the k-th: only one set of k rows is right."""
    for question, executor in _questions(schema, difficulty):
        match = re.search(r"LIMIT (\d+)$", question.gold_sql)
        if not question.ordered or not match:
            continue
        k = int(match.group(1))
        widened = executor.execute(question.gold_sql[: match.start()] + f"LIMIT {k + 1}")
        if len(widened.rows) > k:
            assert widened.rows[k][-1] != widened.rows[k - 1][-1], question.text


def test_levels_use_the_sql_they_promise():
    """easy: one table; medium: joins or GROUP BY; hard: a subquery, three tables or ORDER BY ... LIMIT."""
    for schema in SCHEMAS:
        for level in DIFFICULTIES:
            for question, _ in _questions(schema, level):
                sql = question.gold_sql.upper()
                tables = len(re.findall(r"\b(?:FROM|JOIN)\s+(?!\()", sql))
                if level == "easy":
                    assert tables == 1 and "JOIN" not in sql and "SELECT" not in sql[6:], sql
                elif level == "medium":
                    assert "JOIN" in sql or "GROUP BY" in sql, sql
                    assert "SELECT" not in sql[6:], f"medium questions have no subquery: {sql}"
                else:
                    assert "SELECT" in sql[6:] or tables >= 3 or re.search(r"ORDER BY .* LIMIT", sql), sql


def test_same_database_and_generator_state_same_question():
    for difficulty in DIFFICULTIES:
        executor = _executor("flights", 2)
        try:
            first = draw_question("flights", difficulty, random.Random(11), executor)
            again = draw_question("flights", difficulty, random.Random(11), executor)
            other = [draw_question("flights", difficulty, random.Random(s), executor) for s in range(12, 20)]
        finally:
            executor.close()
        assert first == again
        assert any(question.gold_sql != first.gold_sql for question in other)


@pytest.mark.parametrize("rows, truncated, expected", [
    ([(3,)], False, True),
    ([("Ana", 2), ("Ben", 1)], False, True),
    ([], False, False),
    ([(0,)], False, False),
    ([(None,)], False, False),
    ([(None, None)], False, False),
    ([("a",), ("a",)], False, False),
    ([(i,) for i in range(MAX_ANSWER_ROWS + 1)], False, False),
    ([(1,)], True, False),
])
def test_usable_rejects_degenerate_answers(rows, truncated, expected):
    assert usable(QueryResult(("c",), rows, truncated)) is expected


def test_a_template_whose_probe_fails_is_reported():
    executor = _executor("shop", 0)
    try:
        with pytest.raises(RuntimeError, match="probe failed"):
            Probe(executor).column("SELECT nope FROM customers")
    finally:
        executor.close()
