"""Batch the generation requests of many concurrent episodes into policy calls.

Episodes run as asyncio tasks; each one, when it needs the policy, awaits
:meth:`GenerationBatcher.generate`. The batcher holds requests until every episode that could
ask has asked (the others are busy stepping their environment), or the batch is full, or a
short linger has passed — then calls the policy once for all of them. One batch runs at a
time: a local model is one device.
"""

from __future__ import annotations

import asyncio
import time
from typing import Sequence

from agentgym.policies.base import Generation, Policy, Request, SamplingParams


class GenerationBatcher:
    """Collects requests and runs them through ``policy`` in batches.

    Args:
        policy: the policy to call.
        sampling: sampling settings of every request.
        max_batch_size: the most requests per policy call.
        linger: seconds to wait for more requests once the first has arrived, when some
            episodes are still stepping their environments.
    """

    def __init__(self, policy: Policy, sampling: SamplingParams, *, max_batch_size: int = 32,
                 linger: float = 0.02) -> None:
        self.policy = policy
        self.sampling = sampling
        self.max_batch_size = max_batch_size
        self.linger = linger
        self.generation_seconds = 0.0
        self.calls = 0
        self._pending: list[tuple[Request, asyncio.Future]] = []
        self._arrived = asyncio.Event()
        self._episodes = 0  # episodes that may still ask for a generation
        self._stepping = 0  # of those, how many are busy with their environment

    # ------------------------------------------------------------- episodes
    def episode_started(self) -> None:
        self._episodes += 1

    def episode_finished(self) -> None:
        self._episodes -= 1
        self._arrived.set()  # the batch we wait for may now be complete

    def stepping(self, busy: bool) -> None:
        """An episode starts (``True``) or stops (``False``) working outside the policy."""
        self._stepping += 1 if busy else -1
        if busy:
            self._arrived.set()  # one episode fewer to wait for: the batch may be complete

    async def generate(self, request: Request) -> Generation:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._arrived.set()
        return await future

    # ----------------------------------------------------------------- loop
    async def run(self) -> None:
        """Serve batches until cancelled."""
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            if not self._pending:
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

    def _expected(self) -> int:
        """How many requests a full batch would hold right now."""
        return min(self.max_batch_size, max(1, self._episodes - self._stepping))

    async def _run_batch(self, batch: Sequence[tuple[Request, asyncio.Future]]) -> None:
        start = time.perf_counter()
        try:
            generations = await self.policy.agenerate([request for request, _ in batch], self.sampling)
            if len(generations) != len(batch):
                raise RuntimeError(f"{self.policy.name} returned {len(generations)} generations "
                                   f"for {len(batch)} requests")
        except Exception as exc:  # noqa: BLE001 - the episodes record it; the run goes on
            generations = [Generation("", finish_reason="error", error=f"{type(exc).__name__}: {exc}")
                           for _ in batch]
        self.generation_seconds += time.perf_counter() - start
        self.calls += 1
        for (_, future), generation in zip(batch, generations):
            if not future.done():
                future.set_result(generation)
