"""``EnvActor`` (one environment in a Ray actor) and ``RayEnv`` (the Gymnasium env that drives it).

What crosses the actor boundary is plain data: the observation as the environment returns it
(strings, or numpy arrays that Ray serialises), the reward as a ``float``, ``terminated`` and
``truncated`` as ``bool``, and ``info`` passed through :func:`~agentgym.trajectory.json_safe`
(tuples become lists, arrays a short description), so a step's result is the local one up to
JSON's types.

What happens when the actor fails, exactly (:class:`RayEnv`):

- Every call waits at most ``timeout`` seconds (``ray.get(..., timeout=...)``), so a hung
  environment never hangs the caller.
- When the actor dies (its process exited or was killed, its node was lost:
  ``ray.exceptions.RayActorError``) or a call times out, the actor is killed (``ray.kill``) and
  a fresh one is started at once, and ``step`` answers an error observation
  ``"Environment actor error: <why>"``, reward ``0.0``, ``terminated=False``, ``truncated=True``
  and ``info = {"reward_components": {}, "error": <why>, "success": False, "error_kind":
  ErrorKind.ENV_ERROR or ErrorKind.TIMEOUT, "env_failed": True, "ray_error": <exception class>}``.
  The episode is over for the caller (``truncated``), marked failed with its cause, never
  silently scored as a plain 0; call ``reset`` to go on, on the fresh actor. A ``step`` before
  that ``reset`` answers the same kind of error observation.
- ``reset`` that meets a dead actor starts a fresh one and retries once; if that fails too it
  returns the error observation and ``info`` (with ``task_id`` ``None``) instead of raising.
- An exception *raised by the environment* inside the actor is raised again here, as its own
  type (``RayTaskError.as_instanceof_cause``), exactly as a local environment would raise it.
- ``close`` closes the environment (best effort, a short wait) and kills the actor, so no actor
  outlives the run; it never raises.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import gymnasium as gym

try:
    import ray
    import ray.exceptions
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("agentgym.ray needs Ray: pip install 'agentgym[ray]' (or pip install 'ray>=2.9')") from exc

from agentgym.info import ErrorKind
from agentgym.trajectory import json_safe

#: CPUs each environment actor reserves by default: four environments per core.
DEFAULT_ACTOR_NUM_CPUS = 0.25
#: Seconds a reset or step may take before the actor is replaced (as the rollout engine's 60 s).
DEFAULT_CALL_TIMEOUT = 60.0
_CLOSE_WAIT_S = 5.0  # close() waits this long for the environment's own close before the kill


class RayEnvError(RuntimeError):
    """The environment could not be started in a Ray actor (bad id or arguments, no resources)."""


class EnvActor:
    """One environment, made by ``agentgym.make(env_id, **make_kwargs)`` (or ``env_fn()``), in an actor.

    Use it through :class:`RayEnv`; as a Ray actor class it is :data:`RemoteEnvActor`
    (``EnvActor`` itself stays a plain class so that its contract can be read and tested).
    """

    def __init__(self, env_id: str | None, make_kwargs: dict[str, Any],
                 env_fn: Callable[[], gym.Env] | None = None) -> None:
        if env_fn is not None:
            self.env = env_fn()
        else:
            import agentgym

            self.env = agentgym.make(env_id, **make_kwargs)

    def spaces(self) -> tuple[gym.Space, gym.Space, dict[str, Any]]:
        """The observation space, the action space and the metadata."""
        return self.env.observation_space, self.env.action_space, dict(getattr(self.env, "metadata", {}))

    def reset(self, seed: int | None, options: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        return observation, json_safe(info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        return observation, float(reward), bool(terminated), bool(truncated), json_safe(info)

    def close(self) -> None:
        self.env.close()

    def pid(self) -> int:
        """The actor's process id (for tests and diagnostics)."""
        import os

        return os.getpid()


#: The Ray actor class of :class:`EnvActor`. ``max_restarts=0``: :class:`RayEnv` replaces a
#: dead actor itself, so that it knows the episode was lost and says so.
RemoteEnvActor = ray.remote(max_restarts=0)(EnvActor)


