"""``RayEnvPool``: N Ray worker actors, each hosting many environments; ``RayEnvRef``: one of them.

::

    import ray
    from agentgym.ray import RayEnvPool

    ray.init()                                   # or ray.init(address="auto") on a cluster
    pool = RayEnvPool(num_workers=2, num_cpus_per_worker=1.0)
    ref = pool.open(functools.partial(agentgym.make, "games/Wordle-v0"))   # or await pool.open_async(...)
    observation, info = await ref.areset(seed=0)  # coalesced; or ray.get(ref.reset(seed=0))
    observation, reward, terminated, truncated, info = await ref.astep("crane")
    await ref.close()
    pool.shutdown()

Contract:

* **Workers.** ``num_workers`` actors of :class:`~agentgym.ray.host.EnvHost`, each a Ray worker
  process reserving ``num_cpus_per_worker`` CPUs, an asyncio actor taking up to
  ``max_concurrency`` calls at once. Each hosted environment has its own thread in its worker
  (a :class:`~agentgym.runtime.worker.SlotWorker`): it is built there and runs all its calls
  there, so a hung environment blocks no other environment of the same worker.
* **Ray.** If Ray is not initialised when the pool is made, the pool calls ``ray.init()`` (a
  local instance, or the cluster named by ``RAY_ADDRESS``); Ray then stays up after
  :meth:`RayEnvPool.shutdown` (Ray's own exit handler stops it). Initialise Ray yourself to
  choose its resources or a cluster.
* **Opening.** :meth:`RayEnvPool.open` sends a picklable zero-argument factory (cloudpickled by
  Ray) to the live worker with the fewest open environments, builds the environment in its
  own thread there and returns a :class:`RayEnvRef` once it is built. A factory that raises
  makes ``open`` raise that exception (as its own type, see below); one that cannot be pickled
  makes it raise a one-line ``TypeError`` naming what could not be pickled.
* **Calls.** ``ref.reset``, ``ref.step``, ``ref.apply`` and ``ref.close`` return
  ``ray.ObjectRef`` at once; ``await`` them in asyncio (wrap them in ``asyncio.wait_for`` for a
  time limit) or ``ray.get`` them. In asyncio, ``ref.areset`` and ``ref.astep`` return an
  asyncio future instead and are *coalesced*: the calls made on one worker's environments in
  the same event-loop tick go to it as one Ray call, each keeping its own outcome (see
  :mod:`agentgym.ray.coalesce`); this is what the runtime's ``RayHandle`` uses, so a vector
  step or the episodes stepped together cost one Ray call per worker, not one per
  environment. An argument Ray cannot pickle (an action, reset options, an ``apply``
  function) makes the call raise a one-line ``TypeError`` naming the cause at once (for
  ``areset``/``astep``: its future); nothing is sent and the environment's later calls go
  on. Results are plain data: ``(observation, info)``,
  ``(observation, reward: float, terminated: bool, truncated: bool, info)``, with ``info``
  passed through :func:`~agentgym.trajectory.json_safe`. Calls on one environment run one
  after another in its thread, in the order they were made, even when several are in flight
  (each carries a number, coalesced or not; Ray itself does not order calls to an asyncio
  actor); calls on different environments run at the same time.
* **Exceptions an environment raises** reach the caller as Ray's ``RayTaskError(<type>)``,
  which is an instance of both ``ray.exceptions.RayTaskError`` and the environment's own
  exception type (``except ValueError`` catches it); where Ray cannot subclass the type (an
  exception class with an unusual constructor) the caller gets a plain ``RayTaskError`` whose
  ``cause`` is the original.
* **A timed-out call.** ``ref.abandon()`` drops the environment at once without waiting; a
  call still running is left in its thread (counted in :meth:`RayEnvPool.stats` as that
  worker's ``hung_threads``; the environment is closed if the call ever returns), and calls
  waiting behind it fail with :class:`~agentgym.ray.host.EnvAbandonedError`.
  ``await ref.abandon_and_wait(timeout)`` does the same and waits for the worker's answer:
  ``None`` when none came in time (a frozen worker, an unreachable node).
* **A worker that dies** (its process killed, its node lost): every call on its environments
  raises ``ray.exceptions.RayActorError`` (``ActorDiedError`` in recent Ray), now and for every
  later call until the ref is closed; those environments are lost (:attr:`RayEnvRef.lost`).
  The pool learns of the death at once (it keeps a call pending on every worker, which fails
  when the worker dies) or at a failed ``open``, starts a replacement worker in its place so
  later ``open`` calls work, and counts it in ``stats()["restarts"]``. :meth:`restart_worker`
  kills and replaces a worker on purpose (a hung one).
* **Shutdown.** :meth:`RayEnvPool.shutdown` kills every worker actor and waits until Ray reports
  them dead; it is idempotent, and it also runs when the pool is garbage-collected and at
  interpreter exit. Workers are never detached actors, so they also end with the driver. A
  ref does not keep its pool alive: keep the pool while its refs are in use (after shutdown
  they are lost). Close or abandon every ref you are done with; a ref that is only dropped
  leaves its environment hosted until shutdown.
"""

