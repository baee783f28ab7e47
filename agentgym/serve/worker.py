"""Running one policy for many concurrent HTTP requests: micro-batching on one thread."""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from agentgym.policies.base import Generation, Policy, Request, SamplingParams


@dataclass
class _Job:
    request: Request
    sampling: SamplingParams
    result: asyncio.Future


class PolicyWorker:
    """Feeds a policy from many coroutines, one batch at a time.

    Requests waiting together whose sampling parameters agree are sent to the policy as one
    batch (at most ``max_batch_size``); each keeps its own seed through ``Request.seed``, so its
    sample does not depend on its batch-mates. The policy runs on a single dedicated thread with
    its own event loop: a policy that computes synchronously never blocks the server's loop, and
    a policy that is not thread-safe is never entered twice.
    """

    def __init__(self, policy: Policy, max_batch_size: int = 8) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.policy = policy
        self.max_batch_size = max_batch_size
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentgym-policy")

    async def generate(self, request: Request, sampling: SamplingParams) -> Generation:
        """The policy's generation for ``request``; raises what the policy raised."""
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._serve())
        job = _Job(request, sampling, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        return await job.result

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def _serve(self) -> None:
        waiting: deque[_Job] = deque()
        loop = asyncio.get_running_loop()
        while True:
            if not waiting:
                waiting.append(await self._queue.get())
            while not self._queue.empty():
                waiting.append(self._queue.get_nowait())
            batch = self._take_batch(waiting)
            if not batch:
                continue
            requests = [job.request for job in batch]
            try:
                generations = await loop.run_in_executor(self._thread, self.policy.generate, requests, batch[0].sampling)
            except Exception as exc:  # reported to every request of the batch
                for job in batch:
                    if not job.result.done():
                        job.result.set_exception(exc)
                continue
            for job, generation in zip(batch, generations):
                if not job.result.done():  # the client may have gone away
                    job.result.set_result(generation)

    def _take_batch(self, waiting: deque[_Job]) -> list[_Job]:
        """The oldest live job and the waiting jobs that share its sampling parameters."""
        while waiting and waiting[0].result.done():  # cancelled while waiting
            waiting.popleft()
        if not waiting:
            return []
        first = waiting.popleft()
        batch = [first]
        for job in list(waiting):
            if len(batch) == self.max_batch_size:
                break
            if job.sampling == first.sampling and not job.result.done():
                batch.append(job)
                waiting.remove(job)
        return batch

