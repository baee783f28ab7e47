"""agentgym's built-in environment families (installed as ``agentgym.envs``).

Each family registers its environments by entry-point string, so importing this package is
cheap: a family's modules (and heavy dependencies, such as a browser) load only when one of its
environments is made.
"""

from agentgym.envs import games  # noqa: F401  (registers games/* and the game suites)
from agentgym.envs import tools  # noqa: F401  (registers tools/* and the tool suites)
