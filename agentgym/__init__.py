"""agentgym: train and benchmark LLM agents in multi-turn environments.

Quick start::

    import agentgym

    env = agentgym.make("games/GuessTheNumber-v0", difficulty="easy")
    observation, info = env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("50")
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

# Built-in environments register themselves on import (entry-point strings: nothing heavy is
# imported until an environment is made).
from agentgym import envs as _builtin_envs  # noqa: E402,F401
