"""Execution-result match: multisets, order only under a top-level ORDER BY, float tolerance,
NULLs, types, column order; and the ORDER BY detector."""

from __future__ import annotations

import pytest

from agentgym.envs.tools.sql.matching import has_top_level_order_by, match_results

GOLD = [("Ana", 3, 12.5), ("Ben", 1, None), ("Chen", 2, 7.0)]


def test_row_order_is_ignored_unless_ordered():
    shuffled = [GOLD[2], GOLD[0], GOLD[1]]
    assert match_results(shuffled, GOLD, ordered=False)
    result = match_results(shuffled, GOLD, ordered=True)
    assert not result and "order" in result.reason
    assert match_results(list(GOLD), GOLD, ordered=True)


def test_duplicates_count():
    assert not match_results([("a",), ("a",), ("b",)], [("a",), ("b",), ("b",)], ordered=False)
    assert not match_results([("a",), ("b",)], [("a",), ("a",), ("b",)], ordered=False)
    assert match_results([("b",), ("a",), ("a",)], [("a",), ("b",), ("a",)], ordered=False)


def test_floats_within_tolerance_and_ints_equal_floats():
    assert match_results([(0.1 + 0.2,)], [(0.3,)], ordered=True)
    assert match_results([(5,)], [(5.0,)], ordered=True)
    assert match_results([(1234567.891,)], [(1234567.8910000002,)], ordered=True)
    assert not match_results([(12.3456,)], [(12.35,)], ordered=True), "rounding the question asks for matters"
    assert not match_results([(1.0,)], [(1.001,)], ordered=True)
    assert not match_results([(10**20 + 1,)], [(10**20,)], ordered=True), "integers compare exactly"


def test_float_noise_does_not_break_unordered_pairing():
    # The noise flips which row sorts first by the float; the rows must still pair up.
    gold = [(0.30000000000000004, "x"), (0.3, "y")]
    predicted = [(0.3, "x"), (0.30000000000000004, "y")]
    assert match_results(predicted, gold, ordered=False)


def test_nulls_match_only_nulls():
    assert match_results([(None, 1)], [(None, 1)], ordered=True)
    assert not match_results([(None,)], [(0,)], ordered=True)
    assert not match_results([("",)], [(None,)], ordered=True)
    assert match_results([(None,), (1,), ("a",)], [("a",), (None,), (1,)], ordered=False)


def test_types_do_not_mix():
    assert not match_results([("5",)], [(5,)], ordered=True)
    assert not match_results([(b"a",)], [("a",)], ordered=True)
    assert match_results([(b"\x00\x01",)], [(b"\x00\x01",)], ordered=True)


def test_column_order_counts_unless_told_otherwise():
    predicted = [(3, "Ana"), (1, "Ben")]
    gold = [("Ana", 3), ("Ben", 1)]
    assert not match_results(predicted, gold, ordered=False)
    assert match_results(predicted, gold, ordered=False, ignore_column_order=True)
    assert match_results(predicted, gold, ordered=True, ignore_column_order=True)
    # Permuting columns must keep rows together: the same column values in other rows do not match.
    assert not match_results([(1, "Ana"), (3, "Ben")], gold, ordered=False, ignore_column_order=True)


def test_shape_mismatches_say_what_differs():
    result = match_results([("Ana",)], GOLD, ordered=False)
    assert not result and "1 rows" in result.reason and "3" in result.reason
    result = match_results([("Ana", 3), ("Ben", 1), ("Chen", 2)], GOLD, ordered=False)
    assert not result and "2 columns" in result.reason
    assert not match_results([], GOLD, ordered=False)


@pytest.mark.parametrize("sql, expected", [
    ("SELECT a FROM t ORDER BY a", True),
    ("select a from t order   by a desc limit 3", True),
    ("SELECT a FROM t ORDER /* comment */ BY a", True),
    ("SELECT a FROM t WHERE a IN (SELECT b FROM u ORDER BY b LIMIT 3)", False),
    ("SELECT a, ROW_NUMBER() OVER (ORDER BY a) FROM t", False),
    ("SELECT 'order by' FROM t", False),
    ('SELECT "order" FROM t -- ORDER BY a', False),
    ("SELECT a FROM (SELECT a FROM t ORDER BY a)", False),
    ("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1", True),
    ("WITH x AS (SELECT a FROM t ORDER BY a) SELECT a FROM x", False),
    ("SELECT [order] FROM t", False),
    ("SELECT a FROM t ORDER", False),
    ("SELECT a FROM t WHERE b = ')' ORDER BY a", True),
    ("SELECT ((a)) FROM t) ORDER BY a", True),  # unbalanced: never below depth 0
])
def test_top_level_order_by(sql, expected):
    assert has_top_level_order_by(sql) is expected
