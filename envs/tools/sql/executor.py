"""Read-only execution of untrusted SQL against a generated database.

:func:`connect_read_only` opens a database (a serialized image, loaded into a private in-memory
copy, or a file opened through a ``mode=ro`` URI) and locks the connection down:

* ``PRAGMA query_only`` is on, and an authorizer allows only reading: ``SELECT`` (with ``WITH``,
  recursive CTEs, ``VALUES``, ``EXPLAIN``), functions other than those of
  :data:`DENIED_FUNCTIONS`, and the introspection pragmas of
  :data:`READ_ONLY_PRAGMAS` (also in their table-valued form, ``SELECT name FROM
  pragma_table_info('orders')``). Everything else — ``INSERT``/``UPDATE``/``DELETE``, ``CREATE``/
  ``DROP``/``ALTER``, ``ATTACH``/``DETACH``, transactions and savepoints, ``VACUUM``,
  ``ANALYZE`` and every pragma that sets a value (``writable_schema``, ``query_only = 0``) — is
  refused before it runs;
* SQLite's own limits are lowered: no attached databases, values of at most
  :data:`MAX_VALUE_BYTES` (``randomblob(1e9)`` fails instead of allocating a gigabyte),
  at most :data:`MAX_COLUMNS` columns (tables, results, indexes), bounded expression depth and
  compound selects;
* loading extensions stays disabled (Python's default);
* a ``WITH`` clause whose common table expressions would expand to more than
  :data:`MAX_CTE_EXPANSION` tokens is refused before SQLite sees it (:func:`cte_expansion`):
  SQLite copies a CTE at each reference while it compiles, where no time limit reaches, and
  CTEs that each use the one before twice double the copies (18 of them: 10 s and 390 MB).

:class:`SQLExecutor` runs one statement at a time on such a connection with a wall-clock
``time_limit`` (at the deadline a watchdog thread interrupts the statement, which SQLite checks
at every virtual-machine instruction: a recursive CTE that never ends, a cross join of huge tables, rows
of slow string functions; a progress handler called every few thousand instructions checks the
clock too), a ``max_rows`` cap (rows past it are never produced) and a cap of
:data:`MAX_RESULT_BYTES` on the memory of a result's values (a larger result is an error, not
memory: ten ``zeroblob(99999)`` columns over a thousand rows were a gigabyte). It never raises
for anything a query does: errors come back in :class:`QueryResult` as text for the agent.
:func:`render_result` formats a result as a table within a character budget.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.core import check_int, check_number

#: Pragmas that only read the schema; every other pragma is refused.
READ_ONLY_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "collation_list",
})
#: The largest string or blob a query may build: small enough that one call of a string function
#: on such values (``instr``, ``replace``: time quadratic in their length) takes tens of
#: milliseconds, as the time limit can stop a statement only between calls (4 s at 1 MB).
MAX_VALUE_BYTES = 100_000
#: The most columns a table, an index or a result may have: with :data:`MAX_VALUE_BYTES`, one
#: result row holds at most 20 MB (SQLite's default of 2,000 columns let one row hold 200 MB).
MAX_COLUMNS = 200
#: The most bytes one result's values may take in memory (their ``sys.getsizeof``, counted as
#: rows are fetched); a result past it is an error of kind ``"too_large"``.
MAX_RESULT_BYTES = 16_000_000
#: The progress handler runs every this many virtual-machine instructions.
PROGRESS_INTERVAL = 4_000
#: The most tokens (names, parentheses, commas) a query's common table expressions may expand to
#: (see :func:`cte_expansion`): SQLite copies a CTE's body at every reference while it compiles
#: the statement, before the time limit or :meth:`SQLExecutor.close` can act (measured: about
#: 0.15 s and 5 MB per 100,000 tokens of this count, on two busy cores).
MAX_CTE_EXPANSION = 100_000

_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
#: Functions refused: ``load_extension``; ``fts3_tokenizer`` (it reveals a pointer); ``printf``
#: and ``format``, whose ``%.*c`` repeats a character up to 2**31 times in one call (the value
#: limit only makes the result NULL at the end): seconds of CPU per call that the time limit
#: cannot stop, as the progress handler runs only between the virtual machine's jumps.
DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "printf", "format"})
_LIMITS = (
    (sqlite3.SQLITE_LIMIT_ATTACHED, 0),
    (sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES),
    (sqlite3.SQLITE_LIMIT_COLUMN, MAX_COLUMNS),
    (sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000),
    (sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 200),
    (sqlite3.SQLITE_LIMIT_COMPOUND_SELECT, 50),
    (sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1_000),
)


def _authorize(action: int, arg1: str | None, arg2: str | None, database: str | None,
               trigger: str | None) -> int:
    """SQLite authorizer: allow reads, refuse everything that writes or changes state."""
    if action in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in READ_ONLY_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def connect_read_only(source: bytes | str | Path) -> sqlite3.Connection:
    """A locked-down connection (see the module docstring) to ``source``: a serialized
    database image (``bytes``; the connection gets its own in-memory copy) or the path of a
    database file (opened with ``mode=ro``). The connection may be used from any thread, one
    thread at a time.

    Raises:
        TypeError: ``source`` is neither bytes nor a path.
        sqlite3.Error: the image or file is not a database.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            connection.deserialize(bytes(source))
        except BaseException:
            connection.close()
            raise
    elif isinstance(source, (str, Path)):
        uri = Path(source).resolve().as_uri() + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    else:
        raise TypeError(f"connect_read_only needs database bytes or a file path, got {type(source).__name__}")
    try:
        connection.execute("PRAGMA query_only = 1")
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # fails now if not a database
        for pragma in sorted(READ_ONLY_PRAGMAS):
            # their table-valued forms (SELECT ... FROM pragma_table_info('t')) are made at first
            # use, an action the authorizer refuses: make them now
            connection.execute(f"SELECT * FROM pragma_{pragma} LIMIT 0").fetchall()
        for limit, value in _LIMITS:
            connection.setlimit(limit, value)
        connection.set_authorizer(_authorize)
    except BaseException:
        connection.close()
        raise
    return connection


