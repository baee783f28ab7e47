"""Asynchronous off-policy training: rollouts on a thread of their own, overlapping the updates.

    behaviour = BehaviourPolicy(HFPolicy(copy.deepcopy(model), tokenizer), version=0)
    with AsyncRollouts(play, behaviour, first_step=0, last_step=10, max_staleness=1) as rollouts:
        for step in range(10):
            played = rollouts.take(step)              # the step's trajectories (waits for them)
            ...                                       # train on played.result.trajectories
            rollouts.publish(trainable_weights(model), version=step + 1)

(:class:`~agentgym.train.trainer.Trainer` does this when ``[async_training] enabled = true``.)

Versions
    The learner's *policy version* is the number of updates it has made (its step). The
    behaviour policy is a second copy of the model, used only by the rollout thread; it starts
    at the learner's version and, after each update, the learner stages its new trainable
    weights (:meth:`AsyncRollouts.publish`: a copy, so the learner never waits). The behaviour
    policy applies staged weights at a *safe point* -- between two of its policy calls, never
    during one -- takes their version, and clears its prefix cache. Every generation records
    the version that sampled it, and every trajectory gets ``metadata["policy_versions"]`` (one
    per turn) and ``metadata["policy_version"]`` (its oldest turn's). An episode in flight at a
    refresh is not cut short: it finishes, its turns before the refresh under the older version
    and those after under the newer one (a long episode may span several).

Overlap and the staleness bound
    With ``max_staleness = S`` the rollout thread starts step ``k``'s rollout only once the
    learner's version is at least ``k - S``. So while the learner updates on step ``k``'s
    trajectories, the rollout thread already plays step ``k + 1``'s (for ``S = 1``) with the
    weights it has, and at most ``S`` finished steps wait in the queue. A trajectory of step
    ``k`` is trained on by the learner at version ``k``; its *lag* is ``k`` minus its oldest
    turn's version, at most ``S`` by the gate. :func:`drop_stale` checks it again on the
    learner's side, dropping (and counting) any trajectory over the bound rather than training
    on it.

Shutdown
    :meth:`AsyncRollouts.close` (also on leaving the ``with`` block, on an error or a
    ``KeyboardInterrupt``) stops the thread: the behaviour policy answers every later request
    with an error generation (:meth:`BehaviourPolicy.stop`), so each episode of a rollout in
    progress ends at its next turn and the rollout finishes the ordinary way, closing its
    environments (a policy call already decoding finishes its batch first); the thread's event
    loop shuts its worker threads down and the thread is joined. (Cancelling the rollout task
    instead could interrupt an episode while it closes its environment and leave that
    environment's thread waiting for good.) An error on the rollout thread is raised again by
    the learner's next :meth:`AsyncRollouts.take`.

Determinism
    Which turns a refresh reaches depends on how long updates and policy calls take, so an
    asynchronous run is not bitwise reproducible, even with the same seeds (the synchronous
    trainer is). The tasks and sampling seeds of each step are still those of the synchronous
    run.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

import torch

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.rollout import RolloutResult
from agentgym.trajectory import Trajectory

#: Trajectory metadata keys written by the rollout thread.
VERSIONS_KEY = "policy_versions"
VERSION_KEY = "policy_version"


def trainable_weights(model: Any) -> dict[str, torch.Tensor]:
    """A detached copy of ``model``'s trainable parameters by name (all of them, or a LoRA
    model's adapters): what a behaviour copy of the model needs to catch up."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


