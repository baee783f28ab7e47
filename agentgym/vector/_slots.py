"""What the thread and asyncio vector environments share: everything but one flag.

:class:`SlotVectorEnv` keeps one :class:`Slot` per sub-environment — an
:class:`~agentgym.runtime.EnvHandle` (the runtime that builds, times out, isolates, rebuilds and
closes the environment, the same one the rollout engine uses) and whether its episode can be
stepped — and implements Gymnasium's vector semantics (seeding, ``reset_mask``, the three
autoreset modes, vector infos) as *programs*: generators that yield the calls to run at the
same time, ``{slot index: ResetCall | StepCall}``, and are sent back each call's outcome (its
result, or a :class:`~agentgym.runtime.CallFailure`). The calls of a batch run concurrently
on an event loop (:meth:`SlotVectorEnv.areset`, :meth:`SlotVectorEnv.astep`); the synchronous
``reset``/``step`` run that loop privately.

Where the environments live is the slots' handles, made by :meth:`SlotVectorEnv._handle`:
local threads or child processes here; a subclass may return any
:class:`~agentgym.runtime.EnvHandle` (:class:`~agentgym.ray.RayVectorEnv` returns Ray handles).
Spaces and metadata come from :meth:`EnvHandle.spaces <agentgym.runtime.EnvHandle.spaces>` and
``call``/``get_attr``/``set_attr`` run through :meth:`EnvHandle.submit
<agentgym.runtime.EnvHandle.submit>`, so the semantics here never depend on the form.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import threading
from collections.abc import Mapping, Set
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Coroutine, Generator, Iterable, Iterator, Sequence

import numpy as np
from gymnasium import spaces
from gymnasium.error import CustomSpaceError, ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from agentgym.core import is_int
from agentgym.info import ErrorKind
from agentgym.runtime.handle import CallFailure, EnvCallFailed, EnvFactory, EnvHandle, EnvSpaces, StepResult
from agentgym.runtime.local import LocalHandle, ProcessHandle
from agentgym.runtime.worker import (
    DEFAULT_MAX_ABANDONED_THREADS,
    check_hung_threads,
    checked_count,
    checked_timeout,
    hung_thread_count,
    warn_abandoned,
)

_ISOLATIONS = ("thread", "process")


@dataclass(frozen=True)
class ResetCall:
    seed: int | None
    options: dict[str, Any] | None
    method: ClassVar[str] = "reset"


@dataclass(frozen=True)
class StepCall:
    action: Any
    method: ClassVar[str] = "step"


# A slot whose environment failed and whose reset has not succeeded since has no episode.
_NO_EPISODE = CallFailure("step skipped: the environment failed and has not been reset since")

Call = ResetCall | StepCall
Outcome = Any  # a result ((observation, info) or a StepResult) or a CallFailure
Program = Generator[dict[int, Call], dict[int, Outcome], Any]


class Slot:
    """One sub-environment: its handle, and whether its episode can be stepped (the last
    reset succeeded and nothing failed since)."""

    def __init__(self, index: int, handle: EnvHandle) -> None:
        self.index = index
        self.handle = handle
        self.live = False

    async def run(self, call: Call) -> Outcome:
        try:
            if isinstance(call, ResetCall):
                return await self.handle.reset(call.seed, call.options)
            return await self.handle.step(call.action)
        except EnvCallFailed as failed:
            return failed.failure


class SlotVectorEnv(VectorEnv):
    """Gymnasium vector semantics over slots whose calls a subclass runs concurrently.

    Results, as Gymnasium 1.x's ``SyncVectorEnv``: observations batched with
    :func:`~gymnasium.vector.utils.batch_space` (a tuple of strings for text spaces), rewards a
    ``float64`` array, terminations and truncations ``bool`` arrays, infos in the vector format
    (one array per key plus a ``_key`` mask; an array holds every slot's value as given, widened
    to ``float64`` or ``object`` where the slots' values differ in kind). ``reset(seed=int)``
    seeds slot ``i`` with ``seed + i``; ``options={"reset_mask": mask}`` resets only the masked
    slots.

    Autoreset (``autoreset_mode``, an :class:`~gymnasium.vector.AutoresetMode` or its value):

    * ``NEXT_STEP`` (default): a slot whose episode ended is reset on the next ``step``; its
      action is ignored and that step reports reward 0 and no termination.
    * ``SAME_STEP``: a slot whose episode ends is reset within the same ``step``; the final
      observation and info are kept in ``infos["final_obs"]`` / ``infos["final_info"]``.
    * ``DISABLED``: stepping a slot whose episode ended raises; reset it with ``reset_mask``.
      A slot whose environment failed (below) does not raise: until that reset, each step gives
      it an error result, ``"step skipped: the environment failed and has not been reset since"``.

    A ``reset``/``step`` cancelled from outside (a task awaiting ``astep`` cancelled, Ctrl-C in
    ``step``) loses the results of the calls it made, which still run to their end in the
    slots' threads; the episodes of those slots are then over, as if they had ended: reset at
    their next step (``NEXT_STEP`` and ``SAME_STEP``, as an autoreset) or refused until a
    masked reset (``DISABLED``).

    Failures: a ``reset`` or ``step`` that raises, or runs longer than ``step_timeout``
    seconds (building a sub-environment, in the constructor or at a rebuild, counts too), gives
    that slot an error result: an error observation (for text spaces,
    ``"Environment error: <why>. ..."``), reward 0, ``truncated=True``, and
    ``info["error"]`` (e.g. ``"step timed out after 2.0 s"``), ``info["env_failed"] = True``,
    and for an exception ``info["traceback"]``. The other slots return normally. The slot's
    environment is then replaced by a fresh one from its factory at the slot's next reset
    (NEXT_STEP: on the next step; SAME_STEP: right away; DISABLED: at a masked reset). A failed
    reset is reported the same way and retried at the slot's next reset. A rebuilt environment
    is reset without a seed; building it counts toward that reset's timeout. A call that timed
    out in a thread cannot be stopped: that thread and its environment are abandoned (never
    used or closed again), the slot gets a new thread, ``info["hung_threads"]`` says how many
    calls are hung in abandoned threads in this process and a :class:`HungEnvironmentWarning`
    is issued (once per vector env). Those threads are daemons and end if the call ever
    returns, but a long run must not pile them up: once more than ``max_abandoned_threads``
    calls are hung in this process, the next ``reset``/``step`` raises
    :class:`HungEnvironmentError` (and every one after, until the hung calls return).

    Construction: the factories run in the slots' threads at once, bounded by ``step_timeout``.
    A slot whose factory raises makes the constructor raise; a slot whose factory outlasts the
    timeout is abandoned and reports ``"environment construction timed out after ... s"`` in
    its info at the first reset (which tries a fresh factory call). If no slot was built in
    time, the constructor raises ``TimeoutError``.

    Isolation: with ``isolation="thread"`` (default) each environment lives in this process and
    a hung call can only be abandoned, as above. With ``isolation="process"`` each environment
    lives in a child process (``multiprocessing``, ``start_method`` ``"spawn"`` by default; the
    factories and reset's options must then be picklable) driven by the slot's thread: a call
    that outlasts ``step_timeout`` kills that process, the slot's thread is free at once,
    nothing is abandoned, and a fresh process is built at the slot's next reset. ``close()`` ends every
    child process. Environments with their own ``areset``/``astep`` coroutines are run in the
    child through their synchronous ``reset``/``step``.
    """

    #: reset and step environments that have their own ``areset``/``astep`` on the event loop
    coroutines: ClassVar[bool] = False

    def __init__(
        self,
        env_fns: Sequence[EnvFactory],
        *,
        step_timeout: float | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        max_abandoned_threads: int = DEFAULT_MAX_ABANDONED_THREADS,
        isolation: str = "thread",
        start_method: str = "spawn",
    ) -> None:
        factories = list(env_fns)
        if not factories:
            raise ValueError("env_fns must hold at least one environment factory")
        for i, factory in enumerate(factories):
            if not callable(factory):  # an environment itself, most likely
                raise TypeError(f"env_fns[{i}] is {_clipped(factory)}, not a factory: pass zero-argument callables "
                                f"that build the environments (a class, functools.partial(agentgym.make, env_id))")
        if isolation not in _ISOLATIONS:
            raise ValueError(f"isolation must be one of {_ISOLATIONS}, got {isolation!r}")
        if start_method not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f"start_method must be one of {multiprocessing.get_all_start_methods()}, "
                f"got {start_method!r}"
            )
        if isolation == "process":
            _check_picklable(factories)
        self.isolation = isolation
        self.step_timeout = checked_timeout("step_timeout", step_timeout)
        self.max_abandoned_threads = checked_count(
            "max_abandoned_threads", max_abandoned_threads, minimum=0
        )
        self.env_fns = factories
        #: calls of this vector env abandoned after a timeout (hung), over its lifetime
        self.abandoned_calls = 0
        self.autoreset_mode = _as_autoreset_mode(autoreset_mode)
        self.num_envs = len(factories)
        self._slots = [
            Slot(i, self._handle(i, factory, start_method)) for i, factory in enumerate(factories)
        ]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._construction_failures: dict[int, CallFailure] = {}
        self._one_batch_at_a_time = threading.Lock()
        self._batch_thread: int | None = None  # the thread running the batch that holds it
        # held by the thread running the private event loop (reentrant: close() inside it)
        self._private_loop_lock = threading.RLock()
        self._started = False
        self._observations: list[Any] = [None] * self.num_envs
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)
        # slots whose last batch was cancelled from outside: their episodes are over (see _drive)
        self._cancelled = np.zeros(self.num_envs, dtype=np.bool_)
        try:
            self._build_envs()
            self._set_spaces()
        except BaseException as error:
            try:
                self.close()
            except Exception as close_error:  # noqa: BLE001 - the construction's error is the one to raise
                error.add_note(f"closing the environments built meanwhile failed too: "
                               f"{type(close_error).__name__}: {close_error}")
            raise
        first = self._first_spaces()
        self.metadata = {**first.metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = first.render_mode

    # ----------------------------------------------------------------- programs
    def _reset_program(
        self, seed: int | Sequence[int | None] | None, options: dict[str, Any] | None
    ) -> Program:
        self._check_open()
        seeds = _seeds_per_slot(seed, self.num_envs)
        if options is not None and not isinstance(options, Mapping):  # every slot's reset would fail on it
            raise TypeError(f"options must be a dict or None, got {_clipped(options)}")
        if options is not None and self.isolation == "process":  # as would every child's, each thrown away
            _check_options_picklable(options)
        mask = np.ones(self.num_envs, dtype=np.bool_)
        if options is not None and "reset_mask" in options:
            options = dict(options)
            mask = _checked_reset_mask(options.pop("reset_mask"), self.num_envs)
            if not self._started and not mask.all():
                raise ValueError("the first reset must reset every sub-environment (no reset_mask)")
        outcomes = yield {int(i): ResetCall(seeds[i], options) for i in np.flatnonzero(mask)}
        infos: dict[str, Any] = {}
        for i in sorted(outcomes):
            outcome = outcomes[i]
            if i in self._construction_failures:
                # the constructor timed out on this slot: say so even if the retry worked
                first_failure = self._construction_failures.pop(i)
                if not isinstance(outcome, CallFailure):
                    infos = self._add_info(infos, {"construction_error": first_failure.error}, i)
            self._observations[i], info, failed = self._settle_reset(i, outcome)
            self._autoreset[i] = failed  # NEXT_STEP retries a failed reset on the next step
            self._cancelled[i] = False
            infos = self._add_info(infos, info, i)
        self._started = True
        return self._batched_observations(), infos

    def _step_program(self, actions: Any) -> Program:
        self._check_open()
        if not self._started:
            raise ResetNeeded("call reset() before step()")
        if isinstance(actions, (str, bytes)):  # iterating it would give each slot one character
            raise ValueError(f"step() takes one action per sub-environment ({self.num_envs}), got the string "
                             f"{_clipped(actions)}: pass a list, e.g. [action] * {self.num_envs}")
        if isinstance(actions, (Mapping, Set)) and not isinstance(self.single_action_space, spaces.Dict):
            raise ValueError(f"step() takes one action per sub-environment ({self.num_envs}) in order, got "
                             f"{_clipped(actions)}: pass a list, e.g. [action] * {self.num_envs}")
        try:
            actions = list(iterate(self.action_space, actions))
        except (CustomSpaceError, TypeError) as exc:  # None, a number: no batch at all
            raise ValueError(f"step() takes one action per sub-environment ({self.num_envs}), got "
                             f"{_clipped(actions)}: pass a list, e.g. [action] * {self.num_envs}") from exc
        if len(actions) != self.num_envs:
            raise ValueError(f"expected {self.num_envs} actions, got {len(actions)}")
        mode = self.autoreset_mode
        if mode is AutoresetMode.DISABLED:
            ended = [s.index for s in self._slots if self._autoreset[s.index] and s.live]
            if ended:
                raise ResetNeeded(
                    f"sub-environments {ended} ended their episodes and autoreset is disabled: "
                    "reset them with reset(options={'reset_mask': mask}) before stepping"
                )

        calls: dict[int, Call] = {}
        skipped: dict[int, Outcome] = {}
        for slot in self._slots:
            i = slot.index
            if (mode is AutoresetMode.NEXT_STEP and self._autoreset[i]) or (
                mode is AutoresetMode.SAME_STEP and self._cancelled[i]
            ):
                calls[i] = ResetCall(None, None)  # the action of an ended episode is ignored
            elif slot.live:
                calls[i] = StepCall(actions[i])
            else:
                skipped[i] = _NO_EPISODE
        outcomes = {**((yield calls) if calls else {}), **skipped}

        results: list[StepResult] = []
        for i in range(self.num_envs):
            if isinstance(calls.get(i), ResetCall):
                observation, info, failed = self._settle_reset(i, outcomes[i])
                results.append(StepResult(observation, 0.0, False, failed, info))
            else:
                results.append(self._settle_step(i, outcomes[i]))

        finals: dict[int, dict[str, Any]] = {}
        if mode is AutoresetMode.SAME_STEP:
            ended = [i for i, r in enumerate(results) if r.terminated or r.truncated]
            if ended:
                outcomes = yield {i: ResetCall(None, None) for i in ended}
                for i in ended:
                    finals[i] = {"final_obs": results[i].observation, "final_info": results[i].info}
                    observation, info, _ = self._settle_reset(i, outcomes[i])
                    results[i] = results[i]._replace(observation=observation, info=info)

        infos: dict[str, Any] = {}
        for i, result in enumerate(results):
            if i in finals:
                infos = self._add_info(infos, finals[i], i)
            infos = self._add_info(infos, result.info, i)
            self._observations[i] = result.observation
        terminations = np.array([r.terminated for r in results], dtype=np.bool_)
        truncations = np.array([r.truncated for r in results], dtype=np.bool_)
        self._autoreset = terminations | truncations
        self._cancelled[:] = False
        rewards = np.array([r.reward for r in results], dtype=np.float64)
        return self._batched_observations(), rewards, terminations, truncations, infos

    # ------------------------------------------------------------ outcomes
    def _settle_reset(self, i: int, outcome: Outcome) -> tuple[Any, dict[str, Any], bool]:
        """Install a reset's result; returns ``(observation, info, failed)``."""
        if isinstance(outcome, CallFailure):
            failed = self._settle_failure(i, outcome)
            return failed.observation, failed.info, True
        observation, info = outcome
        self._slots[i].live = True
        return observation, info, False

    def _settle_step(self, i: int, outcome: Outcome) -> StepResult:
        if isinstance(outcome, CallFailure):
            return self._settle_failure(i, outcome)
        return outcome

    def _settle_failure(self, i: int, failure: CallFailure) -> StepResult:
        self._slots[i].live = False
        info = failure.info()
        if failure.hung:
            self._count_abandoned()
            # how many calls are hung in abandoned threads in this process, this one included
            info["hung_threads"] = hung_thread_count()
        text = f"Environment error: {failure.error}. This episode is over."
        return StepResult(
            error_observation(self.single_observation_space, text), 0.0, False, True, info
        )

    def _add_info(self, vector_infos: dict[str, Any], env_info: dict[str, Any], env_num: int) -> dict[str, Any]:
        """Gymnasium's ``_add_info``, with every slot's value kept as it was given: Gymnasium
        makes a key's array from the first slot's value, so a later ``0.75`` in an ``int``
        array read as ``0``, a ``None`` in a ``bool`` array as ``False``, and a string or an
        array of another shape raised out of the whole ``step``. Such an array is widened first: to the
        common number type for ints and floats, else to an ``object`` array (``None`` where no
        slot gave a value yet).

        A key that some slots give as a dict and others as anything else (a tool call's details,
        or ``None`` where there was none) cannot be a nested vector info: Gymnasium raised out
        of the ``step`` (a plain value first) or stored the later value in the nested info under
        the slot's index (a dict first). Its array is then an ``object`` array of each slot's
        value as given, the dicts included."""
        batched = {}  # the keys Gymnasium adds (all but a dict / non-dict mix), in one call
        for key, value in env_info.items():
            array = vector_infos.get(key)
            if key != "final_obs" and array is not None and isinstance(array, dict) != isinstance(value, dict):
                mask = vector_infos[f"_{key}"]
                array = _unbatched(array, mask) if isinstance(array, dict) else _holding(array, value, mask)
                array[env_num] = value
                mask[env_num] = True
                vector_infos[key] = array
                continue
            if key != "final_obs" and isinstance(array, np.ndarray):
                vector_infos[key] = _holding(array, value, vector_infos.get(f"_{key}"))
            batched[key] = value
        return super()._add_info(vector_infos, batched, env_num)

    def _batched_observations(self) -> Any:
        space = self.single_observation_space
        return concatenate(
            space, self._observations, create_empty_array(space, self.num_envs, fn=np.zeros)
        )

    # ------------------------------------------------------------ set-up and teardown
    def _count_abandoned(self) -> None:
        self.abandoned_calls += 1
        if self.abandoned_calls == 1:
            warn_abandoned(f"a call of {type(self).__name__}", self.max_abandoned_threads)

    @property
    def hung_threads(self) -> int:
        """Calls hung in abandoned threads in this whole process (see ``max_abandoned_threads``)."""
        return hung_thread_count()

    def _handle(self, index: int, factory: EnvFactory, start_method: str) -> EnvHandle:
        """The handle (not yet opened) of slot ``index``, whose environments ``factory``
        builds: a :class:`~agentgym.runtime.LocalHandle` or
        :class:`~agentgym.runtime.ProcessHandle` per ``isolation``. Subclasses override it to
        run the environments elsewhere; the handle's ``timeout`` should be ``step_timeout``."""
        name = f"agentgym-vector-slot-{index}"
        if self.isolation == "process":
            return ProcessHandle(factory, timeout=self.step_timeout, start_method=start_method, name=name)
        return LocalHandle(factory, timeout=self.step_timeout, coroutines=self.coroutines, name=name)

    def _build_envs(self) -> None:
        """Build every environment in its own slot's thread, all at once, within ``step_timeout``.

        A factory that raises makes the constructor raise (once the others are done, so nothing
        is left half-built); one that outlasts the timeout leaves its slot without an
        environment, to be built at its first reset (see the class docstring)."""

        async def open_all() -> list[CallFailure | None]:
            return list(await asyncio.gather(*(_opened(slot) for slot in self._slots)))

        failures = self._run_sync(open_all(), "__init__", on_the_loop=False)
        for slot, failure in zip(self._slots, failures, strict=True):
            if failure is not None and failure.kind is ErrorKind.TIMEOUT:
                self._construction_failures[slot.index] = failure
                if failure.hung:
                    self._count_abandoned()
        for failure in failures:
            if failure is not None and failure.exception is not None:
                raise failure.exception  # the first factory's error
        if len(self._construction_failures) == self.num_envs:
            raise TimeoutError(
                f"no sub-environment was built within step_timeout={self.step_timeout} s "
                "(environment construction timed out in every slot)"
            )

    def _first_spaces(self) -> EnvSpaces:
        return next(spaces for slot in self._slots if (spaces := slot.handle.spaces()) is not None)

    def _set_spaces(self) -> None:
        first = self._first_spaces()
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        for slot in self._slots:
            spaces = slot.handle.spaces()
            if spaces is None:
                continue
            if (
                spaces.observation_space != self.single_observation_space
                or spaces.action_space != self.single_action_space
            ):
                raise RuntimeError(
                    f"sub-environment {slot.index} has spaces {spaces.observation_space} / "
                    f"{spaces.action_space}, unlike the first sub-environment's "
                    f"{self.single_observation_space} / {self.single_action_space}"
                )
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def close_extras(self, **kwargs: Any) -> None:
        """Close every environment in its own thread (:meth:`EnvHandle.close
        <agentgym.runtime.EnvHandle.close>`, all at once) and let the threads go; a ``reset`` or
        ``step`` running in another thread is waited for first (within its ``step_timeout``).

        A ``reset``/``step`` awaited on an event loop in another thread (``await astep(...)``) is
        waited for the same way; one awaited in this very thread (``close()`` from a coroutine
        beside it) cannot be: its calls still running in threads are abandoned as hung ones, and
        its coroutines on the loop find their environments closed when they resume.

        A ``close`` that outlasts ``step_timeout`` is abandoned like a hung step (under process
        isolation, its process is killed). Environments abandoned earlier are not closed again
        (their thread may still be inside them); their daemon threads end when the hung call
        returns, and never keep the process from exiting. The first error a healthy
        environment's ``close`` raised is re-raised once all is shut (the vector env is closed
        all the same: a later ``close`` does nothing, ``reset``/``step`` raise).
        """

        async def close_all() -> list[Any]:
            return list(await asyncio.gather(*(slot.handle.close() for slot in self._slots),
                                             return_exceptions=True))

        # A reset/step running on the private loop in another thread ends first (its calls are
        # bounded by step_timeout): the loop cannot be closed under it. So does one awaited on an
        # event loop of another thread: its slots' threads are busy, not hung.
        with self._private_loop_lock, self._no_batch_in_another_thread():
            try:
                results = self._run_sync(close_all(), "close", on_the_loop=False)
            finally:
                if self._loop is not None:
                    self._loop.close()
                    self._loop = None
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            self.closed = True  # VectorEnv.close marks it only when close_extras returns
            raise errors[0]

    def __del__(self) -> None:
        # Without close() the idle slot threads would wait for calls forever. Joining threads
        # or closing environments is not safe during garbage collection; stopping them is.
        if not getattr(self, "closed", True):
            for slot in getattr(self, "_slots", ()):
                worker = getattr(slot.handle, "worker", None)  # local forms: the slot's thread
                if worker is not None:
                    worker.shutdown(wait=False)

    # ------------------------------------------------------------ running batches
    async def areset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ):
        """Reset the sub-environments concurrently; Gymnasium's ``reset`` as a coroutine."""
        return await self._drive(self._reset_program(seed, options), "areset")

    async def astep(self, actions: Any):
        """Step the sub-environments concurrently; Gymnasium's ``step`` as a coroutine."""
        return await self._drive(self._step_program(actions), "astep")

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ):
        self._check_open()
        return self._run_sync(self.areset(seed=seed, options=options), "reset")

    def step(self, actions: Any):
        self._check_open()
        return self._run_sync(self.astep(actions), "step")

    async def _drive(self, program: Program, method: str) -> Any:
        """Run ``program``'s batches of calls. A batch cancelled from outside (or interrupted)
        ends the episodes of every slot the program called: their calls run on to their end
        (a thread cannot be stopped), but the results are lost, so each is reset before it is
        stepped again (see :meth:`_end_cancelled_episodes`)."""
        called: set[int] = set()
        with self._one_batch(method):
            try:
                calls = next(program)
                while True:
                    called.update(calls)
                    try:
                        outcomes = await asyncio.gather(*(self._slots[i].run(call) for i, call in calls.items()))
                    except BaseException:
                        program.close()
                        self._end_cancelled_episodes(sorted(called))
                        raise
                    calls = program.send(dict(zip(calls, outcomes, strict=True)))
            except StopIteration as finished:
                return finished.value

    def _end_cancelled_episodes(self, slots: list[int]) -> None:
        """The episodes of ``slots`` are over: NEXT_STEP and SAME_STEP reset them at their next
        step (reported as an autoreset: the reset's observation, reward 0, no termination),
        DISABLED refuses to step them until a reset with ``reset_mask``."""
        for i in slots:
            self._autoreset[i] = True
            self._cancelled[i] = True

    def _run_sync(self, coroutine: Coroutine[Any, Any, Any], method: str, *, on_the_loop: bool = True) -> Any:
        """Run ``coroutine`` on this vector env's private event loop. Inside a running event
        loop that would block it: a vector env that runs its environments in threads
        (``coroutines`` false), or a call that runs none of the environments' coroutines
        (``on_the_loop`` false: building and closing, done in the slots' threads), then runs
        on a fresh loop in a fresh thread; a reset or step of one that runs coroutines
        refuses (they may be bound to the loop they first ran on)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if not self._private_loop_lock.acquire(blocking=False):  # another thread runs a batch on it
                coroutine.close()
                raise RuntimeError(
                    f"{type(self).__name__}.{method}() was called while another reset/step was "
                    "running; a vector environment runs one batch at a time"
                ) from None
            try:
                if self._loop is None:
                    self._loop = asyncio.new_event_loop()
                return _run_to_the_end(self._loop, coroutine)
            finally:
                self._private_loop_lock.release()
        if not (self.coroutines and on_the_loop):
            return _run_in_fresh_thread(coroutine)
        coroutine.close()
        raise RuntimeError(
            f"{type(self).__name__}.{method}() runs a private event loop and cannot be called "
            f"from inside a running one; use `await env.a{method}(...)` there instead"
        )

    # ------------------------------------------------------------ Gymnasium extras
    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call method ``name`` of every sub-environment, each where it lives (its own thread,
        through :meth:`EnvHandle.submit <agentgym.runtime.EnvHandle.submit>`).

        A non-callable attribute is returned as is (as Gymnasium's vector envs do). Exceptions
        propagate: this is not a step, nothing is isolated. A ``RuntimeError`` names the slots
        that have no environment until their next reset (a failure dropped it).
        """

        def call_one(env: Any) -> Any:
            attribute = (
                env.get_wrapper_attr(name)
                if hasattr(env, "get_wrapper_attr")
                else getattr(env, name)
            )
            return attribute(*args, **kwargs) if callable(attribute) else attribute

        return self._on_every_env(call_one)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """The attribute ``name`` of every sub-environment (methods are called, as in Gymnasium)."""
        return self.call(name)

    def set_attr(self, name: str, values: Any) -> None:
        """Set attribute ``name``: one value for all, or a list/tuple of one per sub-environment."""
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"expected {self.num_envs} values, got {len(values)}")

        def set_one(env: Any, value: Any) -> None:
            if hasattr(env, "set_wrapper_attr"):
                env.set_wrapper_attr(name, value)
            else:
                setattr(env, name, value)

        self._on_every_env(set_one, [[value] for value in values])

    def render(self) -> tuple[Any, ...]:
        return self.call("render")

    @property
    def np_random_seed(self) -> tuple[int, ...]:
        """Each sub-environment's ``np_random_seed`` (as Gymnasium's ``SyncVectorEnv``: after
        ``reset(seed=7)``, ``(7, 8, ...)``), not :class:`~gymnasium.vector.VectorEnv`'s own
        random seed, which no environment is seeded with."""
        return self.get_attr("np_random_seed")

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:
        """Each sub-environment's ``np_random`` (as Gymnasium's ``SyncVectorEnv``)."""
        return self.get_attr("np_random")

    def _on_every_env(
        self, fn: Callable[..., Any], extra_args: Sequence[Sequence[Any]] | None = None
    ) -> tuple[Any, ...]:
        self._check_open()
        missing = [slot.index for slot in self._slots if slot.handle.spaces() is None]
        if missing:  # dropped after a failure: a call that timed out, a rebuild that raised
            raise RuntimeError(
                f"sub-environments {missing} have no environment now: it was dropped after a failure (a "
                "call hung and abandoned, a killed process, a rebuild that raised: see the slot's last "
                "info['error']); each gets a fresh environment at its next reset"
            )
        extra_args = extra_args or [[]] * self.num_envs
        futures = [
            slot.handle.submit(fn, *args)
            for slot, args in zip(self._slots, extra_args, strict=True)
        ]
        return tuple(future.result() for future in futures)

    # ------------------------------------------------------------ helpers
    @contextmanager
    def _one_batch(self, method: str) -> Iterator[None]:
        """Refuse overlapping calls (two threads, or two tasks awaiting ``astep``) at once, and
        refuse a batch with :class:`HungEnvironmentError` while more than
        ``max_abandoned_threads`` calls are hung in this process (so a batch that goes past
        the cap still returns its results, and the next one raises)."""
        if not self._one_batch_at_a_time.acquire(blocking=False):
            raise RuntimeError(
                f"{type(self).__name__}.{method}() was called while another reset/step was "
                "running; a vector environment runs one batch at a time"
            )
        self._batch_thread = threading.get_ident()
        try:
            check_hung_threads(self.max_abandoned_threads)
            yield
        finally:
            self._batch_thread = None
            self._one_batch_at_a_time.release()

    @contextmanager
    def _no_batch_in_another_thread(self) -> Iterator[None]:
        """Wait until no reset/step runs in another thread, and start none while held (one
        started meanwhile is refused as an overlapping batch). A batch of this thread (awaited
        by a coroutine that this thread's loop suspended) is not waited for: it cannot end
        while this thread waits."""
        if self._batch_thread == threading.get_ident():
            yield
            return
        with self._one_batch_at_a_time:
            yield

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"{type(self).__name__} is closed")


