"""agentgym: train and benchmark LLM agents in multi-turn environments.

Quick start::

    import agentgym

    env = agentgym.make("games/GuessTheNumber-v0", difficulty="easy")
    observation, info = env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("10")   # numbers from 1 to 20 at easy
"""

from agentgym.core import ConfigError, Feedback, InvalidAction, LLMEnv
from agentgym.info import ErrorKind, ResetInfo, StepInfo
from agentgym.registry import EnvInfo, env_info, families, list_envs, load_plugins, make, register
from agentgym.spaces import UnicodeText, text_and_image_space
from agentgym.suites import Suite, SuiteEntry, build_suite, env_suite, get_suite, list_suites, register_suite
from agentgym.tools import Tool, ToolError
from agentgym.trajectory import Trajectory, TrajectoryReader, TrajectoryWriter, Turn, read_trajectories
from agentgym.vector import AsyncioVectorEnv, ThreadVectorEnv, make_vec

__version__ = "0.1.0"

__all__ = [
    "AsyncioVectorEnv",
    "ConfigError",
    "EnvInfo",
    "ErrorKind",
    "Feedback",
    "InvalidAction",
    "LLMEnv",
    "ResetInfo",
    "StepInfo",
    "Suite",
    "SuiteEntry",
    "ThreadVectorEnv",
    "Tool",
    "ToolError",
    "Trajectory",
    "TrajectoryReader",
    "TrajectoryWriter",
    "Turn",
    "UnicodeText",
    "build_suite",
    "env_info",
    "env_suite",
    "families",
    "get_suite",
    "list_envs",
    "list_suites",
    "load_plugins",
    "make",
    "make_vec",
    "read_trajectories",
    "register",
    "register_suite",
    "text_and_image_space",
]


def _register_builtin_envs() -> None:
    """Import :mod:`agentgym.envs`, whose families register themselves (entry-point strings:
    nothing heavy is imported until an environment is made), then load the entry-point plugins.

    The plugins are held back until every family is registered: a built-in suite looks its ids
    up, which loads them, and loading them half-way through (after the games, before the tools)
    let a plugin take a built-in id and the family's own registration then raise, failing
    ``import agentgym``. They are loaded here, not on first use, because :func:`load_plugins`
    marks them loaded before it imports them: two threads making their first environment at
    once would have one of them see none of the plugins' ids."""
    from agentgym import registry

    with registry.plugins_held():
        from agentgym import envs  # noqa: F401
    registry.load_plugins()


_register_builtin_envs()
