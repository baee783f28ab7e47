"""Tool-using environments: the agent works through a tool (a database, ...) to answer.

* ``tools/SQL-v0`` — Text2SQL over generated SQLite databases (``shop``, ``school``,
  ``flights``): explore with read-only ``<sql>`` queries, submit an ``<answer>`` query, reward
  by execution-result match (:mod:`agentgym.envs.tools.sql`). Arguments: ``difficulty``
  (``easy``/``medium``/``hard``) and ``schema`` (``shop``/``school``/``flights``/``random``).
* ``tools/Python-v0`` — exact-answer problems (big-number arithmetic, counting, dates, string
  puzzles) solved by running code in a sandboxed Python interpreter, then answering
  (:mod:`agentgym.envs.tools.python`). Arguments: ``difficulty``, ``families``, ``code_runs``.
* ``tools/MathDataset-v0`` and ``tools/CodeDataset-v0`` — the shipped datasets as
  dataset-backed environments: math answers checked by equivalence (single-turn), code checked
  by unit tests in the sandbox (three attempts with feedback, a Python tool). Any JSONL /
  Parquet / Hugging Face dataset registers the same way with
  :func:`agentgym.envs.tools.datasets.register_dataset` (:mod:`agentgym.envs.tools.datasets`).
* ``tools/Service-v0`` — customer-service requests on a store served by a real MCP server (a
  child process over stdio; :mod:`agentgym.envs.tools.service`): success when the server's
  final state matches the goal, gold calls exposed for ToolRL. Argument: ``difficulty``.
* ``tools/MultiTool-v0`` — questions and requests that chain several local toolsets (accounts,
  catalogue, orders, currency exchange; :mod:`agentgym.envs.tools.multitool`), with gold call
  sequences for ToolRL-style rewards. Argument: ``difficulty``.

Environments register by entry-point string, so importing this package loads none of them.
"""

from __future__ import annotations

from agentgym.registry import register
from agentgym.suites import register_suite

# id, module:Class, turn budget of the TurnLimit wrapper, tags, description
_TOOL_ENVS = [
    ("SQL", "sql.env:SQLEnv", 20, ("sql", "text2sql", "hidden-answer"),
     "Answer a question about a generated SQLite database with read-only queries; reward by "
     "execution-result match."),
    ("Python", "python.env:PythonTasksEnv", 16, ("python", "code-execution", "hidden-answer"),
     "Compute an exact answer (big numbers, counting, dates, string puzzles) by running Python in a sandbox, "
     "then answer."),
    ("MathDataset", "datasets.builtin:MathDatasetEnv", 5, ("dataset", "math", "hidden-answer"),
     "Math problems from a dataset file; the final answer is checked by equivalence, not string match."),
    ("CodeDataset", "datasets.builtin:CodeDatasetEnv", 12, ("dataset", "code", "code-execution"),
     "Write a Python function; unit tests run in a sandbox, with three attempts and the failures as feedback."),
    ("Service", "service.env:ServiceEnv", 24, ("mcp", "stateful", "multi-step", "gold-calls"),
     "Carry out a customer-service request with the tools of a store served over MCP; success when the "
     "server's final state matches the goal."),
    ("MultiTool", "multitool.env:MultiToolEnv", 20, ("multi-tool", "gold-calls", "stateful"),
     "Answer questions and carry out requests that chain several toolsets; gold call sequences for "
     "ToolRL-style rewards."),
]

for _name, _target, _turns, _tags, _description in _TOOL_ENVS:
    register(
        f"tools/{_name}-v0",
        f"agentgym.envs.tools.{_target}",
        max_turns=_turns,
        tags=_tags,
        description=_description,
    )

TOOL_ENV_IDS = tuple(f"tools/{name}-v0" for name, *_ in _TOOL_ENVS)

register_suite(
    "sql-v0",
    [("tools/SQL-v0", range(20), {"difficulty": level}) for level in ("easy", "medium", "hard")],
    "Text2SQL at every difficulty over the three schemas, twenty seeds each.",
)

register_suite(
    "python-v0",
    [("tools/Python-v0", range(20), {"difficulty": level}) for level in ("easy", "medium", "hard")],
    "Python tasks (arithmetic, counting, dates, strings) at every difficulty, twenty seeds each.",
)
register_suite(
    "service-v0",
    [("tools/Service-v0", range(10), {"difficulty": level}) for level in ("easy", "medium", "hard")],
    "Store requests over MCP at every difficulty, ten seeds each (each episode starts its own server).",
)
register_suite(
    "multitool-v0",
    [("tools/MultiTool-v0", range(20), {"difficulty": level}) for level in ("easy", "medium", "hard")],
    "Multi-tool questions and requests at every difficulty, twenty seeds each.",
)
