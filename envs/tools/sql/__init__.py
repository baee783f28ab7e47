"""Text2SQL: answer questions about generated SQLite databases with read-only queries.

Modules: :mod:`~agentgym.envs.tools.sql.schemas` (the seeded databases),
:mod:`~agentgym.envs.tools.sql.questions` (questions with their gold SQL),
:mod:`~agentgym.envs.tools.sql.executor` (read-only execution with a time limit and row cap),
:mod:`~agentgym.envs.tools.sql.matching` (execution-result match) and
:mod:`~agentgym.envs.tools.sql.env` (the environment, registered as ``tools/SQL-v0``).
"""