from __future__ import annotations

import asyncio
import numbers
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

try:
    import ray
    import ray.exceptions
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("agentgym.ray needs Ray: pip install 'agentgym[ray]' (or pip install 'ray>=2.9')") from exc

from agentgym.ray.coalesce import coalescer, unsendable_error
from agentgym.ray.host import EnvHost
from agentgym.runtime.worker import checked_timeout

#: calls one worker takes at once (environments waiting, a hung call each, the pool's watch)
DEFAULT_MAX_CONCURRENCY = 1000
_WATCH_POLL_S = 0.25  # how often the monitor thread checks that the pool is still open
_SHUTDOWN_WAIT_S = 10.0  # shutdown waits this long for Ray to report the killed workers dead

RemoteEnvHost = ray.remote(EnvHost)


class RayEnvError(RuntimeError):
    """An environment or a worker could not be started on Ray (bad factory, no resources)."""


@dataclass(eq=False)
class _Worker:
    """One worker actor as the pool sees it (replaced by a new ``_Worker`` when it dies)."""

    index: int
    handle: Any
    watch: Any  # ObjectRef of EnvHost.watch: it fails when the worker dies
    pid_ref: Any
    started: float = field(default_factory=time.monotonic)
    envs: int = 0  # open refs on this worker
    alive: bool = True
    pid: int | None = None
    death: str = ""  # why the pool considers it dead

    def resolve_pid(self, timeout: float | None) -> int | None:
        if self.pid is None:
            try:
                self.pid = ray.get(self.pid_ref, timeout=timeout)
            except ray.exceptions.RayError:
                return None
        return self.pid


