"""``RayEnv``: one environment on a :class:`~agentgym.ray.RayEnvPool` worker, as a synchronous Gymnasium env.

What crosses the boundary is plain data (see :mod:`agentgym.ray.pool`): the observation as the
environment returns it, the reward as ``float``, the end flags as ``bool``, ``info`` through
:func:`~agentgym.trajectory.json_safe`, so a step's result is the local one up to JSON's types.

What happens when something fails, exactly:

- Every call waits at most ``timeout`` seconds, so a hung environment never hangs the caller.
- When the worker dies (``ray.exceptions.RayActorError``) or a call times out, ``step`` answers
  an error observation ``"Environment actor error: <why>"``, reward ``0.0``,
  ``terminated=False``, ``truncated=True`` and ``info = {"reward_components": {}, "error":
  <why>, "success": False, "error_kind": ErrorKind.ENV_ERROR or ErrorKind.TIMEOUT,
  "env_failed": True, "ray_error": <exception class>}``. The episode is over for the caller
  (``truncated``), marked failed with its cause, never silently scored as a plain 0; a
  ``step`` before the next ``reset`` answers the same kind of error observation, and
  ``reset`` builds a fresh environment (on a replacement worker if its worker died).
  A timed-out call on the env's own worker (no ``pool`` given) kills that worker, so nothing
  is left hung; on a shared ``pool`` the environment is abandoned instead (its hung thread is
  counted in ``pool.stats()``), since the worker hosts other environments.
- ``reset`` that meets a dead worker opens a fresh environment and retries once; if that fails
  too it returns the error observation and ``info`` (with ``task_id`` ``None``) instead of raising.
- An exception *raised by the environment* is raised again here as its own type (Ray's
  ``RayTaskError(<type>)`` is an instance of it), exactly as a local environment would raise it.
- ``close`` closes the environment (a short wait) and, if the env started its own worker,
  kills it; it never raises. A closed env refuses ``reset`` and ``step`` (``RuntimeError``),
  on a shared ``pool`` too: it never opens a fresh environment there behind the caller's back.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import gymnasium as gym
import ray
import ray.exceptions

from agentgym.info import ErrorKind
from agentgym.ray.pool import RayEnvError, RayEnvPool, RayEnvRef
from agentgym.runtime.worker import checked_timeout

#: CPUs the worker of a RayEnv without a pool reserves: four such environments per core.
DEFAULT_ACTOR_NUM_CPUS = 0.25
#: Seconds a build, reset or step may take (as the rollout engine's 60 s).
DEFAULT_CALL_TIMEOUT = 60.0
_CLOSE_WAIT_S = 5.0  # close() waits this long for the environment's own close


class RayEnv(gym.Env):
    """A Gymnasium env whose environment lives on a Ray worker (see the module docstring).

    Args:
        env_id: a registered id (``agentgym list``); ``None`` only with ``env_fn``.
        pool: a :class:`RayEnvPool` to open the environment on (shared, left running by
            :meth:`close`). Without one the env starts its own one-worker pool.
        num_cpus: CPUs its own worker reserves (fractional; 0.25 by default).
        timeout: seconds a build, ``reset`` or ``step`` may take: a finite positive number
            (``None``: wait forever, not advised); anything else is a ``ValueError`` before
            any worker starts.
        actor_options: more ``ActorClass.options(...)`` for its own worker (``resources``,
            ``runtime_env``, ``scheduling_strategy``...).
        env_fn: a picklable zero-argument factory run in the worker instead of
            ``agentgym.make(env_id, **kwargs)`` (an environment that is not registered on the
            cluster's nodes).
        **kwargs: ``agentgym.make``'s arguments (``max_turns``, ``difficulty``, ``wrappers``...).

    Ray is started with ``ray.init()`` if it is not running (see :class:`RayEnvPool`). The
    constructor waits for the environment to be built and raises :class:`RayEnvError` (with
    the cause) when it cannot be.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, env_id: str | None = None, *, pool: RayEnvPool | None = None,
                 num_cpus: float = DEFAULT_ACTOR_NUM_CPUS, timeout: float | None = DEFAULT_CALL_TIMEOUT,
                 actor_options: dict[str, Any] | None = None, env_fn: Callable[[], gym.Env] | None = None,
                 **kwargs: Any) -> None:
        if env_id is None and env_fn is None:
            raise ValueError("RayEnv needs an env_id or an env_fn")
        timeout = checked_timeout("timeout", timeout)  # before anything starts
        self.env_id = env_id
        self.timeout = timeout
        self._factory = env_fn if env_fn is not None else functools.partial(_make, env_id, kwargs)
        self._owns_pool = pool is None
        self._pool = pool if pool is not None else RayEnvPool(1, num_cpus_per_worker=num_cpus,
                                                               actor_options=actor_options)
        self._episode_lost = False
        self._closed = False
        #: how many times the environment was rebuilt after its worker died or a call hung
        self.restarts = 0
        self._ref: RayEnvRef | None = None
        try:
            self._ref = self._pool.open(self._factory, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - any failure to start is reported the same way
            self._release_pool()
            lines = [line for line in str(exc).strip().splitlines() if line.strip()] or [type(exc).__name__]
            raise RayEnvError(f"cannot start {env_id or env_fn!r} on a Ray worker: {lines[-1].strip()}") from exc
        self.observation_space = self._ref.observation_space
        self.action_space = self._ref.action_space
        self.metadata = {**self._ref.metadata, "render_modes": []}

    @property
    def ref(self) -> RayEnvRef | None:
        """The environment on its worker (``None`` after a failure until the next ``reset``)."""
        return self._ref

    @property
    def pool(self) -> RayEnvPool:
        return self._pool

    # ------------------------------------------------------------------ failures
    def _failure(self, exc: BaseException, method: str) -> tuple[str, dict[str, Any]]:
        """Drop the failed environment after ``exc``; the error observation and info."""
        ref, self._ref = self._ref, None
        if isinstance(exc, ray.exceptions.GetTimeoutError):
            if self._owns_pool:
                self._pool.restart_worker(ref)
                why = f"{method} timed out after {self.timeout} s; its worker was killed and replaced"
            else:
                ref.abandon()
                why = f"{method} timed out after {self.timeout} s; the environment was abandoned"
            kind = ErrorKind.TIMEOUT
        else:
            self._pool.worker_failed(ref)
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            why = f"the environment's Ray worker died during {method} ({type(exc).__name__}: {first_line}); " \
                  "it was replaced"
            kind = ErrorKind.ENV_ERROR
            ref.close()
        self.restarts += 1
        self._episode_lost = True
        info = {"reward_components": {}, "error": why, "success": False, "error_kind": kind,
                "env_failed": True, "ray_error": type(exc).__name__}
        return f"Environment actor error: {why}", info

    def _get(self, object_ref: Any) -> Any:
        return ray.get(object_ref, timeout=self.timeout)

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self._check_open()
        for attempt in range(2):
            try:
                if self._ref is None:
                    self._ref = self._pool.open(self._factory, timeout=self.timeout)
                observation, info = self._get(self._ref.reset(seed, options))
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
                observation, info = self._failure(exc, "reset")
                if attempt == 0:
                    continue
                return observation, {**info, "task_id": None}
            except (TimeoutError, RayEnvError) as exc:  # building a fresh environment failed
                self._episode_lost = True
                kind = ErrorKind.TIMEOUT if isinstance(exc, TimeoutError) else ErrorKind.ENV_ERROR
                info = {"reward_components": {}, "error": str(exc), "success": False, "error_kind": kind,
                        "env_failed": True, "ray_error": type(exc).__name__}
                if attempt == 0:
                    continue
                return f"Environment actor error: {exc}", {**info, "task_id": None}
            self._episode_lost = False
            return observation, info
        raise AssertionError("unreachable")  # pragma: no cover

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._check_open()
        if self._episode_lost or self._ref is None:
            why = "step skipped: the environment's worker failed and it has not been reset since"
            info = {"reward_components": {}, "error": why, "success": False, "error_kind": ErrorKind.ENV_ERROR,
                    "env_failed": True}
            return f"Environment actor error: {why}", 0.0, False, True, info
        try:
            return self._get(self._ref.step(action))
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
            observation, info = self._failure(exc, "step")
            return observation, 0.0, False, True, info

    def close(self) -> None:
        self._closed = True
        ref, self._ref = self._ref, None
        if ref is not None:
            try:
                ray.get(ref.close(), timeout=_CLOSE_WAIT_S)
            except Exception:  # noqa: BLE001 - dead, hung or failing: dropped either way
                ref.abandon()
        self._release_pool()
        super().close()

    def _release_pool(self) -> None:
        if self._owns_pool:
            self._pool.shutdown()

    def _check_open(self) -> None:
        if self._closed or (self._owns_pool and self._pool.closed):
            raise RuntimeError("RayEnv is closed")


def _make(env_id: str, kwargs: dict[str, Any]) -> gym.Env:
    import agentgym

    return agentgym.make(env_id, **kwargs)
