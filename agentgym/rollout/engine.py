"""Roll out a policy on many environments at once and record token-exact trajectories.

    result = rollout(policy, [Task("games/Wordle-v0", seed=s) for s in range(8)],
                     RolloutConfig(group_size=4, sampling=SamplingParams(temperature=1.0)))

Each task is played ``group_size`` times with the same seed (one GRPO group, one ``group_id``).
Episodes run concurrently as asyncio tasks: their generation requests are batched into policy
calls (:class:`~agentgym.rollout.batcher.GenerationBatcher`) while their synchronous
environments step in threads of their own, each step bounded by ``step_timeout``. An episode
ends when its environment terminates or truncates (the registered turn budget, or
``max_turns``), or with an error — a hung or raising environment, a policy error, the episode
timeout — that is recorded in its trajectory while the other episodes go on.

A step that times out cannot be stopped: its thread (and environment) is abandoned, a daemon
that ends if the call ever returns. Those threads are counted process-wide
(:func:`agentgym.vector.hung_thread_count`), reported (``stats["abandoned_threads"]``,
``stats["hung_threads"]``, a :class:`~agentgym.vector.HungEnvironmentWarning`) and capped: once
more than ``RolloutConfig.max_abandoned_threads`` calls are hung, starting another episode
raises :class:`~agentgym.vector.HungEnvironmentError` and the rollout stops (the trajectories
already finished are in ``trajectories_path``).

The environment of a timed-out episode is still closed at once: an :class:`~agentgym.LLMEnv`'s
``close`` (safe beside a running ``play``) runs in a short-lived daemon thread, within
``step_timeout``, and releases the episode's resources (a sandbox process, a browser page) while
the hung call goes on; the whole wrapper chain's ``close`` is also queued behind the hung call,
to run if it ever returns. Any other environment is closed only then.

Where a failure is caught, the trajectory records why as data: ``Trajectory.error_kind`` is an
:class:`~agentgym.info.ErrorKind` value (``"timeout"``, ``"policy"``, ``"environment"``), and
``stats["error_kinds"]`` counts them.

An environment-aware policy (the oracle, the random baseline) never gets the environment: it
declares the hints it needs (:attr:`~agentgym.policies.base.Policy.env_hints`, names from
:data:`~agentgym.policies.base.ENV_HINTS`) and the engine asks the environment for those alone,
in the environment's thread, within the same call (and ``step_timeout``) as the ``reset`` or
``step`` that leads to the turn, and passes them as ``Request.hints`` (JSON-safe data).

With a token-level policy (one that has a ``tokenizer``) every turn's prompt is built by a
:class:`~agentgym.rollout.transcript.TokenTranscript`, so the token sequence of a trajectory is
exactly what the policy was given and what it sampled; the engine checks at every turn that
the policy continued exactly the prompt it was handed and counts any mismatch in
``Trajectory.token_mismatches``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncContextManager, Callable, Sequence

import gymnasium as gym
from rich.console import Console

import agentgym
from agentgym.core import LLMEnv
from agentgym.info import ErrorKind
from agentgym.policies.base import ENV_HINTS, Generation, Policy, Request, SamplingParams
from agentgym.rollout.batcher import GenerationBatcher
from agentgym.rollout.progress import RolloutProgress
from agentgym.rollout.transcript import TokenTranscript
from agentgym.trajectory import Trajectory, TrajectoryWriter, Turn, json_safe
from agentgym.runtime.worker import (
    DEFAULT_MAX_ABANDONED_THREADS,
    SlotWorker,
    check_hung_threads,
    checked_count,
    checked_timeout,
    hung_thread_count,
    warn_abandoned,
)
from agentgym.wrappers import ChatHistory
from agentgym.wrappers.chat_history import DEFAULT_SYSTEM_PROMPT

_INFO_KEYS_STORED_ELSEWHERE = {"messages", "reward_components", "error", "success", "tools"}


@dataclass(frozen=True)
class Task:
    """One task: an environment, its constructor arguments and the seed that picks the task."""

    env_id: str
    seed: int
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        extras = ",".join(str(v) for v in self.kwargs.values())
        return f"{self.env_id}[{extras}]" if extras else self.env_id


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

    Counts must be ``int`` (not ``bool`` or ``float``) and times finite positive numbers; a
    bad value is a ``ValueError`` naming the option.
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

    def __post_init__(self) -> None:
        for name in ("group_size", "max_concurrent_episodes", "max_batch_size"):
            checked_count(name, getattr(self, name))
        for name in ("max_turns", "max_context_chars"):
            checked_count(name, getattr(self, name), allow_none=True)
        checked_count("max_abandoned_threads", self.max_abandoned_threads, minimum=0)
        for name in ("step_timeout", "episode_timeout"):
            checked_timeout(name, getattr(self, name))
        if not isinstance(self.sampling, SamplingParams):
            raise ValueError(f"sampling must be a SamplingParams, got {self.sampling!r}")
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            raise ValueError(f"system_prompt must be a string or None, got {self.system_prompt!r}")


@dataclass
class RolloutResult:
    """The trajectories of a rollout, in task order (each task's group together), and a summary."""

    trajectories: list[Trajectory]
    stats: dict[str, Any]


# The engine runs environments in threads only (process isolation lives in agentgym.vector).
_HUNG_REMEDY = ("fix the environment (its step must return), or step it through "
                'agentgym.make_vec(..., isolation="process"), which kills hung environments')


#: how long a close beside a hung call may take when there is no ``step_timeout``
_CLOSE_TIMEOUT = 30.0


class _StepTimeout(Exception):
    pass


def rollout(policy: Policy, tasks: Sequence[Task], config: RolloutConfig | None = None, *,
            trajectories_path: str | Path | None = None, progress: bool | str = True,
            on_episode: Callable[[Trajectory], None] | None = None) -> RolloutResult:
    """Synchronous :func:`arollout` (not callable from inside a running event loop)."""
    return asyncio.run(arollout(policy, tasks, config, trajectories_path=trajectories_path, progress=progress,
                                on_episode=on_episode))


async def arollout(policy: Policy, tasks: Sequence[Task], config: RolloutConfig | None = None, *,
                   trajectories_path: str | Path | None = None, progress: bool | str = True,
                   on_episode: Callable[[Trajectory], None] | None = None) -> RolloutResult:
    """Play every task ``config.group_size`` times with ``policy``; see the module docstring.

    Trajectories are appended to ``trajectories_path`` (JSONL, flushed as each one ends) when
    given. ``progress`` (``True``, or a label such as ``"eval"``) reports on standard error how
    many episodes ended, the success rate and generated tokens per second: a live bar on a
    terminal, plain lines in a log (:class:`~agentgym.rollout.progress.RolloutProgress`).
    ``on_episode`` is called with each trajectory as its episode ends (in the event loop's
    thread; e.g. to report progress elsewhere).
    """
    config = config or RolloutConfig()
    for task in tasks:
        agentgym.env_info(task.env_id)  # fail now, with suggestions, on an unknown id
    writer = TrajectoryWriter(trajectories_path) if trajectories_path else None
    runner = _Runner(policy, config, writer)
    plan = [(task, i) for task in tasks for i in range(config.group_size)]
    reporter = (RolloutProgress(progress if isinstance(progress, str) else "rollout", len(plan), Console(stderr=True))
                if progress else None)
    runner.on_episode = _both(reporter.episode_finished if reporter else None, on_episode)
    start = time.perf_counter()
    try:
        with reporter or contextlib.nullcontext():
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

    def __init__(self, policy: Policy, config: RolloutConfig, writer: TrajectoryWriter | None) -> None:
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
        #: episodes whose thread was abandoned inside a hung environment call
        self.abandoned = 0

    async def run(self, plan: list[tuple[Task, int]]) -> list[Trajectory]:
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

    async def _guarded(self, task: Task, index: int, slots: AsyncContextManager[Any]) -> Trajectory:
        async with slots:
            check_hung_threads(self.config.max_abandoned_threads, _HUNG_REMEDY)  # stops the rollout past the cap
            trajectory = Trajectory(env_id=task.env_id, seed=task.seed, group_id=f"{task.label}#{task.seed}",
                                    policy=self.policy.name,
                                    metadata={"rollout_index": index, "env_kwargs": json_safe(task.kwargs)})
            self.batcher.episode_started()
            worker = SlotWorker(f"agentgym-episode-{task.env_id}-{task.seed}-{index}")
            env_holder: list[gym.Env] = []
            try:
                await asyncio.wait_for(self._play(task, index, trajectory, worker, env_holder),
                                       self.config.episode_timeout)
            except (_StepTimeout, asyncio.TimeoutError) as exc:
                trajectory.error = str(exc) or f"episode timed out after {self.config.episode_timeout} s"
                trajectory.error_kind = ErrorKind.TIMEOUT.value
            except Exception as exc:  # noqa: BLE001 - isolated to this episode
                trajectory.error = f"environment raised {type(exc).__name__}: {exc}"
                trajectory.error_kind = ErrorKind.ENV_ERROR.value
            finally:
                self.batcher.episode_finished()
                await self._close(worker, env_holder)
            self._finish(trajectory)
            return trajectory

    async def _play(self, task: Task, index: int, trajectory: Trajectory, worker: SlotWorker,
                    env_holder: list[gym.Env]) -> None:
        env = await self._in_env(worker, self._make_env, task)
        env_holder.append(env)
        hinted = _Hinted(env, self.env_hints, lambda turn: self._hint_seed(task, index, turn))
        (observation, info), hints = await self._in_env(worker, hinted.reset, seed=task.seed)
        for key in ("reference_answer", "answer_stub"):  # for reward providers; never shown to the policy
            trajectory.metadata[key] = getattr(env.unwrapped, key, None)
        trajectory.task_id, trajectory.instructions = info.get("task_id"), info.get("instructions", "")
        messages, tools = info["messages"], info.get("tools") or None
        transcript = TokenTranscript(self.policy.tokenizer, messages, tools) if self.token_mode else None
        if transcript:
            trajectory.prompt_length = len(transcript.token_ids)
        for turn_index in itertools.count():
            request = Request(messages, tools, transcript.prompt_ids if transcript else None,
                              seed=self._request_seed(task, index, turn_index), hints=hints)
            started = time.perf_counter()
            generation = await self.batcher.generate(request)
            generation_seconds = time.perf_counter() - started
            broken = _broken_generation(generation, self.policy.name)
            if broken:
                trajectory.error = f"policy error: {broken}"
                trajectory.error_kind = ErrorKind.POLICY_ERROR.value
                break
            turn = Turn(turn_index, _text(observation), generation.text, finish_reason=generation.finish_reason,
                        generation_seconds=generation_seconds, logprobs=generation.logprobs)
            if transcript:
                self._check_prefix(transcript, generation, trajectory)
                span = transcript.add_generation(generation.token_ids or [], generation.logprobs, generation.text)
                turn.action_span = (span.start, span.end)
            started = time.perf_counter()
            (observation, reward, terminated, truncated, info), hints = await self._in_env(
                worker, hinted.step, _action(generation))
            turn.seconds = time.perf_counter() - started
            turn.reward, turn.reward_components = float(reward), dict(info.get("reward_components", {}))
            turn.error = info.get("error")
            turn.info = json_safe({k: v for k, v in info.items() if k not in _INFO_KEYS_STORED_ELSEWHERE})
            trajectory.turns.append(turn)
            new_messages = info["messages"]
            if terminated or truncated:
                trajectory.terminated, trajectory.truncated = bool(terminated), bool(truncated)
                trajectory.success = bool(info.get("success", False))
                trajectory.messages = new_messages
                break
            if transcript:
                span = transcript.add_observation(new_messages[len(messages) + 1:], new_messages[len(messages)])
                turn.observation_span = (span.start, span.end)
            messages = new_messages
        if not trajectory.messages:
            trajectory.messages = messages
        if transcript:
            trajectory.token_ids = transcript.token_ids
            trajectory.token_mismatches += transcript.mismatches

    def _make_env(self, task: Task) -> gym.Env:
        config = self.config
        turns = {} if config.max_turns is None else {"max_turns": config.max_turns}
        env = agentgym.make(task.env_id, wrappers=config.wrappers, **turns, **task.kwargs)
        return ChatHistory(env, system_prompt=config.system_prompt, max_context_chars=config.max_context_chars,
                           raw_assistant=self.token_mode)

    async def _in_env(self, worker: SlotWorker, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` in the episode's own thread, within ``step_timeout``."""
        self.batcher.stepping(True)
        try:
            future = asyncio.wrap_future(worker.submit(fn, *args, **kwargs))
            return await asyncio.wait_for(future, self.config.step_timeout)
        except asyncio.TimeoutError:
            name = getattr(fn, "__name__", "call")
            raise _StepTimeout(f"environment {name} timed out after {self.config.step_timeout} s") from None
        finally:
            self.batcher.stepping(False)

    def _check_prefix(self, transcript: TokenTranscript, generation: Generation, trajectory: Trajectory) -> None:
        """The policy must have continued exactly the prompt it was given, with token ids."""
        if generation.token_ids is None or generation.prompt_token_ids != transcript.token_ids:
            trajectory.token_mismatches += 1

    def _hint_seed(self, task: Task, index: int, turn: int) -> int | None:
        """The seed of this turn's ``random_action`` hint: from the policy's ``hint_seed``
        (else the sampling seed), the task, the rollout and the turn; ``None`` without either."""
        base = getattr(self.policy, "hint_seed", None)
        return _derived_seed(self.config.sampling.seed if base is None else base, task, index, turn)

    def _request_seed(self, task: Task, index: int, turn: int) -> int | None:
        return _derived_seed(self.config.sampling.seed, task, index, turn)

    async def _close(self, worker: SlotWorker, env_holder: list[gym.Env]) -> None:
        """Close the episode's environment in its thread and let the thread go. A thread still
        inside the environment (a timed-out step, or a ``close`` that outlasts ``step_timeout``)
        is abandoned: a daemon that ends if the call returns, counted against
        ``max_abandoned_threads``. Beside such a thread an :class:`~agentgym.LLMEnv` is closed
        at once from another thread (see the module docstring); the full ``close`` is queued
        behind the hung call."""
        if env_holder and not worker.busy:
            try:
                closed = asyncio.wrap_future(worker.submit(env_holder[0].close))
                await asyncio.wait_for(closed, self.config.step_timeout)  # the loop runs on meanwhile
            except Exception:  # noqa: BLE001 - closing must not lose the trajectory
                pass
        elif env_holder:
            env = env_holder[0]
            with contextlib.suppress(Exception):
                worker.submit(_quietly, env.close)  # runs when (if) the hung call returns
            unwrapped = getattr(env, "unwrapped", None)
            if isinstance(unwrapped, LLMEnv):
                await _close_beside_hung_call(unwrapped, self.config.step_timeout)
        if worker.abandon():
            self.abandoned += 1
            if self.abandoned == 1:
                warn_abandoned("an environment call of the rollout", self.config.max_abandoned_threads)

    def _finish(self, trajectory: Trajectory) -> None:
        if self.writer:
            self.writer.write(trajectory)
        if self.on_episode is not None:
            self.on_episode(trajectory)


def _derived_seed(base: int | None, task: Task, index: int, turn: int) -> int | None:
    """A seed for one turn of one rollout of ``task`` from ``base`` (``None`` stays ``None``)."""
    if base is None:
        return None
    return (((base * 1_000_003 + task.seed) * 10_007 + index) * 1_009 + turn) % (2**31 - 1)


class _Hinted:
    """``reset`` and ``step`` of an episode's environment that also return the hints of the
    turn they lead to (``None`` when the policy asks for none, or the episode is over): one
    call to the environment's thread instead of two."""

    def __init__(self, env: gym.Env, wanted: Sequence[str], seed_of_turn: Callable[[int], int | None]) -> None:
        self.env, self.wanted, self.seed_of_turn = env, wanted, seed_of_turn
        self.turn = 0

    def _hints(self) -> dict[str, Any] | None:
        return _env_hints(self.env, self.wanted, self.seed_of_turn(self.turn)) if self.wanted else None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any] | None]:
        result = self.env.reset(**kwargs)
        self.turn = 0
        return result, self._hints()

    def step(self, action: Any) -> tuple[Any, dict[str, Any] | None]:
        result = self.env.step(action)
        self.turn += 1
        return result, (None if result[2] or result[3] else self._hints())


def _env_hints(env: gym.Env, wanted: Sequence[str], seed: int | None) -> dict[str, Any]:
    """The hints ``wanted`` (see :data:`~agentgym.policies.base.ENV_HINTS`) from ``env``, as
    JSON-safe data; one the environment cannot give goes to ``hints["errors"][name]``."""
    game = env.unwrapped
    hints: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in wanted:
        try:
            value = game.oracle_action() if name == "oracle_action" else game.random_action(random.Random(seed))
        except Exception as exc:  # noqa: BLE001 - the policy reports it as its error
            errors[name] = f"{type(exc).__name__}: {exc}"
        else:
            hints[name] = json_safe(value)
    if errors:
        hints["errors"] = errors
    return hints


def _quietly(fn: Callable[[], Any]) -> None:
    """``fn()``, whatever it raises: a close nobody waits for must not fail loudly."""
    with contextlib.suppress(Exception):
        fn()


async def _close_beside_hung_call(env: LLMEnv, timeout: float | None) -> None:
    """``env.close()`` in a fresh daemon thread (its own thread is hung in ``play``), awaited
    for at most ``timeout`` seconds without blocking the loop; a close that raises or outlasts
    the timeout is left alone (the daemon ends if it ever returns)."""
    done: Future = Future()

    def close() -> None:
        if not done.set_running_or_notify_cancel():  # nobody waits any more
            return
        try:
            env.close()
            done.set_result(None)
        except BaseException as exc:  # noqa: BLE001 - reported through the future
            done.set_exception(exc)

    threading.Thread(target=close, name=f"agentgym-close-{type(env).__name__}", daemon=True).start()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.wrap_future(done), timeout if timeout is not None else _CLOSE_TIMEOUT)


def _broken_generation(generation: Any, policy_name: str) -> str | None:
    """Why ``generation`` cannot be played (the policy reported an error, or broke the
    :class:`Generation` contract), or ``None``; a broken contract is the policy's error, not
    the environment's."""
    if not isinstance(generation, Generation):
        return f"{policy_name} returned {type(generation).__name__} {generation!r:.80} instead of a Generation"
    if generation.finish_reason == "error":
        return str(generation.error)
    if not isinstance(generation.text, str):
        return f"{policy_name} returned a Generation whose text is {type(generation.text).__name__}, not str"
    return None


def _text(observation: Any) -> str:
    return str(observation["text"]) if isinstance(observation, dict) else str(observation)


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
    errors = Counter(_error_kind(t) for t in trajectories if t.error)
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
        "mean_batch_size": sum(len(t.turns) for t in trajectories) / batcher.calls if batcher.calls else 0.0,
    }


def _error_kind(trajectory: Trajectory) -> str:
    """The trajectory's ``error_kind``; for records written before it existed, read from the
    words of ``error`` as the engine wrote them."""
    if trajectory.error_kind:
        return str(trajectory.error_kind)
    error = trajectory.error or ""
    for kind in ("timed out", "policy error", "environment raised"):
        if kind in error:
            return {"timed out": "timeout", "policy error": "policy", "environment raised": "environment"}[kind]
    return "other"