class _PoolState:
    """What the pool, its monitor thread and its finalizer share (never the pool itself)."""

    def __init__(self, actor_options: dict[str, Any]) -> None:
        self.actor_options = actor_options
        self.lock = threading.Lock()
        self.workers: list[_Worker] = []
        self.restarts = 0
        self.restarts_per_index: list[int] = []
        self.closed = False
        self.stop = threading.Event()

    def start_worker(self, index: int) -> _Worker:
        handle = RemoteEnvHost.options(**self.actor_options).remote()
        return _Worker(index, handle, handle.watch.remote(), handle.pid.remote())

    def pick(self) -> _Worker:
        """The live worker with the fewest open environments; reserves a place on it."""
        with self.lock:
            if self.closed:
                raise RuntimeError("the RayEnvPool is shut down")
            worker = min((w for w in self.workers if w.alive), key=lambda w: w.envs)
            worker.envs += 1
            return worker

    def release(self, worker: _Worker) -> None:
        with self.lock:
            worker.envs = max(0, worker.envs - 1)

    def replace(self, worker: _Worker, why: str, *, kill: bool = False) -> bool:
        """``worker`` is dead (or, with ``kill``, is to be killed): start a replacement in its
        place. Idempotent: returns False if it was replaced already or the pool is closed."""
        with self.lock:
            if self.closed or self.workers[worker.index] is not worker:
                return False
            worker.alive = False
            worker.death = why
            if kill:
                _kill(worker.handle)
            self.workers[worker.index] = self.start_worker(worker.index)
            self.restarts += 1
            self.restarts_per_index[worker.index] += 1
            return True

    def shutdown(self, monitor: threading.Thread | None) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            workers = list(self.workers)
            for worker in workers:
                worker.alive = False
                worker.death = worker.death or "the pool was shut down"
                _kill(worker.handle)
        self.stop.set()
        if monitor is not None and monitor.is_alive() and monitor is not threading.current_thread():
            monitor.join()
        try:  # the watch fails once Ray has the actor dead: nothing is left running
            ray.wait([w.watch for w in workers], num_returns=len(workers), timeout=_SHUTDOWN_WAIT_S,
                     fetch_local=False)
        except Exception:  # noqa: BLE001 - Ray is already down (interpreter exit): so are the workers
            pass


def _kill(handle: Any) -> None:
    try:
        ray.kill(handle, no_restart=True)
    except Exception:  # noqa: BLE001 - dead already, or Ray is down
        pass


