"""What the thread and asyncio vector environments share: everything but how calls run.

:class:`SlotVectorEnv` keeps one :class:`Slot` per sub-environment and implements Gymnasium's
vector semantics (seeding, ``reset_mask``, the three autoreset modes, vector infos) and the
failure handling as *programs*: generators that yield the calls to run at the same time,
``{slot index: ResetCall | StepCall}``, and are sent back each call's outcome (its result, or a
:class:`SlotFailure`). A subclass only says how to run one batch of calls concurrently, so the
thread and asyncio versions behave identically by construction.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import wait
from contextlib import contextmanager
from dataclasses import dataclass
from traceback import format_exception
from typing import Any, Callable, ClassVar, Generator, Iterator, NamedTuple, Sequence

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from agentgym.vector._process import ProcessEnv, ProcessEnvDied
from agentgym.vector._worker import (
    DEFAULT_MAX_ABANDONED_THREADS,
    SlotWorker,
    check_hung_threads,
    checked_count,
    checked_timeout,
    hung_thread_count,
    warn_abandoned,
)

EnvFactory = Callable[[], Any]
_TRACEBACK_FRAMES = 6  # the innermost frames say where an environment broke; the rest is noise
_ISOLATIONS = ("thread", "process")
_KILLED_CALL_GRACE_S = 5.0  # a call waiting on a killed child process ends at once; bound it anyway


@dataclass(frozen=True)
class ResetCall:
    seed: int | None
    options: dict[str, Any] | None
    method: ClassVar[str] = "reset"


@dataclass(frozen=True)
class StepCall:
    action: Any
    method: ClassVar[str] = "step"


@dataclass(frozen=True)
class SlotFailure:
    """Why a call gave no result. It becomes an error observation, reward 0, ``truncated=True``.

    ``hung`` means the call is still running in the slot's thread: that thread and its
    environment are abandoned, since a thread cannot be stopped from outside.
    """

    error: str
    traceback: str | None = None
    hung: bool = False

    @classmethod
    def timed_out(cls, method: str, timeout: float | None, *, hung: bool) -> SlotFailure:
        """``method`` is ``"step"``, ``"reset"``, or ``"construction"`` (the factory itself)."""
        what = "environment construction" if method == "construction" else method
        return cls(f"{what} timed out after {timeout} s", hung=hung)

    @classmethod
    def raised(cls, method: str, exc: BaseException) -> SlotFailure:
        frames = format_exception(type(exc), exc, exc.__traceback__, limit=-_TRACEBACK_FRAMES)
        return cls(f"{method} raised {type(exc).__name__}: {exc}", "".join(frames))

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"error": self.error, "env_failed": True}
        if self.traceback is not None:
            info["traceback"] = self.traceback
        return info


# A slot whose environment failed and whose reset has not succeeded since has no episode.
_NO_EPISODE = SlotFailure("step skipped: the environment failed and has not been reset since")

Call = ResetCall | StepCall
Outcome = Any  # a normalised result (see below) or a SlotFailure
Program = Generator[dict[int, Call], dict[int, Outcome], Any]


class StepResult(NamedTuple):
    observation: Any
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


# ----------------------------------------------------------- work done in a slot's thread
# These functions never touch a Slot: a call that was abandoned may finish at any later time.
def step_env(env: Any, action: Any) -> StepResult:
    return as_step_result(env.step(action))


def reset_env(env: Any, seed: int | None, options: dict[str, Any] | None):
    """Reset ``env``; returns ``(env, observation, info)`` so a rebuilt env travels with it."""
    return (env, *as_reset_result(env.reset(seed=seed, options=options)))


def replace_env(failed_env: Any, factory: EnvFactory, progress: list[str] | None = None) -> Any:
    """Close a failed environment (``None`` if it was abandoned) and build a fresh one.

    ``progress`` (if given) gets ``"built"`` once the factory returned, so whoever times the
    call out can tell a slow construction from a slow reset."""
    if failed_env is not None:
        close_quietly(failed_env)
    env = factory()
    if progress is not None:
        progress.append("built")
    return env


def rebuild_and_reset(
    env: Any,
    rebuild_with: EnvFactory | None,
    seed: int | None,
    options: dict[str, Any] | None,
    progress: list[str],
):
    """A slot's reset in its thread: first replace a failed environment if ``rebuild_with``."""
    if rebuild_with is not None:
        env = replace_env(env, rebuild_with, progress)
    return reset_env(env, seed, options)


def timed_out_method(call: "Call", needs_rebuild: bool, progress: list[str]) -> str:
    """What a timed-out call was doing: building a fresh environment, or ``call.method``."""
    return "construction" if needs_rebuild and "built" not in progress else call.method


