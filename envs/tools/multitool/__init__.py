"""Multi-tool tasks with gold call sequences: questions (and requests) that chain the store's
tools and a currency exchange desk, all in-process, for ToolRL-style rewards.

Modules: :mod:`~agentgym.envs.tools.multitool.exchange` (rates and the ``convert_currency``
toolset), :mod:`~agentgym.envs.tools.multitool.tasks` (templates with gold calls, answers and
goal states) and :mod:`~agentgym.envs.tools.multitool.env` (the environment, registered as
``tools/MultiTool-v0``).
"""