@dataclass
class QueryResult:
    """What one statement returned.

    Attributes:
        columns: the result's column names (empty for a statement that returns nothing).
        rows: the rows, at most the executor's ``max_rows``.
        truncated: the statement had more rows than ``max_rows`` (the rest were not produced).
        error: why the statement failed, written for the agent; ``None`` on success.
        error_kind: ``"refused"`` (not allowed: a write, a disabled function, a ``WITH`` clause
            past :data:`MAX_CTE_EXPANSION`), ``"timeout"``, ``"sql"`` (SQLite rejected or
            failed it), ``"input"`` (not a single statement of valid text), ``"too_large"`` (its
            rows hold more than :data:`MAX_RESULT_BYTES`) or ``"closed"`` (the executor was
            closed); ``None`` on success.
        elapsed: seconds the statement ran.
    """

    columns: tuple[str, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    truncated: bool = False
    error: str | None = None
    error_kind: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class SQLExecutor:
    """Runs untrusted statements on a :func:`connect_read_only` connection.

    Args:
        connection: the connection (the executor installs its progress handler on it).
        time_limit: seconds a statement may run, fetching its rows included.
        max_rows: rows kept per statement; one more is fetched to tell whether there were more.
            Rows holding more than :data:`MAX_RESULT_BYTES` in all make the statement an error.

    :meth:`close` may come from another thread while a statement runs: it stops the statement
    (SQLite's interrupt, and the progress handler refuses to go on) and closes the connection
    only once the statement has left SQLite. Closing a connection under a running statement can
    crash the interpreter (seen: a segmentation fault when the close came as the statement
    started).
    """

    def __init__(self, connection: sqlite3.Connection, *, time_limit: float = 2.0, max_rows: int = 1_000) -> None:
        self.connection = connection
        self.time_limit = check_number("SQLExecutor", "time_limit", time_limit, minimum=0.001)
        self.max_rows = check_int("SQLExecutor", "max_rows", max_rows, minimum=1)
        self._deadline = 0.0
        self._timed_out = False
        self._closed = False
        self._in_sqlite = threading.Lock()  # held while a statement runs; close() waits for it
        # The handler holds the executor weakly: the watchdog's thread holds the connection,
        # and the executor must stay collectable (its finalizer stops that thread).
        connection.set_progress_handler(_weak_progress(weakref.ref(self)), PROGRESS_INTERVAL)
        self._watchdog = _Watchdog(connection)
        weakref.finalize(self, self._watchdog.stop)  # an executor dropped without close()

    def _progress(self) -> int:
        if self._closed:
            return 1  # closed from another thread: abort now (an interrupt may have come too early)
        if time.monotonic() > self._deadline:
            self._timed_out = True
            return 1  # non-zero: SQLite aborts the statement with "interrupted"
        return 0

    def execute(self, sql: Any) -> QueryResult:
        """Run one statement and return its result or its error; never raises for a bad query."""
        if not isinstance(sql, str):
            return QueryResult(error=f"the query must be text, got {type(sql).__name__}", error_kind="input")
        if "\x00" in sql:
            return QueryResult(error="the query contains a NUL character", error_kind="input")
        try:
            sql.encode("utf-8")
        except UnicodeEncodeError:
            return QueryResult(error="the query is not valid unicode text (it has a lone surrogate)",
                               error_kind="input")
        if cte_expansion(sql) > MAX_CTE_EXPANSION:
            return QueryResult(error=f"not allowed: the query's WITH clause expands to more than "
                                     f"{MAX_CTE_EXPANSION:,} tokens (each reference to a common table "
                                     "expression copies it, and CTEs that use each other several times "
                                     "multiply); reference them fewer times", error_kind="refused")
        with self._in_sqlite:
            try:
                return self._execute_locked(sql)
            finally:
                self._watchdog.disarm()

    def _execute_locked(self, sql: str) -> QueryResult:
        start = time.monotonic()
        self._deadline = start + self.time_limit
        self._timed_out = False
        self._watchdog.arm(self._deadline)
        if self._closed:
            return QueryResult(error="the database session was closed", error_kind="closed")
        try:
            cursor = self.connection.cursor()
        except sqlite3.ProgrammingError:
            return QueryResult(error="the database session was closed", error_kind="closed")
        try:
            cursor.execute(sql)
            columns = tuple(str(d[0]) for d in cursor.description) if cursor.description else ()
            rows = self._fetch(cursor) if columns else None
        except sqlite3.Error as exc:
            return self._failure(exc, start)
        except (ValueError, OverflowError, MemoryError) as exc:  # e.g. an integer too big for Python's binding
            if self._closed:
                return QueryResult(error="the database session was closed", error_kind="closed",
                                   elapsed=time.monotonic() - start)
            return QueryResult(error=f"{type(exc).__name__}: {exc}", error_kind="sql", elapsed=time.monotonic() - start)
        finally:
            try:
                cursor.close()
            except sqlite3.ProgrammingError:  # the connection was closed from another thread
                pass
        if rows is None and columns:
            return QueryResult(error=f"the result is too large: its values hold more than {MAX_RESULT_BYTES:,} "
                                     "bytes; select fewer or shorter values (length(), substr()) or fewer rows",
                               error_kind="too_large", elapsed=time.monotonic() - start)
        rows = rows or []
        truncated = len(rows) > self.max_rows
        return QueryResult(columns, rows[: self.max_rows], truncated, elapsed=time.monotonic() - start)

    def _fetch(self, cursor: sqlite3.Cursor) -> list[tuple[Any, ...]] | None:
        """Up to ``max_rows + 1`` rows of ``cursor``; ``None`` once they hold more than
        :data:`MAX_RESULT_BYTES` (the rest is not fetched)."""
        rows: list[tuple[Any, ...]] = []
        size = 0
        while len(rows) <= self.max_rows:
            row = cursor.fetchone()
            if row is None:
                break
            size += sum(map(sys.getsizeof, row))
            if size > MAX_RESULT_BYTES:
                return None
            rows.append(row)
        return rows

    def _failure(self, exc: sqlite3.Error, start: float) -> QueryResult:
        elapsed = time.monotonic() - start
        message = str(exc)
        if self._closed:
            return QueryResult(error="the database session was closed", error_kind="closed", elapsed=elapsed)
        if self._timed_out or self._watchdog.fired:
            return QueryResult(error=f"the query was stopped after the time limit of {self.time_limit:g} s",
                               error_kind="timeout", elapsed=elapsed)
        if message.startswith("not authorized to use function: "):
            name = message.rpartition(": ")[2].lower()
            return QueryResult(error=f"not allowed: the function {name}() is disabled here", error_kind="refused",
                               elapsed=elapsed)
        if "not authorized" in message or "authorization denied" in message or "readonly" in message:
            return QueryResult(error="not allowed: the database is read-only; run a single SELECT "
                                     "(or WITH ... SELECT) query", error_kind="refused", elapsed=elapsed)
        if isinstance(exc, sqlite3.ProgrammingError) and "one statement" in message:
            return QueryResult(error="run one statement at a time (no ';' between statements)",
                               error_kind="input", elapsed=elapsed)
        if "too big" in message:
            message += f" (values are limited to {MAX_VALUE_BYTES:,} bytes)"
        elif "too many columns" in message:
            message += f" (at most {MAX_COLUMNS} columns)"
        return QueryResult(error=f"SQL error: {message}", error_kind="sql", elapsed=elapsed)

    def close(self) -> None:
        """Stop a statement running in another thread (it returns an error at once) and close
        the connection once that statement has left SQLite. Idempotent; safe to call from any
        thread."""
        self._closed = True
        self._watchdog.stop()
        try:
            self.connection.interrupt()
        except sqlite3.ProgrammingError:  # already closed
            pass
        # The progress handler aborts within PROGRESS_INTERVAL virtual-machine steps; a statement
        # that still holds the lock after this long is stuck outside them, and its connection is
        # left to the garbage collector rather than closed under it.
        if self._in_sqlite.acquire(timeout=5.0):
            try:
                self.connection.close()
            finally:
                self._in_sqlite.release()


_SQL_TOKEN = re.compile(
    r"""--[^\n]*|/\*.*?(?:\*/|\Z)"""  # comments
    r"""|'(?P<single>(?:[^']|'')*)'?|"(?P<double>(?:[^"]|"")*)"?|`(?P<back>(?:[^`]|``)*)`?"""
    r"""|\[(?P<bracket>[^\]]*)\]?"""  # quoted names (SQLite takes a string literal as a name too)
    r"""|(?P<word>[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*)|(?P<punct>[(),])""",
    re.DOTALL,
)


def _names_and_parentheses(sql: str) -> list[str]:
    """``sql``'s names (lower case, unquoted) and parentheses, in order; other tokens dropped."""
    tokens = []
    for match in _SQL_TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind is None:  # a comment
            continue
        text = match.group(kind)
        if kind in ("single", "double", "back"):
            text = text.replace(match.group()[0] * 2, match.group()[0])
        tokens.append(text if kind == "punct" else "\0" + text.lower())  # names marked apart from ( ) ,
    return tokens


def _pairs(tokens: list[str]) -> dict[int, int]:
    """The index of each parenthesis's partner (an unclosed ``(`` pairs with ``len(tokens)``)."""
    pairs: dict[int, int] = {}
    opened: list[int] = []
    for i, token in enumerate(tokens):
        if token == "(":
            opened.append(i)
        elif token == ")" and opened:
            j = opened.pop()
            pairs[i], pairs[j] = j, i
    pairs.update((j, len(tokens)) for j in opened)
    return pairs


def cte_expansion(sql: str, limit: int = MAX_CTE_EXPANSION) -> int:
    """An upper bound on the tokens SQLite copies when it expands the common table expressions
    of ``sql`` (0 without a ``WITH``), counted up to ``limit`` (past it, some number above it).

    Each reference to a CTE costs the CTE's size: its body's tokens plus the size of each CTE
    named in it; a CTE naming itself is recursive, not copied. The bound is loose, never low: a
    name is taken for a reference wherever it appears, to the largest of the CTEs of that name
    (whatever the scopes), and sizes are taken to the depth of the number of CTEs (a real chain of
    references is no longer; a name that only looks like a reference may make a cycle, which
    then only inflates the bound). It is tight enough to let any ordinary query through and to
    catch ``a1 AS (... FROM a0 x JOIN a0 y ...), a2 AS (... a1 ... a1 ...)``, whose size
    doubles at each CTE. Linear time in ``sql`` plus at most ``2.5 * limit`` steps."""
    if "with" not in sql.lower():
        return 0
    tokens = _names_and_parentheses(sql)
    pairs = _pairs(tokens)
    definitions: list[tuple[str, int, int]] = []  # (name, start, end) of each CTE's body
    named_at = set()  # where the names of definitions stand
    for i, token in enumerate(tokens):
        if token != "\0as" or i == 0:
            continue
        j = i + 1
        while j < len(tokens) and tokens[j] in ("\0not", "\0materialized"):
            j += 1
        if j == len(tokens) or tokens[j] != "(":
            continue
        name_at = i - 1
        if tokens[name_at] == ")":  # a column list: name(a, b) AS (...)
            name_at = pairs.get(name_at, 0) - 1
        if name_at >= 0 and tokens[name_at].startswith("\0"):
            definitions.append((tokens[name_at], j + 1, pairs[j]))
            named_at.add(name_at)
    if not definitions:
        return 0
    names = {name for name, _, _ in definitions}
    steps = sum(end - start for _, start, end in definitions)
    if steps > 2 * limit:
        return limit + 1
    references = [[token for token in tokens[start:end] if token in names and token != name]
                  for name, start, end in definitions]
    sizes = [end - start for _, start, end in definitions]

    def largest() -> dict[str, int]:  # the largest size of each name's CTEs
        found: dict[str, int] = {}
        for (name, _, _), size in zip(definitions, sizes):
            found[name] = max(size, found.get(name, 0))
        return found

    rounds = 0  # steps of the rounds, at most limit // 2 (a few hundred rounds for ordinary queries)
    for _ in range(len(definitions)):  # round k: sizes of chains of k references
        rounds += len(definitions) + sum(map(len, references))
        if rounds > limit // 2:
            return limit + 1
        by_name = largest()
        grown = [end - start + sum(by_name[token] for token in named)
                 for (_, start, end), named in zip(definitions, references)]
        if max(grown) > limit:
            return limit + 1
        if grown == sizes:
            break
        sizes = grown
    by_name = largest()
    total = 0
    for i, token in enumerate(tokens):
        if token in names and i not in named_at:
            total += by_name[token]
            if total > limit:
                break
    return total


def _weak_progress(executor: "weakref.ref[SQLExecutor]") -> Any:
    def progress() -> int:
        alive = executor()
        return 1 if alive is None else alive._progress()

    return progress


class _Watchdog:
    """Interrupts a connection's statement once its deadline passes: one thread per executor,
    started at its first statement, asleep between deadlines.

    SQLite checks an interrupt at every virtual-machine instruction, so a statement stops at the
    deadline even when its instructions are few and slow (string functions on large values),
    where the progress handler, called every :data:`PROGRESS_INTERVAL` instructions, may not
    run for seconds. :meth:`arm` costs a lock and no thread wake-up while statements come
    faster than the time limit (the thread, waiting for an earlier deadline, finds the later one
    when it wakes). An interrupt that comes just as a statement ends is harmless: SQLite clears
    it when the next statement starts. :meth:`stop` ends the thread (and joins it)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._condition = threading.Condition(threading.Lock())
        self._deadline: float | None = None
        self._idle = False  # the thread waits with no deadline: arm() must wake it
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.fired = False  # the last armed deadline passed

    def arm(self, deadline: float) -> None:
        with self._condition:
            if self._stopped:
                return
            self._deadline, self.fired = deadline, False
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="agentgym-sql-deadline", daemon=True)
                self._thread.start()
            elif self._idle:
                self._condition.notify()

    def disarm(self) -> None:
        with self._condition:
            self._deadline = None

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    def _watch(self) -> None:
        with self._condition:
            while not self._stopped:
                if self._deadline is None:
                    self._idle = True
                    self._condition.wait()
                    self._idle = False
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    # at most an hour at a time: a wait past threading.TIMEOUT_MAX (a time limit
                    # of centuries, which the executor takes) raises OverflowError
                    self._condition.wait(min(left, 3_600.0))
                    continue
                self._deadline, self.fired = None, True
                try:
                    self._connection.interrupt()
                except sqlite3.ProgrammingError:  # closed meanwhile
                    pass


#: What a cell shows escaped: the column separator, C0 and C1 control characters (line breaks,
#: tabs, NUL, ESC sequences) and U+2028/U+2029, so that each row is one line of plain text.
_UNPRINTABLE = re.compile("[|\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]")
#: What an error message shows escaped: the same characters but the separator.
_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]")
_ESCAPES = {"|": "\\|", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "NULL"
    elif isinstance(value, bytes):
        text = f"<blob {len(value)} bytes>"
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    text = _UNPRINTABLE.sub(_escape, text)
    return text if len(text) <= width else text[: width - 1] + "…"


def render_error(error: str, max_chars: int = 4_000) -> str:
    """An error message as one line of plain text of at most ``max_chars`` characters (cut
    ending in ``…``): SQLite's messages echo the query's identifiers and tokens (``no such
    table: ...``), which may hold control characters (escaped as in cells, ``\\n``, ``\\x1b``)
    and run to the length of the query."""
    text = _CONTROL.sub(_escape, error)
    return text if len(text) <= max_chars else text[: max(0, max_chars - 1)] + "…"


def render_result(result: QueryResult, *, max_rows: int = 30, max_chars: int = 4_000, cell_chars: int = 80) -> str:
    """``result`` as text for the agent: the error, or a ``|``-separated table of at most
    ``max_rows`` rows and ``max_chars`` characters (cells cut at ``cell_chars``), with the row
    count and a note when rows were left out. A header longer than ``max_chars`` is cut to half
    of it, and a first row that does not fit is shown cut at the budget (ending in ``…``). In cells and column names, ``|``, line breaks, tabs
    and other control characters are escaped (``\\|``, ``\\n``, ``\\t``, ``\\x1b``): one row is
    one line. An error is shown as ``Error: `` and :func:`render_error` of it, within ``max_chars``
    in all."""
    if result.error is not None:
        return "Error: " + render_error(result.error, max_chars - len("Error: "))
    if not result.columns:
        return "The statement returned no result set."
    header = " | ".join(_cell(name, cell_chars) for name in result.columns)
    if len(header) > max_chars:  # leave half the budget to the rows
        header = header[: max(1, max_chars // 2 - 1)] + "…"
    lines = [header]
    used = len(header)
    shown = 0
    for row in result.rows[:max_rows]:
        line = " | ".join(_cell(value, cell_chars) for value in row)
        if used + len(line) + 1 > max_chars:
            room = max_chars - used - 1
            if shown == 0 and room > 1:  # a first row wider than the budget is shown cut
                lines.append(line[: room - 1] + "…")
                shown += 1
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    total = f"{len(result.rows)}+" if result.truncated else str(len(result.rows))
    plural = "" if total == "1" else "s"
    partial = shown < len(result.rows) or result.truncated
    footer = f"({total} row{plural}" + (f"; the first {shown} shown)" if partial else ")")
    return "\n".join(lines + [footer])