def _monitor(state: _PoolState) -> None:
    """Replace every worker whose watch call fails (its actor died), until the pool closes."""
    while not state.stop.is_set():
        with state.lock:
            watched = {w.watch: w for w in state.workers if w.alive}
        if not watched:
            state.stop.wait(_WATCH_POLL_S)
            continue
        try:
            ready, _ = ray.wait(list(watched), num_returns=1, timeout=_WATCH_POLL_S, fetch_local=False)
        except Exception:  # noqa: BLE001 - Ray went down under the pool
            return
        for watch in ready:
            worker = watched[watch]
            try:
                ray.get(watch, timeout=0)
                why = "its watch call returned"  # pragma: no cover - EnvHost.watch never returns
            except ray.exceptions.RayError as exc:
                why = _first_line(exc)
            state.replace(worker, f"the worker died: {why}")


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class RayEnvRef:
    """One environment hosted by a :class:`RayEnvPool` worker (see the module docstring).

    Attributes:
        key: the environment's key on its worker.
        worker_pid: the process id of the worker hosting it.
        observation_space, action_space, metadata, render_mode: the environment's, read when it
            was built.
    """

    def __init__(self, state: _PoolState, worker: _Worker, key: str, built: dict[str, Any]) -> None:
        self._state = state
        self._worker = worker
        self.key = key
        self.worker_pid: int = built["pid"]
        self.observation_space = built["observation_space"]
        self.action_space = built["action_space"]
        self.metadata: dict[str, Any] = built["metadata"]
        self.render_mode: Any = built.get("render_mode")
        self._released = False
        self._seq = 0
        self._seq_lock = threading.Lock()

    @property
    def lost(self) -> bool:
        """The worker hosting this environment is gone (it died, was restarted, or the pool was
        shut down), as far as the pool knows: every call fails with ``RayActorError``."""
        return not self._worker.alive

    @property
    def closed(self) -> bool:
        """``close`` or ``abandon`` was called."""
        return self._released

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        """``ObjectRef`` of ``(observation, info)``."""
        return self._send("reset", seed, options)

    def step(self, action: Any) -> Any:
        """``ObjectRef`` of ``(observation, reward, terminated, truncated, info)``."""
        return self._send("step", action)

    def areset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> asyncio.Future:
        """Coalesced ``reset`` (call it from a coroutine): an asyncio future of
        ``(observation, info)``, raising as ``ray.get(ref.reset(...))`` would."""
        return self._coalesced("reset", (seed, options))

    def astep(self, action: Any) -> asyncio.Future:
        """Coalesced ``step`` (call it from a coroutine): an asyncio future of
        ``(observation, reward, terminated, truncated, info)``, raising as ``ray.get(ref.step(...))``
        would."""
        return self._coalesced("step", (action,))

    def apply(self, fn: Callable[[Any], Any]) -> Any:
        """``ObjectRef`` of ``fn(env)``, run in the environment's thread (``fn`` must be picklable)."""
        if not callable(fn):
            raise TypeError(f"apply needs a callable taking the environment, got {fn!r}")
        return self._send("apply", fn)

    def close(self) -> Any:
        """``ObjectRef`` of ``None`` once the environment is closed (in its thread) and dropped.

        Idempotent. On a lost environment it resolves to ``None`` at once; if the worker dies
        while closing, the ``ObjectRef`` raises ``RayActorError`` (the environment is gone either way).
        The environment's own ``close`` error, if any, is raised as its own type."""
        if self._released or self.lost:
            self._release()
            return ray.put(None)
        object_ref = self._send("close")
        self._release()
        return object_ref

    def abandon(self) -> None:
        """Drop the environment without waiting (after a timeout): a call still running is left
        in its thread and counted in its worker's ``hung_threads``. Idempotent."""
        if self._released:
            return
        self._release()
        if not self.lost:
            self._worker.handle.abandon.remote(self.key)

    async def abandon_and_wait(self, timeout: float | None) -> int | None:
        """:meth:`abandon`, then wait at most ``timeout`` seconds for the worker to confirm;
        returns how many calls are now hung in that worker's abandoned threads, or ``None`` if
        it did not answer in time or is gone (for a worker that is frozen or unreachable, see
        :meth:`RayEnvPool.restart_worker`). Only the first call sends anything."""
        if self._released or self.lost:
            self._release()
            return None
        self._release()
        try:
            return await asyncio.wait_for(self._worker.handle.abandon.remote(self.key), timeout)
        except (asyncio.TimeoutError, ray.exceptions.RayError):
            return None

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._state.release(self._worker)

    def _coalesced(self, method: str, args: tuple) -> asyncio.Future:
        if self._released:
            raise RuntimeError(f"{method} on a closed or abandoned RayEnvRef (key {self.key!r})")
        queue = coalescer()  # the running loop's: RuntimeError outside one
        with self._seq_lock:
            seq, self._seq = self._seq, self._seq + 1  # taken now: the order is the order of the calls
        return queue.add(self._worker, self.key, seq, method, args)

    def _send(self, method: str, *args: Any) -> Any:
        """Call the worker's ``method``, numbered so that the worker runs this environment's
        calls in the order they were made (Ray does not order calls to an asyncio actor)."""
        if self._released:
            raise RuntimeError(f"{method} on a closed or abandoned RayEnvRef (key {self.key!r})")
        with self._seq_lock:
            try:
                object_ref = getattr(self._worker.handle, method).remote(self.key, *args, seq=self._seq)
            except TypeError as exc:  # Ray could not pickle an argument: its cause, not Ray's page-long report
                raise unsendable_error(f"the arguments of {method} {args!r:.120}", exc) from exc
            self._seq += 1  # only once sent: a call that could not be sent (unpicklable) leaves no gap
        return object_ref

    def __repr__(self) -> str:
        state = "closed" if self._released else "lost" if self.lost else "open"
        return f"<RayEnvRef {self.key[:8]} on worker {self._worker.index} (pid {self.worker_pid}), {state}>"


