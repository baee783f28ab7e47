"""Text2SQL: answer a question about a generated SQLite database by writing a query.

An episode draws a schema (``shop``, ``school`` or ``flights``, or the one the ``schema``
argument names), one of ``databases`` seeded databases of it, and a question of the level's
difficulty with its gold query (:mod:`~agentgym.envs.tools.sql.questions`). The first
observation shows the database (``CREATE`` statements, row counts and three sample rows per
table) and the question. Actions:

* ``<sql>QUERY</sql>`` runs a read-only query and shows its result (at most ``display_rows``
  rows and ``max_result_chars`` characters); no reward; it uses a turn;
* ``<answer>QUERY</answer>`` submits the final query (``<solution>QUERY</solution>``, SkyRL-SQL's
  tag, is accepted too): reward ``outcome`` 1 if its result matches the gold query's
  (:mod:`~agentgym.envs.tools.sql.matching`: multiset of rows, order only when the gold query
  has a top-level ``ORDER BY``, floats within a tolerance), else 0; the episode ends either way,
  also when the query fails.

When an action holds several tags, a complete answer tag wins, and the last one counts. Tags
are case-insensitive and a Markdown code fence inside one is ignored. An action with no
complete tag, or an empty one, is an invalid action (``info["error"]``; ``error_kind``
``format``); it changes nothing and uses no turn. A query that fails (syntax error, refused
write, time limit) is a normal turn whose observation shows the error (``info["sql_error"]``).
After ``turn_budget`` turns without an answer the episode ends with reward 0.

Every query runs through :class:`~agentgym.envs.tools.sql.executor.SQLExecutor` on a private,
read-only in-memory copy of the database, with a ``time_limit`` and a row cap. The gold query
is ``reference_answer``; it never appears in an observation.

For tool-calling set-ups, :meth:`SQLEnv.run_sql` runs a query and returns the rendered result
without using a turn, :meth:`SQLEnv.grade` judges a query against the gold answer without
ending the episode, and :data:`RUN_SQL_PARAMETERS` is the JSON schema of a ``run_sql(query)``
tool's arguments.
"""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar

from agentgym.core import ConfigError, Feedback, InvalidAction, LLMEnv, check_int, check_number
from agentgym.envs.tools.sql.executor import (QueryResult, SQLExecutor, connect_read_only, render_error,
                                              render_result)
from agentgym.envs.tools.sql.matching import MatchResult, match_results
from agentgym.envs.tools.sql.questions import Question, draw_question, q
from agentgym.envs.tools.sql.schemas import SCHEMAS, Database, build_database
from agentgym.info import ErrorKind

#: JSON schema of the arguments of a ``run_sql`` tool (one read-only query).
RUN_SQL_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"query": {"type": "string",
                             "description": "One read-only SQLite query (SELECT or WITH ... SELECT)."}},
    "required": ["query"],
    "additionalProperties": False,
}
#: Turns per episode at each level (explorations plus the answer).
TURN_BUDGETS = {"easy": 5, "medium": 7, "hard": 9}

_SUBMIT = re.compile(r"<(answer|solution)>((?:(?!<(?:answer|solution)>).)*?)</\1>", re.IGNORECASE | re.DOTALL)
_EXPLORE = re.compile(r"<sql>((?:(?!<sql>).)*?)</sql>", re.IGNORECASE | re.DOTALL)
_OPENING = re.compile(r"<(sql|answer|solution)>", re.IGNORECASE)
_OPENING_FENCE = re.compile(r"```[A-Za-z]*")


def _unfence(query: str) -> str:
    """``query`` stripped of blank space and of a Markdown code fence around it (```` ```sql ````
    and its language word, the closing ```` ``` ````). Without a regular expression tried at every
    position: a pattern for the closing fence that started at each character of a long run of
    blank space took time quadratic in its length (12,000 newlines: seconds)."""
    query = query.strip()
    opening = _OPENING_FENCE.match(query)
    if opening:
        query = query[opening.end():].lstrip()
    if query.endswith("```"):
        query = query[:-3].rstrip()
    return query