def error_observation(space: spaces.Space, text: str) -> Any:
    """An observation of ``space`` that carries ``text``: the text itself for a text space, the
    text in every text field of a ``Dict``/``Tuple`` space, the first text choice of a ``OneOf``
    space (its first choice when none is text), a one-element sequence for a ``Sequence`` of
    elements with text (messages), zeros (an empty sequence) anywhere else."""
    if isinstance(space, spaces.Text):
        return text
    if isinstance(space, spaces.Sequence) and _carries_text(space.feature_space):
        element = error_observation(space.feature_space, text)
        if space.stack:
            return concatenate(space.feature_space, [element], create_empty_array(space.feature_space, 1))
        return (element,)
    if isinstance(space, spaces.OneOf):
        choices = space.spaces
        index = next((i for i, sub in enumerate(choices) if isinstance(sub, spaces.Text)), 0)
        return (index, error_observation(choices[index], text))
    if isinstance(space, spaces.Dict):
        return {key: error_observation(sub, text) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(error_observation(sub, text) for sub in space.spaces)
    return next(iterate(batch_space(space, 1), create_empty_array(space, 1, fn=np.zeros)))


def _carries_text(space: spaces.Space) -> bool:
    """``space`` is a text space or holds one (in a ``Dict``, ``Tuple``, ``OneOf`` or ``Sequence``)."""
    if isinstance(space, spaces.Text):
        return True
    if isinstance(space, spaces.Dict):
        return any(_carries_text(sub) for sub in space.spaces.values())
    if isinstance(space, (spaces.Tuple, spaces.OneOf)):
        return any(_carries_text(sub) for sub in space.spaces)
    if isinstance(space, spaces.Sequence):
        return _carries_text(space.feature_space)
    return False


def _holding(array: np.ndarray, value: Any, given: np.ndarray | None) -> np.ndarray:
    """``array`` (one info key's values, one row per slot), or a wider copy that holds ``value``
    exactly; ``given`` is the key's mask (which rows hold a value)."""
    if array.dtype == object:
        return array
    value_array = value if isinstance(value, np.ndarray) else np.asarray(value)
    same_kind = (value_array.dtype.kind == "b") == (array.dtype.kind == "b")
    if (
        value_array.shape == array.shape[1:]
        and value_array.dtype != object
        and same_kind
        and np.can_cast(value_array.dtype, array.dtype, "safe")
    ):
        return array
    numbers = "iuf"
    if array.ndim == 1 and value_array.ndim == 0 and array.dtype.kind in numbers and value_array.dtype.kind in numbers:
        return array.astype(np.result_type(array.dtype, value_array.dtype))
    widened = np.full(len(array), None, dtype=object)
    for i, row in enumerate(array.tolist() if array.ndim == 1 else list(array)):
        if given is None or given[i]:
            widened[i] = row
    return widened


def _unbatched(nested: dict[str, Any], given: np.ndarray) -> np.ndarray:
    """A nested vector info (one array and one ``_key`` mask per key) back as an ``object``
    array of each slot's dict, ``None`` for the slots that gave none (``given`` false)."""
    rows = np.full(len(given), None, dtype=object)
    for i in np.flatnonzero(given):
        row: dict[str, Any] = {}
        for key, values in nested.items():
            mask = nested.get(f"_{key}")
            if (key.startswith("_") and key[1:] in nested) or mask is None or not mask[i]:
                continue  # a mask, or a key this slot did not give
            if isinstance(values, dict):
                row[key] = _unbatched(values, mask)[i]
            else:
                row[key] = values.tolist()[i] if values.ndim == 1 else values[i]
        rows[i] = row
    return rows


def _as_autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    try:
        return AutoresetMode(mode)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in AutoresetMode)
        raise ValueError(
            f"autoreset_mode must be an AutoresetMode or one of {choices}, got {mode!r}"
        ) from None


