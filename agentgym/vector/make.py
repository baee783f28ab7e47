"""``make_vec``: a vector of registered environments in one call."""

from __future__ import annotations

import functools
import pickle
from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode

from agentgym.core import is_int
from agentgym.registry import make
from agentgym.vector._slots import SlotVectorEnv, _clipped
from agentgym.runtime.worker import DEFAULT_MAX_ABANDONED_THREADS
from agentgym.vector.asyncio_vector_env import AsyncioVectorEnv
from agentgym.vector.thread_vector_env import ThreadVectorEnv

_MODES: dict[str, type[SlotVectorEnv]] = {"thread": ThreadVectorEnv, "asyncio": AsyncioVectorEnv}

#: make_vec's default ``step_timeout``, the same as the rollout engine's
DEFAULT_STEP_TIMEOUT = 60.0


def make_vec(
    env_id: str,
    num_envs: int,
    *,
    mode: str = "thread",
    step_timeout: float | None = DEFAULT_STEP_TIMEOUT,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    max_abandoned_threads: int = DEFAULT_MAX_ABANDONED_THREADS,
    isolation: str = "thread",
    start_method: str = "spawn",
    **make_kwargs: Any,
) -> SlotVectorEnv:
    """``num_envs`` copies of ``env_id``, each built by :func:`agentgym.make`, stepped at once.

    Args:
        mode: ``"thread"`` (:class:`ThreadVectorEnv`) or ``"asyncio"`` (:class:`AsyncioVectorEnv`).
        step_timeout: seconds building, resetting or stepping an environment may take before
            that slot gets an error result instead (60 s by default, as in the rollout engine;
            ``None`` waits forever, so one hung environment would stall every ``step``).
        autoreset_mode: Gymnasium's autoreset mode (``NEXT_STEP`` by default).
        max_abandoned_threads: how many timed-out calls may still be hung in abandoned threads
            in this process before ``reset``/``step`` raise ``HungEnvironmentError`` (32).
        isolation: ``"thread"`` (default), or ``"process"``: each environment in a child
            process that is killed and replaced when a call outlasts ``step_timeout``;
            ``make_kwargs`` must then pickle (a ``TypeError`` names one that does not).
        start_method: the ``multiprocessing`` start method for ``isolation="process"``
            (``"spawn"`` by default).
        make_kwargs: passed to :func:`agentgym.make` (``difficulty``, ``max_turns``...).

    Example::

        envs = agentgym.vector.make_vec("games/GuessTheNumber-v0", 8, difficulty="easy")
        observations, infos = envs.reset(seed=0)
        observations, rewards, terminations, truncations, infos = envs.step(["50"] * 8)
    """
    if mode not in _MODES:
        hint = " (for environments in child processes, use isolation='process')" if mode == "process" else ""
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}{hint}")
    if not is_int(num_envs) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    if isolation == "process":
        _check_picklable(make_kwargs)
    factory = functools.partial(make, env_id, **make_kwargs)
    envs = _MODES[mode](
        [factory] * int(num_envs),
        step_timeout=step_timeout,
        autoreset_mode=autoreset_mode,
        max_abandoned_threads=max_abandoned_threads,
        isolation=isolation,
        start_method=start_method,
    )
    envs.spec = gym.spec(env_id)
    return envs


def _check_picklable(make_kwargs: dict[str, Any]) -> None:
    """Under process isolation the arguments for :func:`agentgym.make` go to every child process:
    a ``TypeError`` naming the first that cannot be pickled (a lambda among the wrappers, a lock),
    before any process starts."""
    for name, value in make_kwargs.items():
        try:
            pickle.dumps(value)
        except Exception as exc:  # noqa: BLE001 - pickling fails in many ways (AttributeError, TypeError...)
            raise TypeError(f"isolation='process' sends make_vec's arguments to each child process, and "
                            f"{name}={_clipped(value)} cannot be pickled ({exc}): pass values that pickle "
                            f"(module-level functions and classes, WrapperSpecs)") from None
