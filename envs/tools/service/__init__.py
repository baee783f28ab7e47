"""A stateful store service served over MCP, and tasks judged on the server's final state.

Modules: :mod:`~agentgym.envs.tools.service.store` (the world, its business rules and the
seeded world generator), :mod:`~agentgym.envs.tools.service.api` (the tools, written once:
schemas and handlers, plus the hidden admin tools), :mod:`~agentgym.envs.tools.service.server`
(the MCP server over stdio: ``python -m agentgym.envs.tools.service.server``),
:mod:`~agentgym.envs.tools.service.local` (the same tools in-process, as a toolset),
:mod:`~agentgym.envs.tools.service.tasks` (tasks with gold calls and goal states) and
:mod:`~agentgym.envs.tools.service.env` (the environment, registered as ``tools/Service-v0``).
"""
