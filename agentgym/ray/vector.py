"""``RayVectorEnv``: a Gymnasium vector env whose environments live on a :class:`RayEnvPool`.

It is :class:`~agentgym.vector._slots.SlotVectorEnv` — the one implementation of agentgym's
vector semantics (autoreset modes, ``reset_mask``, vector infos, failures as error results),
shared with :class:`~agentgym.vector.ThreadVectorEnv` — whose slots' handles are
:class:`~agentgym.runtime.RayHandle`\\ s on a pool. Their resets and steps are coalesced
(:mod:`agentgym.ray.coalesce`), so a vector ``reset`` or ``step`` makes **one Ray call per
worker**: the worker runs each of its environments' calls in that environment's own thread, all
at once, and streams the outcomes back as they come.

What Ray adds to a failed slot's ``info`` (see :class:`~agentgym.runtime.remote.RayHandle`):

* the worker died (``RayActorError``): every environment of that worker fails, ``info["error"]``
  says the worker died and ``info["ray_error"]`` names the Ray exception; the pool starts a
  replacement worker;
* a call outlasted ``step_timeout``: the environment is abandoned on its worker (a hung call
  cannot be stopped), ``info["hung_threads"]`` counts that worker's hung calls; a worker that
  does not even answer within ``worker_grace`` more seconds (frozen, its node unreachable) is
  killed and replaced, and ``info["env_killed"]`` says so.

A failed environment is rebuilt from its factory at its slot's next reset (``NEXT_STEP``: on
the next ``step``; ``SAME_STEP``: at once; ``DISABLED``: at a masked reset), on the pool's
least-loaded live worker — a replacement, if its worker is gone.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import gymnasium as gym
from gymnasium.vector import AutoresetMode

from agentgym.ray.pool import RayEnvPool
from agentgym.runtime.handle import EnvFactory, EnvHandle
from agentgym.runtime.remote import DEFAULT_WORKER_GRACE_S, RayHandle
from agentgym.runtime.worker import checked_timeout
from agentgym.vector._slots import SlotVectorEnv

#: the default ``step_timeout``, the rollout engine's
DEFAULT_STEP_TIMEOUT = 60.0


class RayVectorEnv(SlotVectorEnv):
    """``len(env_fns)`` environments on Ray workers, one Ray call per worker per batch.

    Args:
        env_fns: one picklable zero-argument factory per environment (built in a worker).
        pool: the :class:`RayEnvPool` to use (shared; not shut down by :meth:`close`). Without
            one the vector env starts its own with ``num_workers`` workers of
            ``num_cpus_per_worker`` CPUs (and ``actor_options``), and shuts it down at close;
            it starts it only once every other argument is checked (a bad one raises before
            any worker starts).
        step_timeout: seconds each environment's reset, step or build may take (``None``:
            forever).
        autoreset_mode: ``AutoresetMode`` or its value.
        worker_grace: seconds a worker may take, after one of its calls timed out, to confirm
            that it abandoned it before it is taken for frozen, killed and replaced.

    Everything else — results, infos, autoreset, failures, ``call``/``get_attr``/``set_attr``
    (run in the environments' threads on their workers; functions, arguments and results must
    be picklable) — is :class:`~agentgym.vector._slots.SlotVectorEnv`'s. One ``reset``/``step``
    runs at a time. ``close()`` closes every environment (within ``step_timeout``) and shuts
    down the pool if the vector env started it.
    """

    def __init__(self, env_fns: Sequence[Callable[[], Any]], *, pool: RayEnvPool | None = None,
                 num_workers: int = 2, num_cpus_per_worker: float = 1.0,
                 actor_options: dict[str, Any] | None = None,
                 step_timeout: float | None = DEFAULT_STEP_TIMEOUT,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 worker_grace: float = DEFAULT_WORKER_GRACE_S) -> None:
        self.worker_grace = checked_timeout("worker_grace", worker_grace, allow_none=False)
        factories = list(env_fns)
        if not factories:
            raise ValueError("env_fns must hold at least one environment factory")
        self._owns_pool = pool is None
        #: the pool; one of its own is started by the first slot's handle, once
        #: SlotVectorEnv has checked every argument (a bad one starts no worker)
        self.pool: RayEnvPool | None = pool
        self._own_pool_arguments = (num_workers, num_cpus_per_worker, actor_options)
        try:
            super().__init__(factories, step_timeout=step_timeout, autoreset_mode=autoreset_mode)
        except BaseException:
            self._shutdown_own_pool()
            raise

    def _handle(self, index: int, factory: EnvFactory, start_method: str) -> EnvHandle:
        if self.pool is None:
            num_workers, num_cpus_per_worker, actor_options = self._own_pool_arguments
            self.pool = RayEnvPool(num_workers, num_cpus_per_worker=num_cpus_per_worker, actor_options=actor_options)
        return RayHandle(factory, pool=self.pool, timeout=self.step_timeout, worker_grace=self.worker_grace)

    def close_extras(self, **kwargs: Any) -> None:
        try:
            super().close_extras(**kwargs)
        finally:
            self._shutdown_own_pool()

    def _shutdown_own_pool(self) -> None:
        if self._owns_pool and self.pool is not None:
            self.pool.shutdown()

    @property
    def worker_pids(self) -> list[int | None]:
        """The pid of the worker hosting each environment (``None`` where none is built now)."""
        return [None if slot.handle.ref is None else slot.handle.ref.worker_pid for slot in self._slots]


def make_ray_vec(env_id: str, num_envs: int, *, num_workers: int = 2, num_cpus_per_worker: float = 1.0,
                 pool: RayEnvPool | None = None, step_timeout: float | None = DEFAULT_STEP_TIMEOUT,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 actor_options: dict[str, Any] | None = None, **make_kwargs: Any) -> RayVectorEnv:
    """``num_envs`` copies of ``env_id`` (``agentgym.make(env_id, **make_kwargs)`` in the
    workers) in a :class:`RayVectorEnv` on ``num_workers`` Ray workers (or on ``pool``).

    Checked here, before any worker starts: an unknown id (``KeyError`` with the nearest ids)
    and, unless ``server`` is given, a constructor argument the environment does not take or a
    required one missing (:class:`~agentgym.core.ConfigError`, as ``agentgym.make`` says it)."""
    import agentgym
    from agentgym.registry import MAKE_ARGUMENTS, check_env_kwargs

    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    if make_kwargs.get("server") is None:
        check_env_kwargs(env_id, {k: v for k, v in make_kwargs.items() if k not in MAKE_ARGUMENTS})
    gym.spec(env_id)
    factory = functools.partial(agentgym.make, env_id, **make_kwargs)
    envs = RayVectorEnv([factory] * num_envs, pool=pool, num_workers=num_workers,
                        num_cpus_per_worker=num_cpus_per_worker, actor_options=actor_options,
                        step_timeout=step_timeout, autoreset_mode=autoreset_mode)
    envs.spec = gym.spec(env_id)
    return envs
