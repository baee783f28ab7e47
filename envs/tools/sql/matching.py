"""Execution-result match: does a predicted query's result equal the gold query's?

As in the Text2SQL reinforcement-learning work (Spider/BIRD execution accuracy, SkyRL-SQL), a
prediction is judged by what it returns, not by how it is written:

* rows are compared as a **multiset** (duplicates count; order ignored) unless the gold query
  has a top-level ``ORDER BY`` (:func:`has_top_level_order_by`), in which case the order
  must agree too;
* columns are compared by position (the question says which columns, in which order); column
  names do not matter. ``ignore_column_order=True`` accepts any permutation of the columns
  (as Spider's test-suite evaluation does);
* numbers compare by value (``5`` equals ``5.0``), floats within ``rel_tol``/``abs_tol``
  (sums taken in another order differ in the last bits); text, blobs and ``NULL`` compare
  exactly; text never equals a number (``'5'`` is not ``5``).

SkyRL-SQL compares ``frozenset``s of rows: duplicates and order are ignored and floats must be
bit-identical. The multiset here is stricter about duplicates and more lenient about float
noise.

The unordered comparison sorts both sides by a canonical key (floats rounded to 9 significant
digits) and then compares row by row with the tolerance; two rows whose floats differ only by
noise and sit exactly on a rounding boundary of the ninth digit could be paired wrongly, which
real results practically never hit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

Row = Sequence[Any]
_PERMUTATION_BUDGET = 5_040  # 7! column orders at most
_PERMUTATION_CELLS = 200_000  # and at most about this many values compared over all orders tried


@dataclass(frozen=True)
class MatchResult:
    """``matched``, and when not, ``reason``: what differs (for logs and the final observation)."""

    matched: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.matched


def match_results(predicted: Sequence[Row], gold: Sequence[Row], *, ordered: bool,
                  ignore_column_order: bool = False, rel_tol: float = 1e-6,
                  abs_tol: float = 1e-9) -> MatchResult:
    """Compare two results (sequences of rows); see the module docstring for the rules."""
    if len(predicted) != len(gold):
        return MatchResult(False, f"the result has {len(predicted)} rows; the expected result has {len(gold)}")
    widths = {len(row) for row in predicted} | {len(row) for row in gold}
    if len(widths) > 1:
        pred_width = len(predicted[0]) if predicted else 0
        gold_width = len(gold[0]) if gold else 0
        return MatchResult(False, f"the result has {pred_width} columns; the expected result has {gold_width}")
    if not gold:
        return MatchResult(True)
    if _rows_match(predicted, gold, ordered, rel_tol, abs_tol):
        return MatchResult(True)
    if ignore_column_order:
        for order in _column_orders(predicted, gold):
            permuted = [tuple(row[i] for i in order) for row in predicted]
            if _rows_match(permuted, gold, ordered, rel_tol, abs_tol):
                return MatchResult(True)
    if ordered and _rows_match(predicted, gold, False, rel_tol, abs_tol):
        return MatchResult(False, "the rows are right but not in the order the question asks for")
    return MatchResult(False, "the values differ from the expected result")


def _rows_match(predicted: Sequence[Row], gold: Sequence[Row], ordered: bool, rel_tol: float, abs_tol: float) -> bool:
    if not ordered:
        predicted = sorted(predicted, key=_row_key)
        gold = sorted(gold, key=_row_key)
    return all(_row_equal(p, g, rel_tol, abs_tol) for p, g in zip(predicted, gold))


def _row_equal(predicted: Row, gold: Row, rel_tol: float, abs_tol: float) -> bool:
    return all(_value_equal(p, g, rel_tol, abs_tol) for p, g in zip(predicted, gold))


def _value_equal(predicted: Any, gold: Any, rel_tol: float, abs_tol: float) -> bool:
    p_number, g_number = _is_number(predicted), _is_number(gold)
    if p_number and g_number:
        if isinstance(predicted, int) and isinstance(gold, int):
            return predicted == gold
        return predicted == gold or math.isclose(predicted, gold, rel_tol=rel_tol, abs_tol=abs_tol)
    if p_number or g_number:
        return False
    return type(predicted) is type(gold) and predicted == gold


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))  # bool is an int: SQLite has no booleans anyway


def _value_key(value: Any) -> tuple[int, Any]:
    """A total order across SQLite's types: NULL < numbers < text < blobs."""
    if value is None:
        return (0, 0)
    if _is_number(value):
        if isinstance(value, float) and math.isfinite(value) and value != 0.0:
            value = round(value, 8 - math.floor(math.log10(abs(value))))
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return (3, bytes(value))
    return (4, repr(value))


def _row_key(row: Row) -> tuple[tuple[int, Any], ...]:
    return tuple(_value_key(value) for value in row)


def _column_orders(predicted: Sequence[Row], gold: Sequence[Row]) -> list[tuple[int, ...]]:
    """Orders of the predicted columns worth trying: each gold column may only be filled by a
    predicted column holding the same multiset of (canonical) values, each predicted column
    once. At most :data:`_PERMUTATION_BUDGET` orders (fewer for large results: each order costs
    a comparison of every value), found by a search that takes at most ``width`` steps per order
    wanted (columns that all look alike must not make it walk ``width ** width`` assignments)."""
    width = len(gold[0])
    wanted = max(1, min(_PERMUTATION_BUDGET, _PERMUTATION_CELLS // (width * len(gold))))
    signature = lambda rows, i: sorted(_value_key(row[i]) for row in rows)  # noqa: E731
    pred_signatures = [signature(predicted, i) for i in range(width)]
    gold_signatures = [signature(gold, j) for j in range(width)]
    candidates = [[i for i in range(width) if pred_signatures[i] == gold_signatures[j]] for j in range(width)]
    if any(not options for options in candidates):
        return []
    orders: list[tuple[int, ...]] = []
    steps = wanted * width
    used = [False] * width
    order: list[int] = []
    tried = [0]  # tried[j]: how many of candidates[j] the search has gone through
    while tried and len(orders) < wanted and steps > 0:
        j = len(tried) - 1
        if j == width:  # every gold column has its predicted column
            orders.append(tuple(order))
            tried.pop()
        elif tried[j] == len(candidates[j]):  # no column left for gold column j: back up
            tried.pop()
        else:
            i = candidates[j][tried[j]]
            tried[j] += 1
            if used[i]:
                continue
            steps -= 1
            used[i] = True
            order.append(i)
            tried.append(0)
            continue
        if order:  # leaving column j: free the column chosen for j - 1
            used[order.pop()] = False
    return orders


# ------------------------------------------------------------------ ORDER BY detection
_TOKEN = re.compile(
    r"""(?P<skip>'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?|--[^\n]*|/\*.*?(?:\*/|\Z))"""
    r"""|(?P<open>\()|(?P<close>\))|(?P<word>[A-Za-z_][A-Za-z_0-9$]*)""",
    re.DOTALL,
)


def has_top_level_order_by(sql: str) -> bool:
    """Whether ``sql`` ends in an ``ORDER BY`` of its outermost query (one that orders the
    result), ignoring string literals, quoted identifiers, comments and anything inside
    parentheses (subqueries, window definitions such as ``OVER (ORDER BY ...)``)."""
    depth = 0
    previous = ""
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(0, depth - 1)
        elif kind == "word":
            word = match.group().upper()
            if depth == 0 and previous == "ORDER" and word == "BY":
                return True
            previous = word
            continue
        else:
            continue
        previous = ""
    return False
