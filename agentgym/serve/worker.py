"""Running one policy for many concurrent HTTP requests: micro-batching on one thread."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.runtime.worker import as_error


@dataclass
class _Job:
    request: Request
    sampling: SamplingParams
    result: asyncio.Future


class _Abandoned(Exception):
    """Every request of a running batch was cancelled: its generation was stopped."""


class CancelledInPolicy(RuntimeError):
    """The policy's ``agenerate`` raised ``asyncio.CancelledError`` though the server had not
    cancelled it: an error of the batch, not an abandoned batch."""


class PolicyWorker:
    """Feeds a policy from many coroutines, one batch at a time.

    Requests waiting together whose sampling parameters agree are sent to the policy as one
    batch (at most ``max_batch_size``); each keeps its own seed through ``Request.seed``, so its
    sample does not depend on its batch-mates. The policy runs on a single dedicated thread with
    its own event loop: a policy that computes synchronously never blocks the server's loop, and
    a policy that is not thread-safe is never entered twice.

    Abandoned requests cost as little as possible. Cancelling the coroutine awaiting
    :meth:`generate` (as the server does when the client disconnects) drops a waiting request
    from the queue; when every request of the running batch has been cancelled, the policy's
    ``agenerate`` is cancelled too, and the next batch starts once it has unwound. A policy
    whose ``agenerate`` hands the work to a thread that does not watch for cancellation (such
    as ``HFPolicy``) finishes that batch in the background before it takes the next.

    A policy that raises (a ``SystemExit`` included, and a ``CancelledError`` of its own, the
    server having cancelled nothing: :class:`CancelledInPolicy`), or returns anything but a
    list of one :class:`Generation` per request, fails the requests of that batch with the
    error; the worker serves the next batch.
    """

    def __init__(self, policy: Policy, max_batch_size: int = 8, close_timeout: float = 10.0) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.policy = policy
        self.max_batch_size = max_batch_size
        self.close_timeout = close_timeout
        self.abandoned_batches = 0  # running batches stopped because all their clients left
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self._policy_loop: asyncio.AbstractEventLoop | None = None
        self._policy_thread: threading.Thread | None = None

    async def generate(self, request: Request, sampling: SamplingParams) -> Generation:
        """The policy's generation for ``request``; raises what the policy raised."""
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._serve())
        job = _Job(request, sampling, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        return await job.result

    async def aclose(self) -> None:
        """Stop serving: cancel what runs, then stop the policy's thread (waiting at most
        ``close_timeout`` seconds for a policy call to unwind)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        loop, thread = self._policy_loop, self._policy_thread
        self._policy_loop = self._policy_thread = None
        if loop is None or thread is None:
            return
        try:
            await asyncio.wait_for(asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_wind_down(), loop)),
                                   self.close_timeout)
        except (asyncio.TimeoutError, RuntimeError):
            pass  # a policy thread that will not stop: leave it (daemon) rather than hang the server
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, self.close_timeout)
        if not thread.is_alive():
            loop.close()

    # ---------------------------------------------------------------- internals
    def _loop(self) -> asyncio.AbstractEventLoop:
        """The policy's own event loop, on its own thread (started on first use)."""
        if self._policy_loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="agentgym-policy", daemon=True)
            thread.start()
            self._policy_loop, self._policy_thread = loop, thread
        return self._policy_loop

    async def _serve(self) -> None:
        waiting: deque[_Job] = deque()
        while True:
            if not waiting:
                waiting.append(await self._queue.get())
            while not self._queue.empty():
                waiting.append(self._queue.get_nowait())
            batch = self._take_batch(waiting)
            if not batch:
                continue
            try:
                generations = _one_per_request(self.policy, await self._run_batch(batch), len(batch))
            except _Abandoned:
                self.abandoned_batches += 1
                continue
            except Exception as exc:  # reported to every request of the batch
                for job in batch:
                    if not job.result.done():
                        job.result.set_exception(exc)
                continue
            for job, generation in zip(batch, generations):
                if not job.result.done():  # the client may have gone away
                    job.result.set_result(generation)

    async def _run_batch(self, batch: list[_Job]) -> list[Generation]:
        """The policy's generations for ``batch``, run on the policy's loop; raises
        :class:`_Abandoned` once every job of the batch has been cancelled."""
        loop = self._loop()
        give_up = asyncio.Event()  # used on the policy's loop only
        running = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
            _generate_unless_abandoned(self.policy, [job.request for job in batch], batch[0].sampling, give_up),
            loop))
        while not running.done():
            waiting_clients = [job.result for job in batch if not job.result.done()]
            if not waiting_clients:
                loop.call_soon_threadsafe(give_up.set)
                break
            await asyncio.wait([running, *waiting_clients], return_when=asyncio.FIRST_COMPLETED)
        return await running

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


async def _generate_unless_abandoned(policy: Policy, requests: list[Request], sampling: SamplingParams,
                                     give_up: asyncio.Event) -> list[Generation]:
    """``policy.agenerate``, cancelled (and awaited until it unwinds) once ``give_up`` is set or
    this coroutine is cancelled."""
    work = asyncio.ensure_future(_agenerate(policy, requests, sampling))
    stop = asyncio.ensure_future(give_up.wait())
    try:
        await asyncio.wait([work, stop], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
    if work.cancelled():
        if give_up.is_set():
            raise _Abandoned
        # Cancelled by no one here: the policy raised CancelledError of its own (a task it awaited
        # was cancelled elsewhere). Taken for an abandoned batch, its requests would wait for ever.
        raise CancelledInPolicy(f"{policy.name}'s agenerate raised CancelledError, though the server cancelled "
                                "nothing")
    return work.result()


async def _agenerate(policy: Policy, requests: list[Request], sampling: SamplingParams) -> Any:
    """``policy.agenerate``, with a ``SystemExit`` or other exception that is no error it raises
    passed on as an error: raised as itself out of a task, it would stop the policy's loop and
    leave every later request waiting for ever."""
    try:
        return await policy.agenerate(requests, sampling)
    except (Exception, asyncio.CancelledError):
        raise
    except BaseException as exc:
        raise as_error(exc) from exc


def _one_per_request(policy: Policy, generations: Any, requests: int) -> list[Generation]:
    """``generations`` as a list of one :class:`Generation` per request; ``TypeError`` naming
    what the policy returned otherwise (a request left without one would wait for ever)."""
    plural = "" if requests == 1 else "s"
    try:
        listed = list(generations)
    except TypeError:
        listed = None
    strays = [g for g in listed or () if not isinstance(g, Generation)]
    if listed is None or strays:
        what = type(generations).__name__ + (f" holding a {type(strays[0]).__name__}" if strays else "")
        raise TypeError(f"{policy.name} returned {what} for {requests} request{plural}: agenerate must return "
                        "a list of one Generation per request")
    if len(listed) != requests:
        raise TypeError(f"{policy.name} returned {len(listed)} generations for {requests} request{plural}: "
                        "agenerate must return one per request")
    return listed


async def _wind_down() -> None:
    """On the policy's loop: cancel what still runs and stop the default executor's threads."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_default_executor()
