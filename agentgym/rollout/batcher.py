"""Batch the generation requests of many concurrent episodes into policy calls.

Episodes run as asyncio tasks; each one, when it needs the policy, awaits
:meth:`GenerationBatcher.generate`, and the batcher calls the policy once for many of them.
One batch runs at a time: a local model is one device. Two ways to form batches:

- **Lockstep** (the default for seeded or greedy sampling, unless the policy is
  :attr:`~agentgym.policies.base.Policy.batch_invariant`): a batch is formed only when every
  live episode has either asked for a generation or finished, and no episode is about to take
  a freed slot (see :meth:`slots`); its requests are put in a fixed order (the episodes' order
  in the rollout plan, else the requests' seeds and contents) and sent in chunks of
  ``max_batch_size``. The batches — which requests share a policy call, in which order — then
  depend only on what the episodes do, never on timing, so a seeded rollout of deterministic
  environments gives the same batches, and with a deterministic policy the same
  trajectories, in every run. The cost: a slow environment step holds back the next batch
  until it ends (at most the rollout's ``step_timeout``).
- **Lingering** (unseeded sampling, which is not reproducible anyway, and a batch-invariant
  policy, whose generations do not depend on their batch-mates): requests wait until
  every live episode has asked, the batch is full, or ``linger`` seconds have passed since the
  first arrived — whichever comes first. Episodes busy with their environment are waited for
  too: an environment step usually ends well within the linger, and an episode whose step has
  just ended in its thread is not back until its coroutine resumes, so not waiting for them split
  nearly every turn's requests into two policy calls (3 + 5 for 8 episodes of a game).

Lockstep needs to know about episodes that are about to start: the rollout engine takes its
concurrency slots from :meth:`slots` (a semaphore that hands a freed slot straight to the next
waiting episode, counted as live at once) and reports :meth:`episode_started` and
:meth:`episode_finished` (it will ask no more).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import math
import time
from collections import deque
from typing import Any, Sequence

from agentgym.policies.base import Generation, Policy, Request, SamplingParams

# The position of the current episode in the order slots were granted (the rollout plan's
# order); set when a slot is taken, inherited by the tasks the episode starts.
_EPISODE_ORDINAL: contextvars.ContextVar[int | None] = contextvars.ContextVar("agentgym_episode_ordinal",
                                                                              default=None)

# What a slot holder is doing, as lockstep needs to know.
_STARTING, _LIVE, _CLOSING = "starting", "live", "closing"


class GenerationBatcher:
    """Collects requests and runs them through ``policy`` in batches (see the module docstring).

    Args:
        policy: the policy to call.
        sampling: sampling settings of every request.
        max_batch_size: the most requests per policy call.
        linger: lingering mode: seconds to wait for more requests once the first has arrived,
            when some episodes are still busy with their environments.
        lockstep: form batches in lockstep; default: when ``sampling`` is seeded or greedy and
            the policy is not ``batch_invariant``.
    """

    def __init__(self, policy: Policy, sampling: SamplingParams, *, max_batch_size: int = 32,
                 linger: float = 0.02, lockstep: bool | None = None) -> None:
        self.policy = policy
        self.sampling = sampling
        self.max_batch_size = max_batch_size
        self.linger = linger
        if lockstep is None:
            seeded = sampling.seed is not None or sampling.greedy
            lockstep = seeded and not getattr(policy, "batch_invariant", False)
        self.lockstep = lockstep
        self.generation_seconds = 0.0
        self.calls = 0  # policy calls made
        self.requests = 0  # requests sent in them, failed calls' included
        self.batch_log: list[list[int | None]] = []  # the episode ordinals of each policy call
        self._pending: list[tuple[Request, asyncio.Future, int | None]] = []
        self._arrived = asyncio.Event()
        self._episodes = 0  # episodes that may still ask for a generation
        self._slots: _Slots | None = None
        self._holders: dict[asyncio.Task, str] = {}  # slot holders and what they are doing

    # ------------------------------------------------------------- episodes
    def slots(self, limit: int) -> _Slots:
        """A FIFO semaphore of ``limit`` episode slots (``async with batcher.slots(n): ...``,
        one slot per episode task). A released slot goes straight to the longest waiting
        episode, which counts as live from that moment, so a lockstep batch waits for its first
        request."""
        self._slots = _Slots(self, limit)
        return self._slots

    def episode_started(self) -> None:
        self._episodes += 1
        self._set_holder_state(_LIVE)

    def episode_finished(self) -> None:
        """The current episode will not ask again (it may still hold its slot, closing)."""
        self._episodes -= 1
        self._set_holder_state(_CLOSING)
        self._arrived.set()  # the batch we wait for may now be complete

    async def generate(self, request: Request) -> Generation:
        future = asyncio.get_running_loop().create_future()
        entry = (request, future, _EPISODE_ORDINAL.get())
        self._pending.append(entry)
        self._arrived.set()
        try:
            return await future
        except asyncio.CancelledError:  # the episode was cancelled (its timeout): forget its request
            # found by identity: comparing requests compares their messages, images (arrays) included
            for index, waiting in enumerate(self._pending):
                if waiting is entry:
                    del self._pending[index]
                    self._arrived.set()
                    break
            raise

    # ----------------------------------------------------------------- loop
    async def run(self) -> None:
        """Serve batches until cancelled."""
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            if not self._pending:
                continue
            if self.lockstep:
                if not self._everyone_asked():
                    continue
                batch, self._pending = sorted(self._pending, key=_order), []
                for start in range(0, len(batch), self.max_batch_size):
                    await self._run_batch(batch[start: start + self.max_batch_size])
                continue
            deadline = time.perf_counter() + self.linger
            while len(self._pending) < self._expected() and time.perf_counter() < deadline:
                try:
                    await asyncio.wait_for(self._arrived.wait(), deadline - time.perf_counter())
                except asyncio.TimeoutError:
                    break
                self._arrived.clear()
            batch, self._pending = self._pending[: self.max_batch_size], self._pending[self.max_batch_size:]
            if self._pending:
                self._arrived.set()
            await self._run_batch(batch)

    def _everyone_asked(self) -> bool:
        """Lockstep: every live episode is waiting for a generation, none is about to start
        (a granted slot whose episode has not begun), and no finished episode is about to hand
        its slot to a waiting one."""
        if len(self._pending) < self._episodes:
            return False
        states = set(self._holders.values())
        if _STARTING in states:
            return False
        return not (_CLOSING in states and self._slots is not None and self._slots.waiting)

    def _expected(self) -> int:
        """Lingering: how many requests a full batch would hold: one per live episode."""
        return min(self.max_batch_size, max(1, self._episodes))

    async def _run_batch(self, batch: Sequence[tuple[Request, asyncio.Future, int | None]]) -> None:
        start = time.perf_counter()
        self.batch_log.append([ordinal for _, _, ordinal in batch])
        try:
            generations = await self.policy.agenerate([request for request, _, _ in batch], self.sampling)
            if len(generations) != len(batch):
                raise RuntimeError(f"{self.policy.name} returned {len(generations)} generations "
                                   f"for {len(batch)} requests")
        except asyncio.CancelledError as exc:
            if _current_task().cancelling():  # this loop is cancelled: the rollout is stopping
                raise
            # The policy's own (a back-end that aborted the request): its episodes' error, as any
            # other; let out, it ended this loop and left every episode waiting for ever.
            generations = _failed(batch, exc)
        except Exception as exc:  # noqa: BLE001 - the episodes record it; the run goes on
            generations = _failed(batch, exc)
        self.generation_seconds += time.perf_counter() - start
        self.calls += 1
        self.requests += len(batch)
        for (_, future, _), generation in zip(batch, generations):
            if not future.done():
                future.set_result(generation)

    # ---------------------------------------------------------------- slots
    def _set_holder_state(self, state: str) -> None:
        task = _current_task()
        if task in self._holders:
            self._holders[task] = state

    def _slot_granted(self, task: asyncio.Task) -> None:
        self._holders[task] = _STARTING

    def _slot_released(self, task: asyncio.Task) -> None:
        self._holders.pop(task, None)
        self._arrived.set()


class _Slots:
    """The episode slots of a :class:`GenerationBatcher` (see :meth:`GenerationBatcher.slots`).

    Each slot holder is the asyncio task that entered ``async with``; slots are granted in the
    order tasks asked, and each grant numbers the episode (``_EPISODE_ORDINAL``) in that order.
    """

    def __init__(self, batcher: GenerationBatcher, limit: int) -> None:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"the slot limit must be a positive integer, got {limit!r}")
        self._batcher = batcher
        self._free = limit
        self._waiters: deque[tuple[asyncio.Task, asyncio.Future, int]] = deque()
        self._ordinals = 0

    @property
    def waiting(self) -> int:
        return sum(not future.done() for _, future, _ in self._waiters)

    async def __aenter__(self) -> None:
        task = _current_task()
        ordinal, self._ordinals = self._ordinals, self._ordinals + 1
        if self._free > 0 and not self._waiters:
            self._free -= 1
            self._batcher._slot_granted(task)
        else:
            future = asyncio.get_running_loop().create_future()
            self._waiters.append((task, future, ordinal))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():  # granted, then cancelled: pass it on
                    self._release(task)
                else:
                    self._waiters.remove((task, future, ordinal))
                raise
        _EPISODE_ORDINAL.set(ordinal)

    async def __aexit__(self, *exc_info: Any) -> None:
        self._release(_current_task())

    def _release(self, task: asyncio.Task) -> None:
        self._batcher._slot_released(task)
        while self._waiters:
            waiter, future, _ = self._waiters.popleft()
            if not future.done():  # hand the slot over now: the waiter is live from here
                self._batcher._slot_granted(waiter)
                future.set_result(None)
                return
        self._free += 1


def _current_task() -> asyncio.Task:
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("episode slots are taken from inside an asyncio task")
    return task


def _failed(batch: Sequence[Any], exc: BaseException) -> list[Generation]:
    """An error generation for each request of ``batch``, saying what the policy raised."""
    return [Generation("", finish_reason="error", error=f"{type(exc).__name__}: {exc}") for _ in batch]


def _order(entry: tuple[Request, asyncio.Future, int | None]) -> tuple:
    """Lockstep order: the episode's place in the plan, then the request's seed and content
    (for requests made outside episode slots)."""
    request, _, ordinal = entry
    content = json.dumps([request.messages, request.tools], sort_keys=True, default=str)
    return (math.inf if ordinal is None else ordinal, request.seed is None, request.seed or 0,
            tuple(request.prompt_token_ids or ()), content)