class RayEnvPool:
    """N Ray worker actors hosting many environments each (see the module docstring).

    Args:
        num_workers: how many worker actors (processes).
        num_cpus_per_worker: CPUs each worker reserves from Ray (fractional allowed).
        max_concurrency: calls one worker takes at once.
        actor_options: more ``ActorClass.options(...)`` (``resources``, ``runtime_env``,
            ``scheduling_strategy``, ``memory``...); ``lifetime="detached"`` is refused (such a
            worker would outlive the pool).
        start_timeout: seconds to wait for the workers to start, a finite positive number
            (``None``: forever); past it the pool kills them and raises :class:`RayEnvError`
            (usually: not enough CPUs).

    Bad arguments raise ``ValueError`` before Ray is initialised or any worker starts.
    """

    def __init__(self, num_workers: int = 2, *, num_cpus_per_worker: float = 1.0,
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY, actor_options: dict[str, Any] | None = None,
                 start_timeout: float | None = 120.0) -> None:
        _check_count("num_workers", num_workers)
        _check_count("max_concurrency", max_concurrency)
        start_timeout = checked_timeout("start_timeout", start_timeout)
        if isinstance(num_cpus_per_worker, bool) or not isinstance(num_cpus_per_worker, numbers.Real) \
                or not num_cpus_per_worker >= 0:
            raise ValueError(f"num_cpus_per_worker must be a non-negative number, got {num_cpus_per_worker!r}")
        options = dict(actor_options or {})
        if options.get("lifetime") == "detached":
            raise ValueError("actor_options lifetime='detached' would let workers outlive the pool")
        if not ray.is_initialized():
            ray.init()
        options.update(num_cpus=num_cpus_per_worker, max_concurrency=max_concurrency, max_restarts=0)
        self.num_workers = num_workers
        self._start_timeout = start_timeout
        self._state = state = _PoolState(options)
        state.workers = [state.start_worker(i) for i in range(num_workers)]
        state.restarts_per_index = [0] * num_workers
        self._monitor = threading.Thread(target=_monitor, args=(state,), name="agentgym-ray-pool-monitor",
                                         daemon=True)
        self._finalizer = weakref.finalize(self, state.shutdown, self._monitor)
        try:
            pids = ray.get([w.pid_ref for w in state.workers], timeout=start_timeout)
        except Exception as exc:  # noqa: BLE001 - timeout or a worker that could not start
            self._finalizer()
            raise RayEnvError(f"the {num_workers} Ray workers did not start within {start_timeout} s "
                              f"({_first_line(exc)}); does the cluster have {num_workers} x "
                              f"{num_cpus_per_worker} CPUs free?") from exc
        for worker, pid in zip(state.workers, pids):
            worker.pid = pid
        self._monitor.start()

    # ------------------------------------------------------------------ environments
    def open(self, factory: Callable[[], Any], *, timeout: float | None = None) -> RayEnvRef:
        """Build ``factory()`` on the least-loaded live worker; its :class:`RayEnvRef` once built.

        Raises the factory's own exception if it raises; ``ValueError`` if ``timeout`` is not a
        finite positive number or ``None`` (before anything is sent); ``TimeoutError`` if building takes more
        than ``timeout`` seconds (the build is abandoned; a worker still starting, such as the
        replacement of a dead one, is first waited for, up to ``start_timeout``); :class:`RayEnvError` if two workers in
        a row die under it."""
        return self.open_many([factory], timeout=timeout)[0]

    def open_many(self, factories: Sequence[Callable[[], Any]], *, timeout: float | None = None) -> list[RayEnvRef]:
        """:meth:`open` for many factories at once (spread over the workers, built in parallel).

        All or nothing: if one fails, the others are closed and its error is raised."""
        timeout = checked_timeout("timeout", timeout)
        factories = list(factories)
        for factory in factories:
            _check_factory(factory)
        if not factories:
            return []
        refs: list[RayEnvRef | None] = [None] * len(factories)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            todo = list(range(len(factories)))
            for attempt in range(2):
                todo, deadline = self._open_round(factories, todo, refs, deadline, timeout)
                if not todo:
                    return refs  # type: ignore[return-value]
            raise RayEnvError(f"{len(todo)} environment(s) could not be built: their workers died twice in a row")
        except BaseException:
            for ref in refs:
                if ref is not None:
                    ref.abandon()
            raise

    async def open_async(self, factory: Callable[[], Any]) -> RayEnvRef:
        """:meth:`open` for asyncio: the build is awaited, not waited for in a thread. It has no
        time limit of its own: wrap it in ``asyncio.wait_for``; cancelled, it abandons the
        build (and the worker refuses it if it had not started it yet)."""
        _check_factory(factory)
        for _ in range(2):
            worker, key, pending = self._place(factory)
            try:
                built = await pending
            except asyncio.CancelledError:
                self._abandon_open(worker, key)
                raise
            except ray.exceptions.RayActorError as exc:
                self._worker_died_under_open(worker, exc)
                continue
            except BaseException:  # the factory raised (as its own type)
                self._state.release(worker)
                raise
            return RayEnvRef(self._state, worker, key, built)
        raise RayEnvError("the environment could not be built: its workers died twice in a row")

    async def wait_started_async(self) -> None:
        """Wait, at most ``start_timeout`` seconds, until every live worker's process runs (the
        replacement of a dead one may still be starting). For callers that put their own time
        limit on :meth:`open_async`: awaited first, a replacement's start-up is not charged to
        the build (as :meth:`open` does for itself)."""
        starting = [w for w in self._state.workers if w.alive and w.pid is None]
        if not starting:
            return
        pending = asyncio.gather(*(asyncio.wrap_future(w.pid_ref.future()) for w in starting),
                                 return_exceptions=True)  # a worker that dies starting is the build's problem
        try:
            await asyncio.wait_for(pending, self._start_timeout)
        except asyncio.TimeoutError:
            return
        for worker in starting:
            worker.resolve_pid(0)

    def _open_round(self, factories: list[Callable[[], Any]], todo: list[int], refs: list[RayEnvRef | None],
                    deadline: float | None, timeout: float | None) -> tuple[list[int], float | None]:
        """Open ``todo``'s factories at once; the indices whose worker died (to retry), and the
        deadline moved by the time spent waiting for workers to start."""
        placed = [(i, *self._place(factories[i])) for i in todo]
        waited = self._await_start([p[1] for p in placed])
        deadline = None if deadline is None else deadline + waited
        pending = [p[3] for p in placed]
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _ = ray.wait(pending, num_returns=len(pending), timeout=left, fetch_local=True)
        ready_set, retry, first_error = set(ready), [], None
        for i, worker, key, pending_ref in placed:
            if pending_ref not in ready_set:
                self._abandon_open(worker, key)
                first_error = first_error or TimeoutError(
                    f"building the environment took more than {timeout} s; it was abandoned")
                continue
            try:
                refs[i] = RayEnvRef(self._state, worker, key, ray.get(pending_ref))
            except ray.exceptions.RayActorError as exc:
                self._worker_died_under_open(worker, exc)
                retry.append(i)
            except BaseException as exc:  # the factory raised (as its own type)
                self._state.release(worker)
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return retry, deadline

    def _await_start(self, workers: list[_Worker]) -> float:
        """Wait (at most ``start_timeout``) until these workers' processes run; the seconds
        waited. A replacement worker's start-up is not charged to a build's ``timeout``."""
        began = time.monotonic()
        starting = {w.pid_ref: w for w in workers if w.pid is None}
        if starting:
            ray.wait(list(starting), num_returns=len(starting), timeout=self._start_timeout, fetch_local=True)
            for worker in starting.values():
                worker.resolve_pid(0)
        return time.monotonic() - began

    def _place(self, factory: Callable[[], Any]) -> tuple[_Worker, str, Any]:
        """Send ``factory`` to the least-loaded live worker: that worker, the key, the pending reply."""
        worker, key = self._state.pick(), uuid.uuid4().hex
        try:
            return worker, key, worker.handle.open.remote(key, factory)
        except TypeError as exc:  # Ray could not pickle the factory: its cause, not Ray's page-long report
            self._state.release(worker)
            raise unsendable_error(f"the environment factory {factory!r:.120}", exc) from exc
        except BaseException:
            self._state.release(worker)
            raise

    def _abandon_open(self, worker: _Worker, key: str) -> None:
        self._state.release(worker)
        worker.handle.abandon.remote(key)

    def _worker_died_under_open(self, worker: _Worker, exc: BaseException) -> None:
        self._state.release(worker)
        self._state.replace(worker, f"the worker died: {_first_line(exc)}")

    # ------------------------------------------------------------------ workers
    def restart_worker(self, ref: RayEnvRef) -> bool:
        """Kill the worker hosting ``ref``'s environment and start a replacement (every
        environment on it is lost, ``ref``'s too). For a worker left with hung calls. Returns
        False if that worker was replaced already."""
        return self._state.replace(ref._worker, "the worker was restarted on purpose", kill=True)

    def worker_failed(self, ref: RayEnvRef) -> bool:
        """Tell the pool a call on ``ref`` raised ``RayActorError``: the worker hosting it is
        replaced now, without waiting for the monitor to notice. Returns whether it was
        (False: it was replaced already)."""
        return self._state.replace(ref._worker, "the worker died (reported by a failed call)")

    def stats(self, timeout: float = 5.0) -> dict[str, Any]:
        """The pool's state: ``workers`` (how many), ``restarts`` (workers replaced), ``envs``
        (open refs) and ``hung_threads`` in all, and ``per_worker``: for each worker
        ``index``, ``pid``, ``alive``, ``envs``, ``hosted`` (environments the worker holds,
        asked of it), ``hung_threads`` (calls hung in its abandoned threads), ``batches`` (Ray
        calls of coalesced resets and steps it received: one per tick of a driver's event loop
        with calls for it), ``collects`` (Ray calls for the outcomes of a batch that were not
        ready with the others), ``unfinished`` (batches it still holds outcomes of) and ``restarts``
        (``None`` where the worker did not answer within ``timeout`` seconds)."""
        with self._state.lock:
            workers = list(self._state.workers)
            restarts, per_index = self._state.restarts, list(self._state.restarts_per_index)
        asked = {w.index: w.handle.stats.remote() for w in workers if w.alive}
        per_worker = []
        for worker in workers:
            reply: dict[str, Any] = {}
            if worker.index in asked:
                try:
                    reply = ray.get(asked[worker.index], timeout=timeout)
                except ray.exceptions.RayError:
                    reply = {}
                except Exception:  # noqa: BLE001 - GetTimeoutError: a busy or wedged worker
                    reply = {}
            per_worker.append({"index": worker.index, "pid": reply.get("pid", worker.pid), "alive": worker.alive,
                               "envs": worker.envs, "hosted": reply.get("envs"),
                               "hung_threads": reply.get("hung_threads"), "batches": reply.get("batches"),
                               "collects": reply.get("collects"), "unfinished": reply.get("unfinished"),
                               "restarts": per_index[worker.index]})
        return {"workers": len(workers), "restarts": restarts, "envs": sum(w["envs"] for w in per_worker),
                "hung_threads": sum(w["hung_threads"] or 0 for w in per_worker), "per_worker": per_worker}

    def worker_pids(self, timeout: float | None = 30.0) -> list[int | None]:
        """The process id of every current worker (``None`` for one that did not answer)."""
        with self._state.lock:
            workers = list(self._state.workers)
        return [w.resolve_pid(timeout) for w in workers]

    @property
    def closed(self) -> bool:
        return self._state.closed

    def shutdown(self) -> None:
        """Kill every worker actor and wait until Ray reports them dead. Idempotent."""
        self._finalizer()

    def __enter__(self) -> RayEnvPool:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"<RayEnvPool {self.num_workers} workers, {'shut down' if self.closed else 'open'}>"


def _check_factory(factory: Any) -> None:
    if not callable(factory):
        raise TypeError(f"a RayEnvPool factory must be a zero-argument callable, got {factory!r}")


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")

