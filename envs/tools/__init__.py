"""Tool-using environments: the agent works through a tool (a database, ...) to answer.

* ``tools/SQL-v0`` — Text2SQL over generated SQLite databases (``shop``, ``school``,
  ``flights``): explore with read-only ``<sql>`` queries, submit an ``<answer>`` query, reward
  by execution-result match (:mod:`agentgym.envs.tools.sql`). Arguments: ``difficulty``
  (``easy``/``medium``/``hard``) and ``schema`` (``shop``/``school``/``flights``/``random``).

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
