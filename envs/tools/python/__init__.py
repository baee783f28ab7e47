"""Python tasks: exact-answer problems that are far easier with code, solved by running code in
the sandbox and then answering.

Modules: :mod:`~agentgym.envs.tools.python.tasks` (the seeded generators, their answers and
oracle programs) and :mod:`~agentgym.envs.tools.python.env` (the environment, registered as
``tools/Python-v0``).
"""
