"""``RayVectorEnv``: a Gymnasium vector env whose environments live on a :class:`RayEnvPool`.

One vector ``reset`` or ``step`` makes **one Ray call per worker**, carrying that worker's
batch (:meth:`~agentgym.ray.host.EnvHost.batch`): the worker runs each of its environments'
calls in that environment's own thread, all at once, and answers with the list of outcomes.
Ray's per-call cost is paid per worker, not per environment.

Semantics are those of :class:`~agentgym.vector.ThreadVectorEnv` (Gymnasium 1.x): observations
batched with ``batch_space`` (a tuple of strings for text spaces), ``float64`` rewards, ``bool``
terminations and truncations, vector infos (one array per key plus its ``_key`` mask);
``reset(seed=int)`` seeds environment ``i`` with ``seed + i``; ``options={"reset_mask": mask}``
resets only the masked environments; ``autoreset_mode`` ``NEXT_STEP`` (default), ``SAME_STEP``
(final observation and info in ``infos["final_obs"]`` / ``infos["final_info"]``) or ``DISABLED``.

Failures give that environment an error result — observation ``"Environment error: <why>.
This episode is over."`` (zeros for non-text spaces), reward ``0.0``, ``terminated=False``,
``truncated=True`` — with ``info["error"]`` (why), ``info["error_kind"]``
(:attr:`~agentgym.info.ErrorKind.TIMEOUT` or :attr:`~agentgym.info.ErrorKind.ENV_ERROR`) and
``info["env_failed"] = True``, while the other environments return normally:

* the environment raised: ``info["traceback"]`` holds the innermost frames;
* a call outlasted ``step_timeout``: its thread is abandoned in the worker (a hung call
  cannot be stopped), ``info["hung_threads"]`` counts that worker's hung calls;
* the worker died (``RayActorError``), or did not answer within ``step_timeout`` +
  ``worker_grace`` seconds (frozen, or its node unreachable; it is then killed, and
  ``info["env_killed"]`` says so): every environment of that worker fails,
  ``info["ray_error"]`` names the Ray exception, and the pool starts a replacement worker.

A failed environment is rebuilt from its factory at its next reset (``NEXT_STEP``: on the next
``step``; ``SAME_STEP``: at once; ``DISABLED``: at a masked reset): on the same worker in a
fresh thread, or, if its worker is gone, opened anew on the pool's least-loaded worker.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

import ray
import ray.exceptions

from agentgym.info import ErrorKind
from agentgym.ray.pool import RayEnvPool, RayEnvRef
from agentgym.runtime.handle import CallFailure

#: seconds a worker may take beyond ``step_timeout`` to answer a batch before it is restarted
DEFAULT_WORKER_GRACE_S = 10.0
#: the default ``step_timeout``, the rollout engine's
DEFAULT_STEP_TIMEOUT = 60.0


@dataclass(frozen=True)
class _Failure(CallFailure):
    """Why an environment's call gave no result (becomes its error result); the runtime's
    :class:`~agentgym.runtime.CallFailure` with what Ray adds."""

    hung_threads: int | None = None  # the worker's calls hung in abandoned threads, after a timeout
    ray_error: str | None = None  # the Ray exception, when the worker died or did not answer

    def info(self) -> dict[str, Any]:
        info = super().info()
        if self.hung_threads is not None:
            info["hung_threads"] = self.hung_threads
        if self.ray_error is not None:
            info["ray_error"] = self.ray_error
        return info


_NO_EPISODE = _Failure("step skipped: the environment failed and has not been reset since")


class _Slot:
    """One environment of the vector: its factory and where it lives now."""

    def __init__(self, index: int, factory: Callable[[], Any], ref: RayEnvRef) -> None:
        self.index = index
        self.factory = factory
        self.ref: RayEnvRef | None = ref  # None: its worker is gone, open anew at the next reset
        self.live = False  # an episode can be stepped
        self.broken = False  # the last call failed: rebuild at the next reset


class RayVectorEnv(VectorEnv):
    """``len(env_fns)`` environments on Ray workers, one Ray call per worker per batch.

    Args:
        env_fns: one picklable zero-argument factory per environment (built in a worker).
        pool: the :class:`RayEnvPool` to use (shared; not shut down by :meth:`close`). Without
            one the vector env starts its own with ``num_workers`` workers of
            ``num_cpus_per_worker`` CPUs (and ``actor_options``), and shuts it down at close.
        step_timeout: seconds each environment's reset, step or build may take (``None``:
            forever); see the module docstring for what a timeout does.
        autoreset_mode: ``AutoresetMode`` or its value.
        worker_grace: seconds a worker may take beyond ``step_timeout`` to answer a batch
            before it is considered wedged, killed and replaced (10 by default).

    One ``reset``/``step`` runs at a time. ``close()`` closes every environment (within
    ``step_timeout``) and shuts down the pool if the vector env started it.
    """

    def __init__(self, env_fns: Sequence[Callable[[], Any]], *, pool: RayEnvPool | None = None,
                 num_workers: int = 2, num_cpus_per_worker: float = 1.0,
                 actor_options: dict[str, Any] | None = None,
                 step_timeout: float | None = DEFAULT_STEP_TIMEOUT,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 worker_grace: float = DEFAULT_WORKER_GRACE_S) -> None:
        factories = list(env_fns)
        if not factories:
            raise ValueError("env_fns must hold at least one environment factory")
        if step_timeout is not None and not (isinstance(step_timeout, (int, float)) and step_timeout > 0):
            raise ValueError(f"step_timeout must be a positive number of seconds or None, got {step_timeout!r}")
        try:
            self.autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in AutoresetMode)
            raise ValueError(f"autoreset_mode must be an AutoresetMode or one of {choices}, "
                             f"got {autoreset_mode!r}") from None
        if not (isinstance(worker_grace, (int, float)) and worker_grace >= 0):
            raise ValueError(f"worker_grace must be a non-negative number of seconds, got {worker_grace!r}")
        self.step_timeout = step_timeout
        self.worker_grace = worker_grace
        self.num_envs = len(factories)
        self._owns_pool = pool is None
        self.pool = pool if pool is not None else RayEnvPool(
            num_workers, num_cpus_per_worker=num_cpus_per_worker, actor_options=actor_options)
        self._one_batch = threading.Lock()
        self._started = False
        self.closed = False
        try:
            refs = self.pool.open_many(factories, timeout=step_timeout)
        except BaseException:
            if self._owns_pool:
                self.pool.shutdown()
            raise
        self._slots = [_Slot(i, factory, ref) for i, (factory, ref) in enumerate(zip(factories, refs))]
        first = refs[0]
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        for ref in refs[1:]:
            if ref.observation_space != first.observation_space or ref.action_space != first.action_space:
                self.close()
                raise ValueError(f"environments disagree on their spaces: {ref.observation_space} / "
                                 f"{ref.action_space} vs {first.observation_space} / {first.action_space}")
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**first.metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = None
        self._observations: list[Any] = [None] * self.num_envs
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)

    # ------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None):
        with self._batch("reset"):
            seeds = _seeds_per_env(seed, self.num_envs)
            mask = np.ones(self.num_envs, dtype=np.bool_)
            if options is not None and "reset_mask" in options:
                options = dict(options)
                mask = _checked_reset_mask(options.pop("reset_mask"), self.num_envs)
                if not self._started and not mask.all():
                    raise ValueError("the first reset must reset every environment (no reset_mask)")
            outcomes = self._run({int(i): ("reset", (seeds[i], options)) for i in np.flatnonzero(mask)})
            infos: dict[str, Any] = {}
            for i in sorted(outcomes):
                self._observations[i], info, failed = self._settle_reset(i, outcomes[i])
                self._autoreset[i] = failed  # NEXT_STEP retries a failed reset at the next step
                infos = self._add_info(infos, info, i)
            self._started = True
            return self._batched_observations(), infos

    def step(self, actions: Any):
        with self._batch("step"):
            if not self._started:
                raise ResetNeeded("call reset() before step()")
            actions = list(iterate(self.action_space, actions))
            if len(actions) != self.num_envs:
                raise ValueError(f"expected {self.num_envs} actions, got {len(actions)}")
            mode = self.autoreset_mode
            if mode is AutoresetMode.DISABLED:
                ended = [s.index for s in self._slots if self._autoreset[s.index] and s.live]
                if ended:
                    raise ResetNeeded(f"environments {ended} ended their episodes and autoreset is disabled: "
                                      "reset them with reset(options={'reset_mask': mask}) before stepping")
            calls: dict[int, tuple[str, Any]] = {}
            for slot in self._slots:
                if mode is AutoresetMode.NEXT_STEP and self._autoreset[slot.index]:
                    calls[slot.index] = ("reset", (None, None))  # an ended episode's action is ignored
                elif slot.live:
                    calls[slot.index] = ("step", actions[slot.index])
            outcomes = self._run(calls)
            results = []
            for i in range(self.num_envs):
                if i not in calls:
                    results.append(self._settle_failure(i, _NO_EPISODE))
                elif calls[i][0] == "reset":
                    observation, info, failed = self._settle_reset(i, outcomes[i])
                    results.append((observation, 0.0, False, failed, info))
                else:
                    results.append(self._settle_step(i, outcomes[i]))
            finals: dict[int, dict[str, Any]] = {}
            if mode is AutoresetMode.SAME_STEP:
                ended = [i for i, r in enumerate(results) if r[2] or r[3]]
                if ended:
                    outcomes = self._run({i: ("reset", (None, None)) for i in ended})
                    for i in ended:
                        finals[i] = {"final_obs": results[i][0], "final_info": results[i][4]}
                        observation, info, _ = self._settle_reset(i, outcomes[i])
                        results[i] = (observation, *results[i][1:4], info)
            infos: dict[str, Any] = {}
            for i, result in enumerate(results):
                if i in finals:
                    infos = self._add_info(infos, finals[i], i)
                infos = self._add_info(infos, result[4], i)
                self._observations[i] = result[0]
            terminations = np.array([r[2] for r in results], dtype=np.bool_)
            truncations = np.array([r[3] for r in results], dtype=np.bool_)
            self._autoreset = terminations | truncations
            rewards = np.array([r[1] for r in results], dtype=np.float64)
            return self._batched_observations(), rewards, terminations, truncations, infos

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call method ``name`` of every environment in its thread (an attribute is returned
        as is); results must be picklable. Exceptions propagate (as their own type)."""
        def call_one(env: Any) -> Any:
            attribute = env.get_wrapper_attr(name) if hasattr(env, "get_wrapper_attr") else getattr(env, name)
            return attribute(*args, **kwargs) if callable(attribute) else attribute

        return tuple(ray.get([self._ref(slot).apply(call_one) for slot in self._slots]))

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: Any) -> None:
        """Set attribute ``name``: one value for all, or a list/tuple of one per environment."""
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"expected {self.num_envs} values, got {len(values)}")

        def setter(value: Any) -> Callable[[Any], None]:
            def set_one(env: Any) -> None:
                if hasattr(env, "set_wrapper_attr"):
                    env.set_wrapper_attr(name, value)
                else:
                    setattr(env, name, value)
            return set_one

        ray.get([self._ref(slot).apply(setter(value)) for slot, value in zip(self._slots, values)])

    def close_extras(self, **kwargs: Any) -> None:
        """Close every environment (one call per worker, within ``step_timeout``), then shut the
        pool down if this vector env started it; never raises for an environment's close."""
        slots = getattr(self, "_slots", [])
        open_slots = {slot.index: ("close", None) for slot in slots if slot.ref is not None and not slot.ref.lost}
        closed = self._run(open_slots) if open_slots and not self.pool.closed else {}
        for slot in slots:
            if slot.ref is not None:
                if slot.index in closed and not isinstance(closed[slot.index], _Failure):
                    slot.ref._release()  # closed and dropped by its worker already
                else:
                    slot.ref.abandon()  # its close failed or hung, or its worker is gone
                slot.ref = None
        if self._owns_pool:
            self.pool.shutdown()

    # ------------------------------------------------------------------ one batch
    def _run(self, calls: dict[int, tuple[str, Any]]) -> dict[int, Any]:
        """Run ``calls`` (``{index: (method, argument)}``), one Ray call per worker; each
        index's result, or a :class:`_Failure`."""
        outcomes: dict[int, Any] = {}
        by_worker: dict[Any, list[tuple[int, str, Any]]] = {}
        for i, (method, argument) in calls.items():
            slot = self._slots[i]
            if method == "reset" and (slot.ref is None or slot.ref.lost):
                failure = self._reopen(slot)
                if failure is not None:
                    outcomes[i] = failure
                    continue
            elif method == "reset" and slot.broken:
                method = "rebuild"
            if slot.ref is None:  # only a close or step on a lost environment gets here
                outcomes[i] = _Failure(f"{method} failed: the environment's Ray worker is gone")
                continue
            by_worker.setdefault(slot.ref._worker, []).append((i, method, argument))
        pending: dict[Any, Any] = {}
        for worker, entries in by_worker.items():
            batch = [(self._slots[i].ref.key, method, argument) for i, method, argument in entries]
            try:
                pending[worker.handle.batch.remote(batch, self.step_timeout)] = (worker, entries)
            except Exception as exc:  # noqa: BLE001 - an action or argument that cannot be pickled
                for i, method, _ in entries:
                    outcomes[i] = _Failure(f"{method} could not be sent: {type(exc).__name__}: {exc}")
        if pending:
            wait_s = None if self.step_timeout is None else self.step_timeout + self.worker_grace
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=wait_s)
            ready_set = set(ready)
            for object_ref, (worker, entries) in pending.items():
                outcomes.update(self._worker_outcomes(object_ref, object_ref in ready_set, entries))
        return outcomes

    def _worker_outcomes(self, object_ref: Any, answered: bool,
                         entries: list[tuple[int, str, Any]]) -> dict[int, Any]:
        if not answered:  # the worker is wedged (frozen, its event loop blocked) or unreachable: restart it
            ref = self._slots[entries[0][0]].ref
            self.pool.restart_worker(ref)
            why = (f"the environment's Ray worker (pid {ref.worker_pid}) did not answer within "
                   f"{self.step_timeout} + {self.worker_grace} s; it was killed and replaced")
            return {i: self._lost(i, _Failure(f"{method} timed out: {why}", ErrorKind.TIMEOUT, killed=True,
                                              ray_error="GetTimeoutError"))
                    for i, method, _ in entries}
        try:
            replies = ray.get(object_ref)
        except ray.exceptions.RayActorError as exc:
            ref = self._slots[entries[0][0]].ref
            self.pool.worker_failed(ref)
            why = (f"the environment's Ray worker (pid {ref.worker_pid}) died ({type(exc).__name__}); "
                   "a replacement worker was started")
            return {i: self._lost(i, _Failure(f"{method} failed: {why}", ray_error=type(exc).__name__))
                    for i, method, _ in entries}
        except ray.exceptions.RayError as exc:  # the batch itself failed (an argument that did not unpickle)
            return {i: _Failure(f"{method} failed on its Ray worker: {_first_line(exc)}",
                                ray_error=type(exc).__name__) for i, method, _ in entries}
        outcomes: dict[int, Any] = {}
        for (i, method, _), reply in zip(entries, replies):
            status = reply[0]
            if status == "ok":
                outcomes[i] = reply[1]
            elif status == "raised":
                outcomes[i] = _Failure(f"{method} raised {reply[1]}", traceback=reply[2])
            elif status == "timeout":
                outcomes[i] = _Failure(f"{method} timed out after {self.step_timeout} s", ErrorKind.TIMEOUT,
                                       hung=True, hung_threads=reply[1])
            else:  # "missing": the worker no longer hosts it; open it anew at the next reset
                outcomes[i] = self._lost(i, _Failure(f"{method} failed: {reply[1]}"))
        return outcomes

    def _lost(self, i: int, failure: _Failure) -> _Failure:
        """The environment is gone with its worker: open a fresh one at its next reset."""
        slot = self._slots[i]
        if slot.ref is not None:
            slot.ref.abandon()
            slot.ref = None
        return failure

    def _reopen(self, slot: _Slot) -> _Failure | None:
        """Open a fresh environment for ``slot`` on the pool (its worker is gone)."""
        if slot.ref is not None:
            slot.ref.abandon()
            slot.ref = None
        try:
            slot.ref = self.pool.open(slot.factory, timeout=self.step_timeout)
        except TimeoutError:
            return _Failure(f"environment construction timed out after {self.step_timeout} s", ErrorKind.TIMEOUT,
                            hung=True)
        except Exception as exc:  # noqa: BLE001 - the factory raised, or no worker could take it
            return _Failure(f"environment construction raised {type(exc).__name__}: {_first_line(exc)}")
        slot.broken = False
        return None

    # ------------------------------------------------------------------ outcomes
    def _settle_reset(self, i: int, outcome: Any) -> tuple[Any, dict[str, Any], bool]:
        if isinstance(outcome, _Failure):
            observation, _, _, _, info = self._settle_failure(i, outcome)
            return observation, info, True
        slot = self._slots[i]
        slot.live, slot.broken = True, False
        observation, info = outcome
        return observation, dict(info), False

    def _settle_step(self, i: int, outcome: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if isinstance(outcome, _Failure):
            return self._settle_failure(i, outcome)
        observation, reward, terminated, truncated, info = outcome
        return observation, reward, terminated, truncated, dict(info)

    def _settle_failure(self, i: int, failure: _Failure) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        slot = self._slots[i]
        slot.live = False
        if failure is not _NO_EPISODE:
            slot.broken = True
        text = f"Environment error: {failure.error}. This episode is over."
        return error_observation(self.single_observation_space, text), 0.0, False, True, failure.info()

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _batch(self, method: str) -> Iterator[None]:
        if self.closed:
            raise RuntimeError(f"RayVectorEnv.{method}() on a closed vector env")
        if not self._one_batch.acquire(blocking=False):
            raise RuntimeError(f"RayVectorEnv.{method}() was called while another reset/step was running; "
                               "a vector environment runs one batch at a time")
        try:
            yield
        finally:
            self._one_batch.release()

    def _ref(self, slot: _Slot) -> RayEnvRef:
        if slot.ref is None:
            raise RuntimeError(f"environment {slot.index} was lost with its worker; "
                               "it is opened anew at its next reset")
        return slot.ref

    def _batched_observations(self) -> Any:
        space = self.single_observation_space
        return concatenate(space, self._observations, create_empty_array(space, self.num_envs, fn=np.zeros))

    @property
    def worker_pids(self) -> list[int | None]:
        """The pid of the worker hosting each environment (``None`` where it was lost)."""
        return [None if slot.ref is None else slot.ref.worker_pid for slot in self._slots]


def make_ray_vec(env_id: str, num_envs: int, *, num_workers: int = 2, num_cpus_per_worker: float = 1.0,
                 pool: RayEnvPool | None = None, step_timeout: float | None = DEFAULT_STEP_TIMEOUT,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 actor_options: dict[str, Any] | None = None, **make_kwargs: Any) -> RayVectorEnv:
    """``num_envs`` copies of ``env_id`` (``agentgym.make(env_id, **make_kwargs)`` in the
    workers) in a :class:`RayVectorEnv` on ``num_workers`` Ray workers (or on ``pool``)."""
    import agentgym

    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    gym.spec(env_id)  # an unknown id fails here, with Gymnasium's message, before any worker starts
    factory = functools.partial(agentgym.make, env_id, **make_kwargs)
    envs = RayVectorEnv([factory] * num_envs, pool=pool, num_workers=num_workers,
                        num_cpus_per_worker=num_cpus_per_worker, actor_options=actor_options,
                        step_timeout=step_timeout, autoreset_mode=autoreset_mode)
    envs.spec = gym.spec(env_id)
    return envs


def error_observation(space: spaces.Space, text: str) -> Any:
    """An observation of ``space`` that carries ``text``: the text itself for a text space, the
    text in every text field of a ``Dict``/``Tuple`` space, zeros anywhere else."""
    if isinstance(space, spaces.Text):
        return text
    if isinstance(space, spaces.Dict):
        return {key: error_observation(sub, text) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(error_observation(sub, text) for sub in space.spaces)
    return next(iterate(batch_space(space, 1), create_empty_array(space, 1, fn=np.zeros)))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _seeds_per_env(seed: int | Sequence[int | None] | None, n: int) -> list[int | None]:
    if seed is None:
        return [None] * n
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(n)]
    seeds = list(seed)
    if len(seeds) != n:
        raise ValueError(f"expected one seed per environment ({n}), got {len(seeds)}")
    return seeds


def _checked_reset_mask(mask: Any, n: int) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (n,):
        raise TypeError(f"options['reset_mask'] must be a numpy bool array of shape ({n},), got {mask!r}")
    if not mask.any():
        raise ValueError("options['reset_mask'] must select at least one environment")
    return mask