def _seeds_per_slot(seed: int | Sequence[int | None] | None, n: int) -> list[int | None]:
    """Slot ``i``'s seed: ``seed + i`` for an int, ``seed[i]`` for a list (tuple, array) of
    ``n`` ints or ``None``; a ``ValueError`` naming the argument for anything else (a bool, a
    float in the list, a dict or a set, a negative int: no environment takes one, Gymnasium's
    seeding included), before any environment is reset."""
    if seed is None:
        return [None] * n
    negative = ValueError(f"seed must be at least 0 (no environment takes a negative seed), got {_clipped(seed)}")
    if is_int(seed):
        if seed < 0:
            raise negative
        return [int(seed) + i for i in range(n)]
    refused = ValueError(f"seed must be an int, a list of one int or None per sub-environment ({n}), or None, "
                         f"got {_clipped(seed)}")
    if isinstance(seed, (str, bytes, bool, Mapping, Set)) or not isinstance(seed, Iterable):
        raise refused
    seeds = list(seed)
    if not all(s is None or is_int(s) for s in seeds):
        raise refused
    if any(s is not None and s < 0 for s in seeds):
        raise negative
    if len(seeds) != n:
        raise ValueError(f"expected one seed per sub-environment ({n}), got {len(seeds)}")
    return [None if s is None else int(s) for s in seeds]  # NumPy seeds as plain ints: Gymnasium's reset takes no other