class BehaviourPolicy(Policy):
    """A token-level policy over the behaviour copy of the model, with a version, weights
    refreshed between calls, and a record of which version sampled what (module docstring).

    Args:
        inner: the policy to sample with (an :class:`~agentgym.policies.hf.HFPolicy` over the
            copy: a policy with a ``model`` attribute); its calls are made one at a time,
            through its synchronous ``generate``.
        version: the version of the weights it starts with.
    """

    def __init__(self, inner: Policy, *, version: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.tokenizer = inner.tokenizer
        self.env_hints = inner.env_hints
        self.version = version
        self.refreshes = 0
        if getattr(inner, "model", None) is None:
            raise TypeError(f"the behaviour policy wraps a policy over a local model (an HFPolicy), got {inner!r}")
        self._model = inner.model
        self._lock = threading.Lock()  # one policy call or refresh at a time
        self._staged_lock = threading.Lock()
        self._staged: tuple[dict[str, torch.Tensor], int] | None = None
        self._sampled: dict[int, int] = {}  # (prompt, tokens) key -> the oldest version that sampled it
        self._stopped = threading.Event()

    def stage(self, weights: dict[str, torch.Tensor], version: int) -> None:
        """Weights (by parameter name) to take at the next safe point, as ``version``; staged
        weights not yet taken are replaced. Thread-safe; returns at once. ``KeyError`` for a
        name the behaviour model lacks, ``ValueError`` for a tensor of another shape than its
        parameter (nothing is staged then)."""
        parameters = dict(self._model.named_parameters())
        unknown = [name for name in weights if name not in parameters]
        if unknown:
            raise KeyError(f"the behaviour model has no parameters named {unknown[:3]}")
        for name, value in weights.items():
            if tuple(value.shape) != tuple(parameters[name].shape):
                raise ValueError(f"staged weight {name} has shape {tuple(value.shape)}, the behaviour model's "
                                 f"parameter {tuple(parameters[name].shape)}")
        with self._staged_lock:
            self._staged = (weights, version)

    def stop(self) -> None:
        """Answer every request from now on with an error generation (``finish_reason="error"``),
        which ends its episode: how a rollout in progress is brought to a quick, ordinary end."""
        self._stopped.set()

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return await asyncio.to_thread(self._generate, list(requests), sampling)

    def _generate(self, requests: list[Request], sampling: SamplingParams) -> list[Generation]:
        if self._stopped.is_set():
            return [_stopped_generation() for _ in requests]
        with self._lock:
            self._refresh()
            version = self.version
            generations = self.inner.generate(requests, sampling)
            for generation in generations:
                generation.metadata[VERSION_KEY] = version
                if generation.token_ids is not None and generation.prompt_token_ids is not None:
                    key = _key(generation.prompt_token_ids, generation.token_ids)
                    self._sampled[key] = min(version, self._sampled.get(key, version))
        return generations

    def _refresh(self) -> None:
        """Take the staged weights, if any (the caller holds the call lock: a safe point)."""
        with self._staged_lock:
            staged, self._staged = self._staged, None
        if staged is None:
            return
        weights, version = staged
        parameters = dict(self._model.named_parameters())
        with torch.no_grad():
            for name, value in weights.items():
                parameters[name].copy_(value)
        cache = getattr(self.inner, "prefix_cache", None)
        if cache is not None:  # keys and values of the old weights
            cache.clear()
        self.version = version
        self.refreshes += 1

    def turn_versions(self, trajectory: Trajectory, default: int) -> list[int]:
        """The version that sampled each turn of ``trajectory`` (a turn this policy has no
        record of, e.g. one without tokens, gets ``default``)."""
        versions = []
        tokens = trajectory.token_ids
        for turn in trajectory.turns:
            version = None
            if tokens is not None and turn.action_span is not None:
                start, end = turn.action_span
                version = self._sampled.get(_key(tokens[:start], tokens[start:end]))
            versions.append(default if version is None else version)
        return versions

    def forget(self) -> None:
        """Drop the record of what was sampled (after its trajectories are annotated)."""
        self._sampled.clear()

    def close(self) -> None:
        self.inner.close()


def _stopped_generation() -> Generation:
    return Generation(text="", finish_reason="error", error="the rollout was stopped (the training run is ending)")


def _key(prompt: Sequence[int], generated: Sequence[int]) -> int:
    return hash((tuple(prompt), tuple(generated)))


@dataclass
class PlayedStep:
    """One step's rollout from the rollout thread.

    Attributes:
        step: the training step it is for.
        result: the rollout (its trajectories carry ``metadata["policy_versions"]``).
        start_version: the behaviour policy's version when the rollout started.
        seconds: how long the rollout took (on its own thread).
    """

    step: int
    result: RolloutResult
    start_version: int
    seconds: float


def drop_stale(trajectories: Sequence[Trajectory], learner_version: int, max_staleness: int
               ) -> tuple[list[Trajectory], list[int], int]:
    """The trajectories whose lag (``learner_version`` minus ``metadata["policy_version"]``,
    their oldest turn's) is at most ``max_staleness``, every trajectory's lag, and how many
    were dropped. A trajectory without a recorded version raises ``KeyError`` (it cannot be
    placed, and must not be trained on silently)."""
    kept, lags = [], []
    for trajectory in trajectories:
        if VERSION_KEY not in trajectory.metadata:
            raise KeyError(f"trajectory {trajectory.group_id} has no {VERSION_KEY!r} in its metadata")
        lag = learner_version - int(trajectory.metadata[VERSION_KEY])
        lags.append(lag)
        if lag <= max_staleness:
            kept.append(trajectory)
    return kept, lags, len(trajectories) - len(kept)


class AsyncRollouts:
    """The rollout thread (module docstring).

    Args:
        play: ``play(step, policy)``, a coroutine playing step ``step``'s tasks with ``policy``
            (e.g. :func:`~agentgym.rollout.arollout`); it runs in the thread's event loop.
        behaviour: the behaviour policy, its version the learner's at ``first_step``.
        first_step / last_step: the steps to play, ``[first_step, last_step)``.
        max_staleness: the staleness bound ``S`` (at least 1).
    """

    def __init__(self, play: Callable[[int, Policy], Awaitable[RolloutResult]], behaviour: BehaviourPolicy, *,
                 first_step: int, last_step: int, max_staleness: int) -> None:
        if max_staleness < 1:
            raise ValueError(f"max_staleness must be at least 1, got {max_staleness}")
        self.play = play
        self.behaviour = behaviour
        self.first_step, self.last_step = first_step, last_step
        self.max_staleness = max_staleness
        self.learner_version = behaviour.version
        #: the step whose rollout waits for the learner (the staleness gate), or ``None``
        self.waiting_step: int | None = None
        #: the step whose rollout is being played, or ``None``
        self.playing_step: int | None = None
        self._condition = threading.Condition()
        self._ready: dict[int, PlayedStep] = {}
        self._taken: set[int] = set()
        self._error: BaseException | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ learner side
    def start(self) -> AsyncRollouts:
        if self._thread is not None:
            raise RuntimeError("the rollout thread is already started")
        self._thread = threading.Thread(target=self._produce, name="agentgym-async-rollouts", daemon=True)
        self._thread.start()
        return self

    def take(self, step: int, timeout: float | None = None) -> PlayedStep:
        """Step ``step``'s rollout, waiting for it; raises the rollout thread's error, if any,
        and ``TimeoutError`` after ``timeout`` seconds. A step that would never come fails at
        once: ``RuntimeError`` before :meth:`start`, ``ValueError`` for a step already taken."""
        if not self.first_step <= step < self.last_step:
            raise ValueError(f"step {step} is outside the steps played, [{self.first_step}, {self.last_step})")
        with self._condition:
            self._check_can_come(step)
            self._condition.wait_for(lambda: step in self._ready or self._error is not None or self._stopping,
                                     timeout)
            if step in self._ready:  # played before a later step failed, if one did
                self._taken.add(step)
                return self._ready.pop(step)
            if self._error is not None:
                raise self._error
            if self._stopping:
                raise RuntimeError("the rollout thread was closed")
            raise TimeoutError(f"step {step}'s rollout was not ready after {timeout} s")

    def _check_can_come(self, step: int) -> None:
        """Raise if step ``step``'s rollout is not ready and never will be (the caller holds
        the condition)."""
        if step in self._ready or self._error is not None or self._stopping:
            return
        if self._thread is None:
            raise RuntimeError("the rollout thread is not started: call start() (or enter the with block) first")
        if step in self._taken:
            raise ValueError(f"step {step}'s rollout was already taken")

    def is_ready(self, step: int) -> bool:
        """Whether step ``step``'s rollout is played and waits to be taken (never blocks)."""
        with self._condition:
            return step in self._ready

    def publish(self, weights: dict[str, torch.Tensor], version: int) -> None:
        """The learner's weights after an update, as ``version``: staged for the behaviour
        policy's next safe point, and the gate opened for the steps they allow."""
        self.behaviour.stage(weights, version)
        with self._condition:
            self.learner_version = version
            self._condition.notify_all()

    def close(self, timeout: float = 120.0) -> None:
        """Stop and join the rollout thread (module docstring); idempotent. ``RuntimeError`` if
        it has not stopped after ``timeout`` seconds (an environment step that hangs: its
        rollout's ``step_timeout`` bounds that)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self.behaviour.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"the rollout thread did not stop within {timeout} s")

    def __enter__(self) -> AsyncRollouts:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ rollout thread
    def _produce(self) -> None:
        try:
            with asyncio.Runner() as runner:
                for step in range(self.first_step, self.last_step):
                    with self._condition:
                        self.waiting_step = step
                        self._condition.wait_for(
                            lambda: self._stopping or self.learner_version >= step - self.max_staleness)
                        self.waiting_step = None
                        if self._stopping:
                            return
                    played = runner.run(self._play_step(step))
                    with self._condition:
                        self._ready[step] = played
                        self._condition.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the learner (a cancellation when closing is not)
            with self._condition:
                if not self._stopping:
                    self._error = exc
                self._condition.notify_all()

    async def _play_step(self, step: int) -> PlayedStep:
        started, start_version = time.perf_counter(), self.behaviour.version
        with self._condition:
            self.playing_step = step
        try:
            result = await self.play(step, self.behaviour)
        finally:
            with self._condition:
                self.playing_step = None
        for trajectory in result.trajectories:
            versions = self.behaviour.turn_versions(trajectory, default=start_version)
            trajectory.metadata[VERSIONS_KEY] = versions
            trajectory.metadata[VERSION_KEY] = min(versions, default=start_version)
        self.behaviour.forget()
        return PlayedStep(step, result, start_version, time.perf_counter() - started)