class RayEnv(gym.Env):
    """A Gymnasium env whose environment lives in a Ray actor (see the module docstring).

    Args:
        env_id: a registered id (``agentgym list``); ``None`` only with ``env_fn``.
        num_cpus: CPUs the actor reserves (fractional; 0.25 by default).
        timeout: seconds a ``reset`` or ``step`` may take before the actor is replaced
            (``None``: wait forever, not advised).
        actor_options: more ``ActorClass.options(...)`` (``resources``, ``runtime_env``,
            ``scheduling_strategy``, ``memory``...).
        env_fn: a picklable zero-argument factory run in the actor instead of
            ``agentgym.make(env_id, **kwargs)`` (an environment that is not registered on the
            cluster's nodes).
        **kwargs: ``agentgym.make``'s arguments (``max_turns``, ``difficulty``, ``wrappers``...).

    Ray is started with ``ray.init()`` on the first call if it is not running (a local
    instance); call ``ray.init(address=...)`` first to use a cluster. The constructor waits
    for the actor to build its environment and raises :class:`RayEnvError` when it cannot.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, env_id: str | None = None, *, num_cpus: float = DEFAULT_ACTOR_NUM_CPUS,
                 timeout: float | None = DEFAULT_CALL_TIMEOUT, actor_options: dict[str, Any] | None = None,
                 env_fn: Callable[[], gym.Env] | None = None, **kwargs: Any) -> None:
        if env_id is None and env_fn is None:
            raise ValueError("RayEnv needs an env_id or an env_fn")
        if not (isinstance(num_cpus, (int, float)) and num_cpus >= 0):
            raise ValueError(f"num_cpus must be a non-negative number, got {num_cpus!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive or None, got {timeout!r}")
        self.env_id = env_id
        self.timeout = timeout
        self._actor_args = (env_id, kwargs, env_fn)
        self._actor_options = {"num_cpus": num_cpus, **(actor_options or {})}
        self._episode_lost = False
        self.restarts = 0  # how many times the actor was replaced
        self._actor: Any = self._start_actor()
        try:
            self.observation_space, self.action_space, metadata = self._get(self._actor.spaces.remote())
        except Exception as exc:  # noqa: BLE001 - any failure to start is reported the same way
            self._kill()
            lines = [line for line in str(exc).strip().splitlines() if line.strip()] or [type(exc).__name__]
            raise RayEnvError(f"cannot start {env_id or env_fn!r} in a Ray actor: {lines[-1].strip()}") from exc
        self.metadata = {**metadata, "render_modes": []}

    # ------------------------------------------------------------------ the actor
    @property
    def actor(self) -> Any:
        """The current actor handle (it changes when the actor is replaced)."""
        return self._actor

    def _start_actor(self) -> Any:
        return RemoteEnvActor.options(**self._actor_options).remote(*self._actor_args)

    def _get(self, ref: Any) -> Any:
        return ray.get(ref, timeout=self.timeout)

    def _kill(self) -> None:
        if self._actor is not None:
            try:
                ray.kill(self._actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
            self._actor = None

    def _replace_actor(self) -> None:
        self._kill()
        self._actor = self._start_actor()  # starts in the background; the next call waits for it
        self.restarts += 1

    def _failure(self, exc: BaseException, method: str) -> tuple[str, dict[str, Any]]:
        """Replace the actor after ``exc``; the error observation and info that report it."""
        if isinstance(exc, ray.exceptions.GetTimeoutError):
            why = f"{method} timed out after {self.timeout} s; the actor was killed and replaced"
            kind = ErrorKind.TIMEOUT
        else:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            why = f"the environment's Ray actor died during {method} ({type(exc).__name__}: {first_line}); " \
                  "it was replaced"
            kind = ErrorKind.ENV_ERROR
        self._replace_actor()
        self._episode_lost = True
        info = {"reward_components": {}, "error": why, "success": False, "error_kind": kind,
                "env_failed": True, "ray_error": type(exc).__name__}
        return f"Environment actor error: {why}", info

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        for attempt in range(2):
            if self._actor is None:
                self._replace_actor()
            try:
                observation, info = self._get(self._actor.reset.remote(seed, options))
            except ray.exceptions.RayTaskError as exc:  # the environment itself raised
                raise exc.as_instanceof_cause() from None
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
                observation, info = self._failure(exc, "reset")
                if attempt == 0:
                    continue
                return observation, {**info, "task_id": None}
            self._episode_lost = False
            return observation, info
        raise AssertionError("unreachable")  # pragma: no cover

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._episode_lost:
            why = "step skipped: the environment's actor failed and it has not been reset since"
            info = {"reward_components": {}, "error": why, "success": False, "error_kind": ErrorKind.ENV_ERROR,
                    "env_failed": True}
            return f"Environment actor error: {why}", 0.0, False, True, info
        try:
            return self._get(self._actor.step.remote(action))
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
            observation, info = self._failure(exc, "step")
            return observation, 0.0, False, True, info

    def close(self) -> None:
        if self._actor is not None:
            try:
                ray.get(self._actor.close.remote(), timeout=_CLOSE_WAIT_S)
            except Exception:  # noqa: BLE001 - dead, hung or failing: the kill below ends it anyway
                pass
            self._kill()
        super().close()

    def __del__(self) -> None:  # an env dropped without close() must not leave its actor behind
        actor = getattr(self, "_actor", None)
        if actor is not None:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - interpreter shutdown, Ray already down
                pass


def make_ray_vec(env_id: str, num_envs: int, *, num_cpus: float = DEFAULT_ACTOR_NUM_CPUS,
                 timeout: float | None = DEFAULT_CALL_TIMEOUT, actor_options: dict[str, Any] | None = None,
                 autoreset_mode: Any = None, **make_kwargs: Any):
    """``num_envs`` :class:`RayEnv` of ``env_id`` in a :class:`~agentgym.vector.ThreadVectorEnv`.

    Each slot's thread waits on its own actor, so a batch takes as long as the slowest actor.
    The vector env's ``step_timeout`` is left above ``timeout`` (twice it), so the actor's own
    timeout answers first, with its cause, and kills the hung actor.
    """
    from agentgym.vector import ThreadVectorEnv

    if not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    factory = functools.partial(RayEnv, env_id, num_cpus=num_cpus, timeout=timeout,
                                actor_options=actor_options, **make_kwargs)
    extra = {} if autoreset_mode is None else {"autoreset_mode": autoreset_mode}
    envs = ThreadVectorEnv([factory] * num_envs, step_timeout=None if timeout is None else 2 * timeout, **extra)
    envs.spec = gym.spec(env_id)
    return envs