def _check_picklable(factories: Sequence[EnvFactory]) -> None:
    """Under process isolation each factory is pickled to its child process: a ``TypeError``
    naming the first that cannot be, before any process starts."""
    for i, factory in enumerate(factories):
        try:
            pickle.dumps(factory)
        except Exception as exc:  # noqa: BLE001 - pickling fails in many ways (AttributeError, TypeError...)
            raise TypeError(f"isolation='process' sends each factory to a child process, and factory {i} cannot be "
                            f"pickled ({exc}): use a module-level function or functools.partial(agentgym.make, "
                            f"env_id, ...) instead of a lambda or a closure") from None


def _check_options_picklable(options: Mapping[str, Any]) -> None:
    """Under process isolation reset's options go to every child process: a ``TypeError``
    naming them when they cannot be pickled, before any environment is reset."""
    try:
        pickle.dumps(dict(options))
    except Exception as exc:  # noqa: BLE001 - pickling fails in many ways (AttributeError, TypeError...)
        raise TypeError(f"isolation='process' sends reset's options to each child process, and "
                        f"options={_clipped(dict(options))} cannot be pickled ({exc}): pass values that "
                        f"pickle (data, module-level functions and classes)") from None


def _clipped(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def _checked_reset_mask(mask: Any, n: int) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (n,):
        raise TypeError(
            f"options['reset_mask'] must be a numpy bool array of shape ({n},), got {mask!r}"
        )
    if not mask.any():
        raise ValueError("options['reset_mask'] must select at least one sub-environment")
    return mask


async def _opened(slot: Slot) -> CallFailure | None:
    """Build the slot's environment; the failure, if it failed."""
    try:
        await slot.handle.open()
    except EnvCallFailed as failed:
        return failed.failure
    return None


def _run_to_the_end(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any]) -> Any:
    """``loop.run_until_complete(coroutine)``; when that is interrupted (Ctrl-C raises
    ``KeyboardInterrupt`` out of the loop) the batch is cancelled and run until it has unwound,
    then the interruption is raised: left pending, the batch would hold the vector env (one
    batch at a time) for good, and its late results would land in a later batch."""
    task = loop.create_task(coroutine)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if not task.done():
            task.cancel()
            with suppress(BaseException):  # the interruption is what the caller gets
                loop.run_until_complete(task)
        raise


def _run_in_fresh_thread(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to completion on a new event loop in a new thread, and return its result."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, asyncio.run(coroutine)))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="agentgym-vector-driver", daemon=True)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value