def close_quietly(failed_env: Any) -> None:
    try:
        failed_env.close()
    except Exception:  # noqa: BLE001 - it is broken already; its close failing changes nothing
        pass


def as_step_result(result: Sequence[Any]) -> StepResult:
    observation, reward, terminated, truncated, info = result
    return StepResult(observation, float(reward), bool(terminated), bool(truncated), dict(info))


def as_reset_result(result: Sequence[Any]) -> tuple[Any, dict[str, Any]]:
    observation, info = result
    return observation, dict(info)


class Slot:
    """One sub-environment: its factory, its current environment and the thread that runs it.

    With ``isolation="process"`` the environment lives in a child process (a
    :class:`~agentgym.vector._process.ProcessEnv`, which the slot's thread drives) and
    :attr:`factory` builds one; a hung call is then ended by killing that process."""

    def __init__(
        self, index: int, factory: EnvFactory, isolation: str = "thread", start_method: str = "spawn"
    ) -> None:
        self.index = index
        self.env_factory = factory
        self.start_method = start_method
        #: the latest child process this slot started (process isolation)
        self.process: ProcessEnv | None = None
        self.isolated = isolation == "process"
        self._process_lock = threading.Lock()
        self._killing = False
        self.factory: EnvFactory = factory if isolation == "thread" else self._build_in_process
        self.worker = self._new_worker()
        self.env: Any = None  # None only while an abandoned (hung) environment awaits rebuild
        #: the environment failed: close it and build a fresh one at the next reset
        self.needs_rebuild = False
        #: an episode can be stepped: the last reset succeeded and nothing failed since
        self.live = False

    def fail(self, failure: SlotFailure) -> str | None:
        """Mark the slot failed. A hung call ends in one of two ways, which is returned:
        ``"killed"`` (process isolation: its process was killed, the thread is free again) or
        ``"abandoned"`` (its thread is left to it); otherwise ``None``."""
        self.live = False
        self.needs_rebuild = True
        if not failure.hung:
            return None
        self.env = None
        if self.kill_process():
            return "killed"
        # The call still runs and nothing can stop it: leave that thread and environment
        # alone for good (counted in hung_thread_count) and give the slot a new thread.
        abandoned = self.worker.abandon()
        self.worker = self._new_worker()
        return "abandoned" if abandoned else None

    def kill_process(self) -> bool:
        """Process isolation: kill the slot's child process and wait for the call that was
        waiting on it to end; returns whether the slot's thread is free (False in thread mode).

        While it waits no new process may start: a rebuild that was on its way to start one
        (the timeout struck between its steps) fails instead of leaving a process nobody owns.
        """
        if not self.isolated:
            return False
        with self._process_lock:
            self._killing = True
            process, self.process = self.process, None
        try:
            if process is not None:
                process.kill()
            deadline = time.monotonic() + _KILLED_CALL_GRACE_S
            while self.worker.busy and time.monotonic() < deadline:
                time.sleep(0.005)
            return not self.worker.busy
        finally:
            with self._process_lock:
                self._killing = False

    def _build_in_process(self) -> ProcessEnv:
        """The factory under process isolation (runs in the slot's thread)."""
        env = ProcessEnv(
            self.env_factory, start_method=self.start_method, name=f"agentgym-env-{self.index}"
        )
        with self._process_lock:
            if self._killing:
                raise ProcessEnvDied(f"{env.name}: timed out before its process started")
            self.process = env  # before it starts, so that a timeout can kill it while it builds
        try:
            return env.start()
        except BaseException:
            env.kill()
            raise

    def _new_worker(self) -> SlotWorker:
        return SlotWorker(f"agentgym-vector-slot-{self.index}")