class SQLEnv(LLMEnv):
    """Answer questions about SQLite databases with read-only queries (see the module docstring).

    Args:
        difficulty: ``easy`` (one-table filters), ``medium`` (joins, ``GROUP BY``/``HAVING``) or
            ``hard`` (nested subqueries, several joins, ``ORDER BY ... LIMIT``).
        schema: ``shop``, ``school``, ``flights``, or ``random`` (drawn per episode).
        databases: how many seeded databases per schema episodes draw from (each built once and
            cached in memory).
        turn_budget: turns per episode; ``None``: :data:`TURN_BUDGETS` of the level.
        time_limit: seconds one query may run.
        max_rows: rows a query may return (the rest are never produced; a submitted query with
            more rows than this cannot match).
        display_rows, max_result_chars: how much of a result an observation shows.
        **kwargs: :class:`~agentgym.core.LLMEnv`'s (``invalid_penalty``, ``max_action_chars``...).
    """

    family: ClassVar[str] = "tools"
    difficulties: ClassVar[tuple[str, ...]] = ("easy", "medium", "hard")

    def __init__(self, difficulty: str | None = None, *, schema: str = "random", databases: int = 16,
                 turn_budget: int | None = None, time_limit: float = 2.0, max_rows: int = 1_000,
                 display_rows: int = 30, max_result_chars: int = 4_000, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        if schema != "random" and schema not in SCHEMAS:
            raise ConfigError(f"{owner}: schema must be one of {', '.join(SCHEMAS)} or random, got {schema!r}")
        self.schema = schema
        self.databases = check_int(owner, "databases", databases, minimum=1)
        if turn_budget is None:
            turn_budget = TURN_BUDGETS[self.difficulty]
        self.turn_budget = check_int(owner, "turn_budget", turn_budget, minimum=1)
        self.time_limit = check_number(owner, "time_limit", time_limit, minimum=0.001)
        self.max_rows = check_int(owner, "max_rows", max_rows, minimum=1)
        self.display_rows = check_int(owner, "display_rows", display_rows, minimum=1)
        self.max_result_chars = check_int(owner, "max_result_chars", max_result_chars, minimum=100)
        self.instructions = (
            "Answer the question about the SQLite database by writing one SQL query. To look at the data, "
            "run a read-only query with <sql>SELECT ...</sql>: you will see its result. When your query is "
            "ready, submit it with <answer>SELECT ...</answer>; it is correct when its result equals the "
            "expected one (row order only counts when the question asks for an order). Submitting ends the "
            f"episode. You have {self.turn_budget} turns; a query may run {self.time_limit:g} s and only reads."
        )
        self.database: Database | None = None
        self.question: Question | None = None
        self._executor: SQLExecutor | None = None
        self.turns_used = 0

    # ------------------------------------------------------------------ episode
    def new_episode(self, options: dict[str, Any]) -> str:
        schema = self.schema if self.schema != "random" else self.rng.choice(SCHEMAS)
        database = build_database(schema, self.rng.randrange(self.databases))
        self._use(database)
        self.question = draw_question(schema, self.difficulty, self.rng, self._executor)
        self.turns_used = 0
        return (f"You are connected to the SQLite database {database.name!r}. Its tables:\n\n"
                f"{database.description}\n\nQuestion: {self.question.text}\n\n"
                f"You have {self.turn_budget} turns. Run a query with <sql>SELECT ...</sql> or submit your "
                "final query with <answer>SELECT ...</answer>.")

    def _use(self, database: Database) -> None:
        """Connect to ``database`` (the connection is kept while episodes stay on it)."""
        if self.database is database and self._executor is not None:
            return
        self._close_executor()
        self._executor = SQLExecutor(connect_read_only(database.image), time_limit=self.time_limit,
                                     max_rows=self.max_rows)
        self.database = database

    def play(self, action: str) -> Feedback:
        try:
            kind, query = self._parse(action)
        except InvalidAction as exc:
            feedback = self._invalid(str(exc))
            feedback.error_kind = ErrorKind.FORMAT
            return feedback
        self.turns_used += 1
        if kind == "answer":
            return self._submit(query)
        result = self._executor.execute(query)
        text = render_result(result, max_rows=self.display_rows, max_chars=self.max_result_chars)
        info = {"sql_error": result.error, "sql_error_kind": result.error_kind, "rows": len(result.rows)}
        left = self.turn_budget - self.turns_used
        if left <= 0:
            return Feedback(f"{text}\n\nYou are out of turns without submitting an answer.",
                            {"outcome": 0.0}, terminated=True, info=info)
        note = ("1 turn left: submit your answer with <answer>...</answer> now." if left == 1
                else f"{left} turns left.")
        return Feedback(f"{text}\n\n{note}", {}, info=info)

    def _submit(self, query: str) -> Feedback:
        result = self._executor.execute(query)
        info: dict[str, Any] = {"sql_error": result.error, "sql_error_kind": result.error_kind,
                                "rows": len(result.rows)}
        if not result.ok:
            info["match_reason"] = "the query failed"
            error = render_error(result.error, self.max_result_chars)
            return Feedback(f"Your query failed: {error}. The answer is wrong.",
                            {"outcome": 0.0}, terminated=True, info=info)
        match = self._match(result)
        info["match_reason"] = match.reason
        if match:
            return Feedback("Correct: your query returns the expected result.", {"outcome": 1.0},
                            terminated=True, success=True, info=info)
        return Feedback(f"Wrong: {match.reason}.", {"outcome": 0.0}, terminated=True, info=info)

    def _match(self, result: QueryResult) -> MatchResult:
        """``result`` (a successful one) against the gold answer; a result cut at ``max_rows``
        never matches, and its reason says it had more rows (not ``max_rows`` of them)."""
        if result.truncated:
            return MatchResult(False, f"the result has more than {self.max_rows} rows; the expected result "
                                      f"has {len(self.question.answer)}")
        return match_results(result.rows, self.question.answer, ordered=self.question.ordered)

    def _parse(self, action: str) -> tuple[str, str]:
        """``("answer" | "explore", query)``; :class:`InvalidAction` when there is no usable tag."""
        submissions = _SUBMIT.findall(action)
        if submissions:
            kind, (tag, query) = "answer", submissions[-1]
        else:
            explorations = _EXPLORE.findall(action)
            if not explorations:
                opening = _OPENING.search(action)
                if opening:
                    name = opening.group(1).lower()
                    raise InvalidAction(f"the <{name}> tag is not closed: write <{name}>SELECT ...</{name}>.")
                raise InvalidAction("no query found: run a query with <sql>SELECT ...</sql> or submit one "
                                   "with <answer>SELECT ...</answer>.")
            kind, tag, query = "explore", "sql", explorations[-1]
        query = _unfence(query)
        if not query:
            raise InvalidAction(f"the <{tag.lower()}> tag is empty: put one SQL query inside it.")
        return kind, query

    # ------------------------------------------------------------------ tools
    def run_sql(self, query: str) -> str:
        """Run ``query`` on this episode's database and return its rendered result (or error)
        as the agent would see it, without using a turn. Never raises for a bad query.

        Raises:
            RuntimeError: no episode has started (call ``reset`` first).
        """
        if self._executor is None:
            raise RuntimeError("call reset() before run_sql(): no database is open")
        return render_result(self._executor.execute(query), max_rows=self.display_rows,
                             max_chars=self.max_result_chars)

    def grade(self, query: str) -> MatchResult:
        """Whether ``query``'s result matches this episode's gold answer, without ending the
        episode (for a reward provider or a ``submit`` tool).

        Raises:
            RuntimeError: no episode has started.
        """
        if self._executor is None or self.question is None:
            raise RuntimeError("call reset() before grade(): there is no question")
        result = self._executor.execute(query)
        if not result.ok:
            return MatchResult(False, f"the query failed: {render_error(result.error, self.max_result_chars)}")
        return self._match(result)

    # ------------------------------------------------------------------ baselines
    @property
    def reference_answer(self) -> str | None:
        return None if self.question is None else self.question.gold_sql

    @property
    def answer_stub(self) -> str:
        return "<answer>"

    def oracle_action(self) -> str:
        """Runs the gold query once (above the easy level), then submits it."""
        if self.turns_used == 0 and self.difficulty != "easy" and self.turn_budget > 1:
            return f"<sql>{self.question.gold_sql}</sql>"
        return f"<answer>{self.question.gold_sql}</answer>"

    def random_action(self, rng: random.Random) -> str:
        """A random but well-formed query on a random table of the episode's database: a filter,
        a count, a grouping or a top-n; submitted as the answer one time in four."""
        if self.database is None:
            return "<sql>SELECT 1</sql>"
        table = rng.choice(self.database.tables)
        columns = [name for name, _ in table.columns]
        picked = ", ".join(rng.sample(columns, rng.randint(1, min(3, len(columns)))))
        column = rng.choice(columns)
        values = table.samples.get(column) or (0,)
        value = rng.choice(values)
        literal = q(value) if isinstance(value, str) else repr(value)
        operator = rng.choice(("=", "<", ">")) if isinstance(value, (int, float)) else "="
        shape = rng.randrange(4)
        if shape == 0:
            query = f"SELECT COUNT(*) FROM {table.name} WHERE {column} {operator} {literal}"
        elif shape == 1:
            query = f"SELECT {picked} FROM {table.name} WHERE {column} {operator} {literal}"
        elif shape == 2:
            query = f"SELECT {column}, COUNT(*) FROM {table.name} GROUP BY {column}"
        else:
            query = f"SELECT {picked} FROM {table.name} ORDER BY {column} DESC LIMIT {rng.randint(1, 10)}"
        tag = "answer" if rng.random() < 0.25 else "sql"
        return f"<{tag}>{query}</{tag}>"

    def render_text(self) -> str:
        if self.question is None:
            return "SQL: no episode yet"
        return (f"SQL {self.database.name} ({self.difficulty}), turn {self.turns_used}/{self.turn_budget}\n"
                f"Question: {self.question.text}\n\nLast observation:\n{super().render_text()}")

    # ------------------------------------------------------------------ closing
    def _close_executor(self) -> None:
        if self._executor is not None:
            self._executor.close()
            self._executor = None
        self.database = None

    def close(self) -> None:
        self._close_executor()
        super().close()
