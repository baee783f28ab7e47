"""Roll out a policy on many environments at once and record token-exact trajectories.

    result = rollout(policy, [Task("games/Wordle-v0", seed=s) for s in range(8)],
                     RolloutConfig(group_size=4, sampling=SamplingParams(temperature=1.0)))

Each task is played ``group_size`` times with the same seed (one GRPO group, one ``group_id``).
Episodes run concurrently as asyncio tasks: their generation requests are batched into policy
calls (:class:`~agentgym.rollout.batcher.GenerationBatcher`) while their environments are
stepped through environment handles (:class:`~agentgym.runtime.EnvHandle`, the runtime the vector envs use too),
each call bounded by ``step_timeout``. Where the environments live is ``RolloutConfig.env_runtime``:
threads of this process (default), child processes, Ray worker actors, or an environment server
(:mod:`agentgym.runtime.runtimes`); the engine builds the same stack everywhere from data
(:class:`~agentgym.runtime.EnvSpec`). An episode
ends when its environment terminates or truncates (the registered turn budget, or
``max_turns``), or with an error — a hung or raising environment, a policy error, the episode
timeout — that is recorded in its trajectory while the other episodes go on.

In a thread, a step that times out cannot be stopped: its thread (and environment) is abandoned,
a daemon that ends if the call ever returns (in a child process it is killed; remotely the
session or actor's environment is dropped). Those threads are counted process-wide
(:func:`agentgym.vector.hung_thread_count`), reported (``stats["abandoned_threads"]``,
``stats["hung_threads"]``, a :class:`~agentgym.vector.HungEnvironmentWarning`) and capped: once
more than ``RolloutConfig.max_abandoned_threads`` calls are hung, starting another episode
raises :class:`~agentgym.vector.HungEnvironmentError` and the rollout stops (the trajectories
already finished are in ``trajectories_path``).

The environment of a timed-out episode is still closed at once (see
:class:`~agentgym.runtime.LocalHandle`): an :class:`~agentgym.LLMEnv`'s ``close`` (safe beside a
running ``play``) releases the episode's resources (a sandbox process, a browser page) while the
hung call goes on.

Where a failure is caught, the trajectory records why as data: ``Trajectory.error_kind`` is an
:class:`~agentgym.info.ErrorKind` value (``"timeout"``, ``"policy"``, ``"environment"``), and
``stats["error_kinds"]`` counts them. A lost host (a killed environment process, a dead Ray
actor, an environment server that went away) fails its episode with that cause; the others go on.

An environment-aware policy (the oracle, the random baseline) never gets the environment: it
declares the hints it needs (:attr:`~agentgym.policies.base.Policy.env_hints`, names from
:data:`~agentgym.policies.base.ENV_HINTS`); the :class:`~agentgym.wrappers.EnvHints` wrapper,
outermost in the stack, computes those alone next to the environment, within the same call as
the ``reset`` or ``step`` that leads to the turn, and the engine passes them as
``Request.hints`` (JSON-safe data).

With a token-level policy (one that has a ``tokenizer``) every turn's prompt is built by a
:class:`~agentgym.rollout.transcript.TokenTranscript`, so the token sequence of a trajectory is
exactly what the policy was given and what it sampled; the engine checks at every turn that
the policy continued exactly the prompt it was handed and counts any mismatch in
``Trajectory.token_mismatches``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncContextManager, Callable, Iterator, Mapping, Sequence

import gymnasium as gym
from rich.console import Console

import agentgym
from agentgym.core import is_finite_number, is_int
from agentgym.event_loops import run_sync
from agentgym.images import is_image
from agentgym.info import ErrorKind, step_error, text_or_none
from agentgym.registry import checked_wrappers
from agentgym.policies.base import ENV_HINTS, Generation, Policy, Request, SamplingParams
from agentgym.rollout.batcher import GenerationBatcher
from agentgym.rollout.progress import RolloutProgress
from agentgym.rollout.transcript import TokenTranscript
from agentgym.runtime.handle import CallFailure, EnvCallFailed, EnvHandle
from agentgym.runtime.runtimes import EnvSpec, Runtime, as_runtime, check_stack_arguments
from agentgym.runtime.worker import (
    DEFAULT_MAX_ABANDONED_THREADS,
    check_hung_threads,
    checked_count,
    checked_timeout,
    hung_thread_count,
    warn_abandoned,
)
from agentgym.suites import env_label
from agentgym.trajectory import Trajectory, TrajectoryWriter, Turn, json_safe
from agentgym.wrappers.chat_history import DEFAULT_SYSTEM_PROMPT
from agentgym.wrappers.env_hints import HINTS_KEY, REFERENCE_KEY, turn_seed
from agentgym.wrappers.specs import WrapperSpec

_INFO_KEYS_STORED_ELSEWHERE = {"messages", "reward_components", "error", "success", "tools", HINTS_KEY, REFERENCE_KEY}


@dataclass(frozen=True)
class Task:
    """One task: an environment, its constructor arguments and the seed that picks the task (an
    integer, not negative: an environment's ``reset`` takes no other)."""

    env_id: str
    seed: int
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not is_int(self.seed):  # 1.5, "3", True: never a task of its own
            raise TypeError(f"Task seed must be an integer, got {self.seed!r:.80}")
        if self.seed < 0:  # Gymnasium's reset refuses it: every episode of the task would fail
            raise ValueError(f"Task seed must be a non-negative integer (an environment's reset takes no other), "
                             f"got {self.seed}")
        # a NumPy seed (np.arange) as a plain int: Gymnasium's reset takes no other
        object.__setattr__(self, "seed", int(self.seed))
        if self.kwargs is None:  # no arguments (as read from data)
            object.__setattr__(self, "kwargs", {})
        elif not isinstance(self.kwargs, Mapping):
            raise TypeError(f"Task kwargs must be a dict of the environment's arguments, got {self.kwargs!r:.80}")

    @property
    def label(self) -> str:
        """``games/Wordle-v0[hard]``: as a suite entry's (:func:`~agentgym.suites.env_label`)."""
        return env_label(self.env_id, self.kwargs)

    @property
    def group_id(self) -> str:
        """The ``group_id`` of this task's rollouts: the environment, its arguments exactly (as
        canonical JSON, keys sorted, values as a trajectory stores them) and the seed, e.g.
        ``games/Wordle-v0{"difficulty":"hard"}#3``, or ``games/Wordle-v0#3`` without arguments.
        Tasks share it only when they make the same episodes, whatever the order their
        arguments were given in (the :attr:`label`, a table's row name, drops the arguments'
        names and types: ``{"width": 3}`` and ``{"height": "3"}`` both read ``[3]``)."""
        if not self.kwargs:
            return f"{self.env_id}#{self.seed}"
        arguments = json.dumps(json_safe(dict(self.kwargs)), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        return f"{self.env_id}{arguments}#{self.seed}"


@dataclass(frozen=True)
class RolloutConfig:
    """How to roll out.

    Attributes:
        group_size: rollouts per task, sharing its seed (GRPO's G).
        sampling: sampling settings; with ``sampling.seed`` set, each request gets a seed
            derived from it, the task seed, the rollout index and the turn.
        max_turns: turn budget per episode (``None``: the environment's registered budget).
        system_prompt: the system message (``None`` leaves it out).
        wrappers: wrappers applied inside the turn budget (``AnswerFormat``, ``ToolCalling``...).
        max_concurrent_episodes: episodes in flight at once.
        max_batch_size: the most requests per policy call.
        step_timeout: seconds an environment may take to make, reset or step.
        episode_timeout: seconds an episode may take in all (``None``: no limit).
        max_context_chars: a context budget (text-mode policies; with a token-level policy a
            dropped turn breaks the token prefix and is counted as a mismatch).
        max_abandoned_threads: how many timed-out environment calls may still be hung in
            abandoned threads in this process before no further episode starts (the rollout
            raises ``HungEnvironmentError``); see the module docstring.
        env_runtime: where environments run: ``"thread"``, ``"process"``, ``"ray"``, an
            environment server's URL, or a :class:`~agentgym.runtime.runtimes.Runtime` (started
            if it is not yet, and left open for the caller to close: e.g. one Ray pool for a
            whole training run).

    Counts must be integers (not ``bool`` or ``float``; a NumPy integer is stored as an ``int``)
    and times finite positive numbers; a bad value is a ``ValueError`` naming the option.
    """

    group_size: int = 1
    sampling: SamplingParams = field(default_factory=SamplingParams)
    max_turns: int | None = None
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
    wrappers: Sequence[Callable[[gym.Env], gym.Env]] = ()
    max_concurrent_episodes: int = 32
    max_batch_size: int = 32
    step_timeout: float | None = 60.0
    episode_timeout: float | None = None
    max_context_chars: int | None = None
    max_abandoned_threads: int = DEFAULT_MAX_ABANDONED_THREADS
    env_runtime: str | Runtime = "thread"

    def __post_init__(self) -> None:
        # Counts are stored as ints (a NumPy count becomes one): they travel as JSON data.
        for name in ("group_size", "max_concurrent_episodes", "max_batch_size"):
            object.__setattr__(self, name, checked_count(name, getattr(self, name)))
        for name in ("max_turns", "max_context_chars"):
            object.__setattr__(self, name, checked_count(name, getattr(self, name), allow_none=True))
        object.__setattr__(self, "max_abandoned_threads",
                           checked_count("max_abandoned_threads", self.max_abandoned_threads, minimum=0))
        for name in ("step_timeout", "episode_timeout"):
            checked_timeout(name, getattr(self, name))
        if not isinstance(self.sampling, SamplingParams):
            raise ValueError(f"sampling must be a SamplingParams, got {self.sampling!r}")
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            raise ValueError(f"system_prompt must be a string or None, got {self.system_prompt!r}")
        as_runtime(self.env_runtime)  # a ValueError naming the choices
        object.__setattr__(self, "wrappers", checked_wrappers("RolloutConfig", self.wrappers))


@dataclass
class RolloutResult:
    """The trajectories of a rollout, in task order (each task's group together), and a summary."""

    trajectories: list[Trajectory]
    stats: dict[str, Any]


_HUNG_REMEDY = ('fix the environment (its step must return), or run it with RolloutConfig(env_runtime="process"), '
                "which kills hung environments")


def rollout(policy: Policy, tasks: Sequence[Task], config: RolloutConfig | None = None, *,
            trajectories_path: str | Path | None = None, progress: bool | str | RolloutProgress = True,
            on_episode: Callable[[Trajectory], None] | None = None) -> RolloutResult:
    """Synchronous :func:`arollout` (not callable from inside a running event loop: there, such
    as in a notebook, ``await arollout(...)``)."""
    return run_sync(arollout(policy, tasks, config, trajectories_path=trajectories_path, progress=progress,
                             on_episode=on_episode),
                    "rollout() was called inside a running event loop (a notebook, an async function): "
                    "await arollout(...) instead")


async def arollout(policy: Policy, tasks: Sequence[Task], config: RolloutConfig | None = None, *,
                   trajectories_path: str | Path | None = None, progress: bool | str | RolloutProgress = True,
                   on_episode: Callable[[Trajectory], None] | None = None) -> RolloutResult:
    """Play every task ``config.group_size`` times with ``policy``; see the module docstring.

    Trajectories are appended to ``trajectories_path`` (JSONL, flushed as each one ends) when
    given. ``progress`` (``True``, or a label such as ``"eval"``) reports on standard error how
    many episodes ended, the success rate and generated tokens per second: a live bar on a
    terminal, plain lines in a log (:class:`~agentgym.rollout.progress.RolloutProgress`); a
    ``RolloutProgress`` of the caller's (entered by the caller) reports wherever it was made to.
    ``on_episode`` is called with each trajectory as its episode ends (in the event loop's
    thread; e.g. to report progress elsewhere); it is a plain function (an ``async def`` one,
    whose coroutine nothing would await, is refused before anything runs, as is what cannot be
    called). An exception it raises stops the rollout and propagates: the episodes in flight
    are cancelled and their environments closed, and the trajectories already ended stay in
    ``trajectories_path``.
    """
    config = config or RolloutConfig()
    tasks = _task_list(tasks)
    _check_on_episode(on_episode)
    for task in tasks:
        agentgym.env_info(task.env_id)  # fail now, with suggestions, on an unknown id
        check_stack_arguments(task.env_id, task.kwargs, config.max_turns)  # not at every episode
    runner = _Runner(policy, config)  # refuses a policy it cannot run before any file is made
    plan = [(task, i) for task in tasks for i in range(config.group_size)]
    if isinstance(progress, RolloutProgress):  # the caller's: already entered, reporting where it was made to
        reporter, scope = progress, contextlib.nullcontext()
    elif progress:
        reporter = RolloutProgress(progress if isinstance(progress, str) else "rollout", len(plan), Console(stderr=True))
        scope = reporter
    else:
        reporter, scope = None, contextlib.nullcontext()
    runner.on_episode = _both(reporter.episode_finished if reporter else None, on_episode)
    runner.on_turn = reporter.turn_played if reporter else None
    writer = runner.writer = TrajectoryWriter(trajectories_path) if trajectories_path else None
    start = time.perf_counter()
    try:
        with scope:
            trajectories = await runner.run(plan)
    finally:
        if writer:
            writer.close()
    stats = _stats(trajectories, runner.batcher, time.perf_counter() - start)
    stats["abandoned_threads"] = runner.abandoned  # steps of this rollout left hung in their threads
    stats["hung_threads"] = hung_thread_count()  # calls still hung in this process, all rollouts
    return RolloutResult(trajectories, stats)


class _Runner:
    """Runs the episodes of one rollout."""

    def __init__(self, policy: Policy, config: RolloutConfig, writer: TrajectoryWriter | None = None) -> None:
        if not callable(getattr(policy, "agenerate", None)):
            advice = (f" (a policy spec is made into one by agentgym.policies.specs.make_policy({policy!r}))"
                      if isinstance(policy, str) else "")
            raise TypeError(f"policy must be a Policy (an object with agenerate(requests, sampling)), "
                            f"got {policy!r:.80}{advice}")
        self.policy = policy
        self.config = config
        self.writer = writer
        self.token_mode = policy.tokenizer is not None
        self.env_hints = tuple(getattr(policy, "env_hints", ()) or ())
        unknown = [name for name in self.env_hints if name not in ENV_HINTS]
        if unknown:
            raise ValueError(f"{policy.name}: env_hints {unknown} are not hints an environment gives "
                             f"(known: {', '.join(ENV_HINTS)})")
        self.batcher = GenerationBatcher(policy, config.sampling, max_batch_size=config.max_batch_size)
        self.on_episode: Callable[[Trajectory], None] | None = None
        self.on_turn: Callable[[Trajectory, Turn], None] | None = None
        #: a runtime named by a string is this rollout's to close; a Runtime object is the caller's
        self.runtime = as_runtime(config.env_runtime)
        self.owns_runtime = not isinstance(config.env_runtime, Runtime)
        #: environment calls of this rollout left hung in abandoned threads
        self.abandoned = 0

    async def run(self, plan: list[tuple[Task, int]]) -> list[Trajectory]:
        for task, index in plan[:1]:
            self.runtime.check(self._spec(task, index))  # e.g. wrappers a server cannot build: say so now
        await asyncio.to_thread(self.runtime.start)  # idempotent: a caller's runtime may be started already
        slots = self.batcher.slots(self.config.max_concurrent_episodes)  # lockstep batching needs them
        serving = asyncio.create_task(self.batcher.run())
        episodes = [asyncio.create_task(self._guarded(task, i, slots)) for task, i in plan]
        try:
            return list(await asyncio.gather(*episodes))
        except BaseException:
            # An error that stops the rollout (HungEnvironmentError): stop every other episode
            # too, and wait for them, so none is left running (or hung on the policy) behind.
            for episode in episodes:
                episode.cancel()
            await asyncio.gather(*episodes, return_exceptions=True)
            raise
        finally:
            serving.cancel()
            if self.owns_runtime:
                await asyncio.to_thread(self.runtime.close)

    async def _guarded(self, task: Task, index: int, slots: AsyncContextManager[Any]) -> Trajectory:
        async with slots:
            check_hung_threads(self.config.max_abandoned_threads, _HUNG_REMEDY)  # stops the rollout past the cap
            trajectory = Trajectory(env_id=task.env_id, seed=task.seed, group_id=task.group_id,
                                    policy=self.policy.name,
                                    metadata={"rollout_index": index, "env_kwargs": json_safe(task.kwargs)})
            self.batcher.episode_started()
            handle = self.runtime.handle(self._spec(task, index), timeout=self.config.step_timeout,
                                         name=f"agentgym-episode-{task.env_id}-{task.seed}-{index}")
            interrupted = False
            try:
                await asyncio.wait_for(self._play(task, index, trajectory, handle), self.config.episode_timeout)
            except EnvCallFailed as failed:
                trajectory.error, trajectory.error_kind = _described(failed.failure), failed.failure.kind.value
            except _TokenizerFailed as failed:
                trajectory.error, trajectory.error_kind = f"policy error: {failed}", ErrorKind.POLICY_ERROR.value
            except asyncio.TimeoutError:
                trajectory.error = f"episode timed out after {self.config.episode_timeout} s"
                trajectory.error_kind = ErrorKind.TIMEOUT.value
            except Exception as exc:  # noqa: BLE001 - isolated to this episode
                trajectory.error = f"environment raised {type(exc).__name__}: {exc}"
                trajectory.error_kind = ErrorKind.ENV_ERROR.value
            except asyncio.CancelledError:  # the rollout is stopping (Ctrl-C, a caller's cancel)
                interrupted = True
                raise
            finally:
                self.batcher.episode_finished()
                await self._close(handle, interrupted=interrupted)
            self._finish(trajectory)
            return trajectory

    async def _play(self, task: Task, index: int, trajectory: Trajectory, handle: EnvHandle) -> None:
        await handle.open()
        observation, info = await handle.reset(seed=task.seed)
        reference = info.get(REFERENCE_KEY) or {}
        for key in ("reference_answer", "answer_stub"):  # for reward providers; never shown to the policy
            trajectory.metadata[key] = reference.get(key)
        for key in ("gold_tool_calls", "gold_documents", "answer_aliases"):  # ToolRL's, the search family's
            if reference.get(key) is not None:
                trajectory.metadata[key] = reference[key]
        hints = info.get(HINTS_KEY)
        # as a trajectory holds them (any Gymnasium environment may give a number, or None)
        trajectory.task_id = text_or_none(info.get("task_id"))
        trajectory.instructions = str(info.get("instructions") or "")
        messages, tools = info["messages"], info.get("tools") or None
        transcript = None
        if self.token_mode:
            with self._tokenizing():
                transcript = TokenTranscript(self.policy.tokenizer, messages, tools)
        if transcript:
            trajectory.prompt_length = len(transcript.token_ids)
        for turn_index in itertools.count():
            request = Request(messages, tools, transcript.prompt_ids if transcript else None,
                              seed=self._request_seed(task, index, turn_index), hints=hints)
            started = time.perf_counter()
            generation = await self.batcher.generate(request)
            generation_seconds = time.perf_counter() - started
            broken = _broken_generation(generation, self.policy.name)
            if not broken and transcript:
                generation, broken = _with_token_lists(generation, self.policy.name)
            if broken:
                trajectory.error = f"policy error: {broken}"
                trajectory.error_kind = ErrorKind.POLICY_ERROR.value
                break
            turn = Turn(turn_index, _text(observation), generation.text, finish_reason=generation.finish_reason,
                        generation_seconds=generation_seconds, logprobs=_logprob_list(generation.logprobs),
                        observation_image=_image(observation))
            if transcript:
                self._check_prefix(transcript, generation, trajectory)
                with self._tokenizing():
                    span = transcript.add_generation(generation.token_ids or [], generation.logprobs, generation.text)
                turn.action_span = (span.start, span.end)
            started = time.perf_counter()
            observation, reward, terminated, truncated, info = await handle.step(_action(generation))
            turn.seconds = time.perf_counter() - started
            hints = info.get(HINTS_KEY)
            turn.reward, turn.reward_components = _checked_rewards(reward, info.get("reward_components", {}))
            turn.error = step_error(info)
            turn.info = json_safe({k: v for k, v in info.items() if k not in _INFO_KEYS_STORED_ELSEWHERE})
            trajectory.turns.append(turn)
            if self.on_turn is not None:
                self.on_turn(trajectory, turn)
            new_messages = info["messages"]
            if terminated or truncated:
                trajectory.terminated, trajectory.truncated = bool(terminated), bool(truncated)
                trajectory.success = bool(info.get("success", False))
                trajectory.messages = new_messages
                if "tool_stats" in info:  # the episode's tool use: calls, errors, seconds by tool
                    trajectory.metadata["tool_stats"] = json_safe(info["tool_stats"])
                break
            if transcript:
                rewrites = transcript.mismatches
                with self._tokenizing():
                    span = transcript.add_conversation(new_messages)  # a context budget may have dropped turns
                if transcript.mismatches > rewrites:  # the tokens are now the rewritten conversation's
                    _forget_spans(trajectory.turns)
                else:
                    turn.observation_span = (span.start, span.end)
            messages = new_messages
        if not trajectory.messages:
            trajectory.messages = messages
        if transcript:
            trajectory.token_ids = transcript.token_ids
            trajectory.token_mismatches += transcript.mismatches

    def _spec(self, task: Task, index: int) -> EnvSpec:
        """The episode's environment stack as data: the task's environment with the configured
        wrappers inside its turn budget, then the chat history, then the hints the policy needs."""
        config = self.config
        hint_base = getattr(self.policy, "hint_seed", None)
        hint_seed = _derived_seed(config.sampling.seed if hint_base is None else hint_base, task, index)
        chat = {"system_prompt": config.system_prompt, "max_context_chars": config.max_context_chars,
                "raw_assistant": self.token_mode}
        return EnvSpec(task.env_id, dict(task.kwargs), config.max_turns, tuple(config.wrappers),
                       (WrapperSpec("ChatHistory", chat),
                        WrapperSpec("EnvHints", {"hints": list(self.env_hints), "seed": hint_seed})))

    @contextlib.contextmanager
    def _tokenizing(self) -> Iterator[None]:
        """Around the transcript's work: the policy's chat template or tokenizer failing on the
        conversation (a template without a system role, one that refuses a message) is the
        policy's error, not the environment's (:class:`_TokenizerFailed`)."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - the episode records it
            advice = ""
            if self.config.system_prompt is not None and "system" in str(exc).lower():
                advice = ("; a template that takes no system message (Gemma's) needs RolloutConfig(system_prompt=None) "
                          "(in a training configuration, [rollout] system_prompt = \"\")")
            raise _TokenizerFailed(f"{self.policy.name}'s chat template or tokenizer failed on the conversation: "
                                   f"{type(exc).__name__}: {exc}{advice}") from exc

    def _check_prefix(self, transcript: TokenTranscript, generation: Generation, trajectory: Trajectory) -> None:
        """The policy must have continued exactly the prompt it was given, with token ids."""
        if generation.token_ids is None or generation.prompt_token_ids != transcript.token_ids:
            trajectory.token_mismatches += 1

    def _request_seed(self, task: Task, index: int, turn: int) -> int | None:
        seed = _derived_seed(self.config.sampling.seed, task, index)
        return turn_seed(seed, turn)

    async def _close(self, handle: EnvHandle, *, interrupted: bool = False) -> None:
        """Close the episode's environment (bounded by ``step_timeout``; a close that raises
        changes nothing for the trajectory) and count the calls left hung in threads. A call
        left running because the rollout was ``interrupted`` is counted but not reported as
        one that outlasted its timeout."""
        with contextlib.suppress(Exception):
            await handle.close()
        if handle.abandoned:
            self.abandoned += handle.abandoned
            if self.abandoned == handle.abandoned and not interrupted:
                warn_abandoned("an environment call of the rollout", self.config.max_abandoned_threads)

    def _finish(self, trajectory: Trajectory) -> None:
        if self.writer:
            self.writer.write(trajectory)
        if self.on_episode is not None:
            self.on_episode(trajectory)


class _TokenizerFailed(Exception):
    """The policy's tokenizer or chat template could not build a turn's tokens (see
    :meth:`_Runner._tokenizing`); the episode ends with a policy error."""


def _forget_spans(turns: list[Turn]) -> None:
    """After a rewritten history (a context budget that dropped turns, a template that drops
    earlier reasoning) the transcript holds the canonical tokens of the conversation as it is
    now: the turns played so far are not spans of those tokens any more, and lose their spans
    (a trajectory's spans always lie within its token ids; its mismatch is counted)."""
    for turn in turns:
        turn.action_span = turn.observation_span = None


def _task_list(tasks: Any) -> list[Task]:
    """``tasks`` (any iterable of :class:`Task`, a generator included: it is read once) as a
    list; a ``TypeError`` naming what is not a task."""
    if isinstance(tasks, (Task, str, bytes)) or not hasattr(tasks, "__iter__"):
        raise TypeError(f"tasks must be a list of Task, got {tasks!r:.80}")
    tasks = list(tasks)
    for i, task in enumerate(tasks):
        if not isinstance(task, Task):
            raise TypeError(f"tasks[{i}] must be a Task(env_id, seed, kwargs), got {task!r:.80}")
    return tasks


def _check_on_episode(on_episode: Any) -> None:
    """A ``TypeError`` unless ``on_episode`` is ``None`` or a plain function of a trajectory: an
    ``async def`` one would give a coroutine that nothing awaits (it would never run), and what
    cannot be called would fail only when the first episode ends."""
    if on_episode is None:
        return
    if inspect.iscoroutinefunction(on_episode) or inspect.iscoroutinefunction(getattr(on_episode, "__call__", None)):
        raise TypeError(f"on_episode must be a function of the trajectory, not a coroutine function "
                        f"({on_episode!r:.80}): it is called in the event loop's thread, and its coroutine "
                        f"would never be awaited")
    if not callable(on_episode):
        raise TypeError(f"on_episode must be a function of the trajectory, got {on_episode!r:.80}")


def _derived_seed(base: int | None, task: Task, index: int) -> int | None:
    """A seed for one rollout of ``task`` from ``base`` (``None`` stays ``None``); the seed of a
    turn is :func:`~agentgym.wrappers.env_hints.turn_seed` of it."""
    if base is None:
        return None
    return int(((base * 1_000_003 + task.seed) * 10_007 + index) % (2**31 - 1))  # an int even from NumPy seeds


def _checked_rewards(reward: Any, components: Any) -> tuple[float, dict[str, float]]:
    """A step's reward and reward components, each a finite number; anything else fails the
    episode as the environment's error (a NaN reward would make its whole group's advantages,
    then the loss and the weights, NaN; an infinite one, the same)."""
    if not is_finite_number(reward):
        raise EnvCallFailed(CallFailure(f"environment step returned a reward that is not a finite number: {reward!r}"))
    if not isinstance(components, dict):
        raise EnvCallFailed(CallFailure(f"environment step returned reward_components that are not a dict: "
                                        f"{components!r}"))
    for name, value in components.items():
        if not is_finite_number(value):
            raise EnvCallFailed(CallFailure(f"environment step returned a reward component {name!r} that is not "
                                            f"a finite number: {value!r}"))
    return float(reward), {name: float(value) for name, value in components.items()}


def _described(failure: CallFailure) -> str:
    """A failed environment call as the trajectory's error."""
    if failure.exception is not None:
        return f"environment raised {type(failure.exception).__name__}: {failure.exception}"
    return failure.error if failure.error.startswith("environment") else f"environment {failure.error}"


def _broken_generation(generation: Any, policy_name: str) -> str | None:
    """Why ``generation`` cannot be played (the policy reported an error, or broke the
    :class:`Generation` contract), or ``None``; a broken contract is the policy's error, not
    the environment's."""
    if not isinstance(generation, Generation):
        return f"{policy_name} returned {type(generation).__name__} {generation!r:.80} instead of a Generation"
    if generation.finish_reason == "error":
        if generation.error is None or not str(generation.error).strip():
            return (f"{policy_name} returned an error Generation (finish_reason 'error') without saying why "
                    f"(its error is empty)")
        return str(generation.error)
    if not isinstance(generation.text, str):
        return f"{policy_name} returned a Generation whose text is {type(generation.text).__name__}, not str"
    return None


def _with_token_lists(generation: Generation, policy_name: str) -> tuple[Generation, str | None]:
    """``generation`` with its ``token_ids`` and ``prompt_token_ids`` as lists of ints (a NumPy
    array or a tensor of them, or a tuple, is taken as the list it holds), and ``None``; or why
    its ``token_ids`` are not token ids (non-negative integers): a broken contract, the policy's
    error (a trainer would index its embeddings with them). Log-probs, when given, must be one
    per token id: a count that differs would put the transcript's log-probs out of step with its
    tokens (the policy's error too)."""
    token_ids, prompt_ids = _id_list(generation.token_ids), _id_list(generation.prompt_token_ids)
    if token_ids is not None and (not isinstance(token_ids, list)
                                  or not all(is_int(token) and token >= 0 for token in token_ids)):
        return generation, (f"{policy_name} returned a Generation whose token_ids are not token ids "
                            f"(non-negative integers): {generation.token_ids!r:.80}")
    logprobs = _logprob_list(generation.logprobs)
    if token_ids is not None and logprobs is not None and len(logprobs) != len(token_ids):
        return generation, (f"{policy_name} returned a Generation with {len(logprobs)} log-probs for its "
                            f"{len(token_ids)} token ids (one per token, or none)")
    if token_ids is generation.token_ids and prompt_ids is generation.prompt_token_ids:
        return generation, None
    token_ids = None if token_ids is None else [int(token) for token in token_ids]
    return dataclasses.replace(generation, token_ids=token_ids, prompt_token_ids=prompt_ids), None


def _id_list(ids: Any) -> Any:
    """Token ids as a list: a NumPy array or a tensor (``tolist()``), or a tuple, as a list;
    anything else as it is (a list of non-integers never equals a prompt's ids)."""
    tolist = getattr(ids, "tolist", None)
    if callable(tolist):
        ids = tolist()
    return list(ids) if isinstance(ids, tuple) else ids


def _logprob_list(logprobs: Any) -> Any:
    """A generation's log-probs as the list a turn holds: a NumPy array or a tensor of them
    (``tolist()``), or a tuple, as a list of numbers (the trajectory file stores an array as a
    description, not its numbers); anything else as it is."""
    tolist = getattr(logprobs, "tolist", None)
    if callable(tolist):
        return tolist()
    return list(logprobs) if isinstance(logprobs, tuple) else logprobs


def _text(observation: Any) -> str:
    """The text of an observation: a ``{"text", "image"}`` one's text (``""`` when it shows only
    an image, as the :class:`~agentgym.wrappers.ChatHistory` shows it), any other as ``str``."""
    return str(observation.get("text", "")) if isinstance(observation, dict) else str(observation)


def _image(observation: Any) -> Any:
    """The image of a ``{"text", "image"}`` observation (kept in the turn, stored as a file when
    the episode ends), or ``None``. The observation comes through the episode's
    :class:`~agentgym.wrappers.ChatHistory`, which gives it an image of its own (an environment
    may draw on into the array it showed): the turn keeps what was shown then."""
    image = observation.get("image") if isinstance(observation, dict) else None
    return image if is_image(image) else None


def _action(generation: Generation) -> Any:
    """The action for the environment: the text, or an OpenAI-style message when the back-end
    returned native tool calls (the ToolCalling wrapper reads both)."""
    if generation.tool_calls:
        return {"role": "assistant", "content": generation.text, "tool_calls": generation.tool_calls}
    return generation.text


def _both(first: Callable[[Trajectory], None] | None,
          second: Callable[[Trajectory], None] | None) -> Callable[[Trajectory], None] | None:
    """One ``on_episode`` callback calling ``first`` then ``second`` (either may be ``None``)."""
    if first is None or second is None:
        return first or second

    def both(trajectory: Trajectory) -> None:
        first(trajectory)
        second(trajectory)

    return both


def _stats(trajectories: list[Trajectory], batcher: GenerationBatcher, wall: float) -> dict[str, Any]:
    errors = Counter(failure_kind(t) for t in trajectories if t.error)
    tokens = sum(t.generated_tokens for t in trajectories)
    return {
        "episodes": len(trajectories),
        "successes": sum(t.success for t in trajectories),
        "success_rate": sum(t.success for t in trajectories) / len(trajectories) if trajectories else 0.0,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "token_exact_episodes": sum(t.token_exact for t in trajectories),
        "token_mismatches": sum(t.token_mismatches for t in trajectories),
        "turns": sum(len(t.turns) for t in trajectories),
        "generated_tokens": tokens,
        "wall_seconds": wall,
        "generation_seconds": batcher.generation_seconds,
        "tokens_per_second": tokens / wall if wall > 0 else 0.0,
        "policy_calls": batcher.calls,
        "mean_batch_size": batcher.requests / batcher.calls if batcher.calls else 0.0,  # requests per policy call
    }


def failure_kind(trajectory: Trajectory) -> str:
    """The kind of a failed trajectory's error, as ``stats["error_kinds"]`` counts it: its
    ``error_kind``; for records written before that field existed, read from the words of
    ``error`` as the engine wrote them (``"other"`` when none matches)."""
    if trajectory.error_kind:
        return str(trajectory.error_kind)
    error = trajectory.error or ""
    for kind in ("timed out", "policy error", "environment raised"):
        if kind in error:
            return {"timed out": "timeout", "policy error": "policy", "environment raised": "environment"}[kind]
    return "other"