class SlotVectorEnv(VectorEnv):
    """Gymnasium vector semantics over slots whose calls a subclass runs concurrently.

    Results, as Gymnasium 1.x's ``SyncVectorEnv``: observations batched with
    :func:`~gymnasium.vector.utils.batch_space` (a tuple of strings for text spaces), rewards a
    ``float64`` array, terminations and truncations ``bool`` arrays, infos in the vector format
    (one array per key plus a ``_key`` mask). ``reset(seed=int)`` seeds slot ``i`` with
    ``seed + i``; ``options={"reset_mask": mask}`` resets only the masked slots.

    Autoreset (``autoreset_mode``, an :class:`~gymnasium.vector.AutoresetMode` or its value):

    * ``NEXT_STEP`` (default): a slot whose episode ended is reset on the next ``step``; its
      action is ignored and that step reports reward 0 and no termination.
    * ``SAME_STEP``: a slot whose episode ends is reset within the same ``step``; the final
      observation and info are kept in ``infos["final_obs"]`` / ``infos["final_info"]``.
    * ``DISABLED``: stepping a slot whose episode ended raises; reset it with ``reset_mask``.

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
    factories must then be picklable) driven by the slot's thread: a call that outlasts
    ``step_timeout`` kills that process, the slot's thread is free at once, nothing is
    abandoned, and a fresh process is built at the slot's next reset. ``close()`` ends every
    child process. Environments with their own ``areset``/``astep`` coroutines are run in the
    child through their synchronous ``reset``/``step``.
    """

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
        if isolation not in _ISOLATIONS:
            raise ValueError(f"isolation must be one of {_ISOLATIONS}, got {isolation!r}")
        if start_method not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f"start_method must be one of {multiprocessing.get_all_start_methods()}, "
                f"got {start_method!r}"
            )
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
            Slot(i, factory, isolation, start_method) for i, factory in enumerate(factories)
        ]
        self._construction_failures: dict[int, SlotFailure] = {}
        self._one_batch_at_a_time = threading.Lock()
        self._started = False
        self._observations: list[Any] = [None] * self.num_envs
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)
        try:
            self._build_envs()
            self._set_spaces()
        except BaseException:
            self.close()
            raise
        first = self._first_env()
        self.metadata = {**getattr(first, "metadata", {}), "autoreset_mode": self.autoreset_mode}
        self.render_mode = getattr(first, "render_mode", None)

    # ----------------------------------------------------------------- programs
    def _reset_program(
        self, seed: int | Sequence[int | None] | None, options: dict[str, Any] | None
    ) -> Program:
        self._check_open()
        seeds = _seeds_per_slot(seed, self.num_envs)
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
                if not isinstance(outcome, SlotFailure):
                    infos = self._add_info(infos, {"construction_error": first_failure.error}, i)
            self._observations[i], info, failed = self._settle_reset(i, outcome)
            self._autoreset[i] = failed  # NEXT_STEP retries a failed reset on the next step
            infos = self._add_info(infos, info, i)
        self._started = True
        return self._batched_observations(), infos

    def _step_program(self, actions: Any) -> Program:
        self._check_open()
        if not self._started:
            raise ResetNeeded("call reset() before step()")
        actions = list(iterate(self.action_space, actions))
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
            if mode is AutoresetMode.NEXT_STEP and self._autoreset[i]:
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
        rewards = np.array([r.reward for r in results], dtype=np.float64)
        return self._batched_observations(), rewards, terminations, truncations, infos

    # ------------------------------------------------------------ outcomes
    def _settle_reset(self, i: int, outcome: Outcome) -> tuple[Any, dict[str, Any], bool]:
        """Install a reset's result; returns ``(observation, info, failed)``."""
        if isinstance(outcome, SlotFailure):
            failed = self._settle_failure(i, outcome)
            return failed.observation, failed.info, True
        slot = self._slots[i]
        slot.env, observation, info = outcome
        slot.needs_rebuild = False
        slot.live = True
        return observation, info, False

    def _settle_step(self, i: int, outcome: Outcome) -> StepResult:
        if isinstance(outcome, SlotFailure):
            return self._settle_failure(i, outcome)
        return outcome

    def _settle_failure(self, i: int, failure: SlotFailure) -> StepResult:
        info = failure.info()
        ended = self._slots[i].fail(failure)
        if ended == "abandoned":
            self._count_abandoned()
            # how many calls are hung in abandoned threads in this process, this one included
            info["hung_threads"] = hung_thread_count()
        elif ended == "killed":
            info["env_killed"] = True  # process isolation: the hung environment's process
        text = f"Environment error: {failure.error}. This episode is over."
        return StepResult(
            error_observation(self.single_observation_space, text), 0.0, False, True, info
        )

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

    def _build_envs(self) -> None:
        """Build every environment in its own slot's thread, all at once, within ``step_timeout``.

        A factory that raises makes the constructor raise (once the others are done, so nothing
        is left half-built); one that outlasts the timeout leaves its slot without an
        environment, to be built at its first reset (see the class docstring)."""
        futures = [slot.worker.submit(slot.factory) for slot in self._slots]
        done, _ = wait(futures, timeout=self.step_timeout)
        for slot, future in zip(self._slots, futures, strict=True):
            if future not in done:
                # Close the environment if the factory ever returns: nobody else will.
                future.add_done_callback(_close_late_env)
                future.cancel()  # only succeeds if it never started; then nothing is left running
                hung = slot.worker.busy
                failure = SlotFailure.timed_out("construction", self.step_timeout, hung=hung)
                self._construction_failures[slot.index] = failure
                if slot.fail(failure) == "abandoned":
                    self._count_abandoned()
            elif future.exception() is None:
                slot.env = future.result()
        for future in done:
            future.result()  # raises the first factory's error
        if len(self._construction_failures) == self.num_envs:
            raise TimeoutError(
                f"no sub-environment was built within step_timeout={self.step_timeout} s "
                "(environment construction timed out in every slot)"
            )

    def _first_env(self) -> Any:
        return next(slot.env for slot in self._slots if slot.env is not None)

    def _set_spaces(self) -> None:
        first = self._first_env()
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        for slot in self._slots:
            if slot.env is None or slot.env is first:
                continue
            if (
                slot.env.observation_space != self.single_observation_space
                or slot.env.action_space != self.single_action_space
            ):
                raise RuntimeError(
                    f"sub-environment {slot.index} has spaces {slot.env.observation_space} / "
                    f"{slot.env.action_space}, unlike the first sub-environment's "
                    f"{self.single_observation_space} / {self.single_action_space}"
                )
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def close_extras(self, **kwargs: Any) -> None:
        """Close every environment in its own thread, then join the threads.

        A ``close`` that outlasts ``step_timeout`` is abandoned like a hung step. Environments
        abandoned earlier are not closed (their thread may still be inside them); their daemon
        threads end when the hung call returns, and never keep the process from exiting. The
        first error a healthy environment's ``close`` raised is re-raised once all is shut.
        """
        closing = {}
        for slot in self._slots:
            if slot.env is None:
                continue
            if slot.needs_rebuild:  # it failed already; how its close goes does not matter
                closing[slot.index] = slot.worker.submit(close_quietly, slot.env)
            else:
                closing[slot.index] = slot.worker.submit(slot.env.close)
        done, _ = wait(closing.values(), timeout=self.step_timeout)
        errors = []
        for slot in self._slots:
            future = closing.get(slot.index)
            finished = future is None or future in done
            if not finished:
                finished = slot.kill_process()  # process isolation: a hung close is killed
            if finished:
                slot.worker.shutdown(wait=True)
            else:
                slot.worker.abandon()
            if slot.process is not None:  # e.g. built late, after its construction timed out
                slot.process.kill()
            if finished and future is not None and future.exception() is not None:
                errors.append(future.exception())
        if errors:
            raise errors[0]

    def __del__(self) -> None:
        # Without close() the idle slot threads would wait for calls forever. Joining threads
        # or closing environments is not safe during garbage collection; stopping them is.
        if not getattr(self, "closed", True):
            for slot in getattr(self, "_slots", ()):
                slot.worker.shutdown(wait=False)

    # ------------------------------------------------------------ Gymnasium extras
    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call method ``name`` of every sub-environment, each in its own thread.

        A non-callable attribute is returned as is (as Gymnasium's vector envs do). Exceptions
        propagate: this is not a step, nothing is isolated.
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

    def _on_every_env(
        self, fn: Callable[..., Any], extra_args: Sequence[Sequence[Any]] | None = None
    ) -> tuple[Any, ...]:
        self._check_open()
        abandoned = [slot.index for slot in self._slots if slot.env is None]
        if abandoned:
            raise RuntimeError(
                f"sub-environments {abandoned} hung and were abandoned; each gets a fresh "
                "environment at its next reset"
            )
        extra_args = extra_args or [[]] * self.num_envs
        futures = [
            slot.worker.submit(fn, slot.env, *args)
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
        try:
            check_hung_threads(self.max_abandoned_threads)
            yield
        finally:
            self._one_batch_at_a_time.release()

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"{type(self).__name__} is closed")


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


def _as_autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    try:
        return AutoresetMode(mode)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in AutoresetMode)
        raise ValueError(
            f"autoreset_mode must be an AutoresetMode or one of {choices}, got {mode!r}"
        ) from None


def _seeds_per_slot(seed: int | Sequence[int | None] | None, n: int) -> list[int | None]:
    if seed is None:
        return [None] * n
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(n)]
    seeds = list(seed)
    if len(seeds) != n:
        raise ValueError(f"expected one seed per sub-environment ({n}), got {len(seeds)}")
    return seeds


def _checked_reset_mask(mask: Any, n: int) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (n,):
        raise TypeError(
            f"options['reset_mask'] must be a numpy bool array of shape ({n},), got {mask!r}"
        )
    if not mask.any():
        raise ValueError("options['reset_mask'] must select at least one sub-environment")
    return mask


def _close_late_env(future: Any) -> None:
    """Close what a factory that timed out built after all (runs in its abandoned thread)."""
    if not future.cancelled() and future.exception() is None:
        close_quietly(future.result())
