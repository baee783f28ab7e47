"""agentgym's built-in environment families (installed as ``agentgym.envs``).

Each family registers its environments by entry-point string, so importing this package is
cheap: a family's modules (and heavy dependencies, such as a browser) load only when one of its
environments is made.
"""

from agentgym.envs import games  # noqa: F401  (registers games/* and the game suites)
from agentgym.envs import tools  # noqa: F401  (registers tools/* and the tool suites)
from agentgym.envs import search  # noqa: F401  (registers search/* and the search suite)
from agentgym.envs.web import miniwob, shop  # noqa: F401,E402  (registers web/* and the web suites)
from agentgym.envs import gui  # noqa: F401,E402  (registers gui/* and the GUI suite)
from agentgym.envs.dialogue import clinical, questbench  # noqa: F401,E402  (registers dialogue/* and its suites)
from agentgym.envs import synthetic  # noqa: F401,E402  (registers synthetic/Experience-v0)
from agentgym.suites import register_suite

# A suite's contents never change under its name: quick-v1 is quick-v0 plus a tools task.
register_suite(
    "quick-v1",
    [(env_id, range(3), {"difficulty": "easy"}) for env_id in (
        "games/GuessTheNumber-v0", "games/Wordle-v0", "games/TicTacToe-v0", "games/FrozenLake-v0",
        "tools/SQL-v0")],
    "quick-v0's four easy games and an easy Text2SQL task (tools family), three seeds each: a smoke test "
    "of an agent in a minute or two.",
)
