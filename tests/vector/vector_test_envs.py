"""Small environments for the vector tests: they echo, sleep, hang, raise, or run natively async."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from agentgym import Feedback, LLMEnv

# A bound on every wait below, so a broken implementation fails a test instead of hanging it.
PATIENCE_S = 5.0


class EchoEnv(LLMEnv):
    """Echoes the action; ``"stop"`` ends the episode with reward 1. Remembers being closed and
    the threads that ran it."""

    instructions = "Say anything; say stop to finish."

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.was_closed = False
        self.threads: set[int] = {threading.get_ident()}

    def new_episode(self, options: dict[str, Any]) -> str:
        self.threads.add(threading.get_ident())
        self.turn = 0
        return f"episode start {self.rng.randint(0, 10**6)}"

    def play(self, action: str) -> Feedback:
        self.threads.add(threading.get_ident())
        self.turn += 1
        if action == "stop":
            return Feedback("stopped", {"outcome": 1.0}, terminated=True, success=True)
        return Feedback(
            f"echo {action} (turn {self.turn})", {"outcome": 0.0}, info={"turn": self.turn}
        )

    def close(self) -> None:
        self.was_closed = True


class Gauge:
    """Counts the callers inside a section and remembers the most at once (``peak``).

    Each caller waits (at most ``PATIENCE_S``) until ``parties`` callers have been inside
    together, so callers that really run concurrently always reach ``peak == parties``, while
    callers run one after another never get past 1.
    """

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.inside = 0
        self.peak = 0
        self._changed = threading.Condition()

    @contextmanager
    def section(self):
        with self._changed:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.peak >= self.parties, timeout=PATIENCE_S)
        try:
            yield
        finally:
            with self._changed:
                self.inside -= 1


class SleepyEnv(EchoEnv):
    """A slow environment: each step sleeps ``delay`` seconds inside a shared :class:`Gauge`."""

    def __init__(self, gauge: Gauge, delay: float = 0.01, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gauge = gauge
        self.delay = delay

    def play(self, action: str) -> Feedback:
        with self.gauge.section():
            time.sleep(self.delay)
            return super().play(action)


class HangingEnv(EchoEnv):
    """Blocks on ``release`` when the action is ``"hang"`` (or on its first reset when
    ``hang_first_reset``): a hung environment that the test frees at teardown."""

    def __init__(
        self, release: threading.Event, hang_first_reset: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.hang_first_reset = hang_first_reset

    def new_episode(self, options: dict[str, Any]) -> str:
        if self.hang_first_reset and self._episode == 0:
            self.release.wait()
        return super().new_episode(options)

    def play(self, action: str) -> Feedback:
        if action == "hang":
            self.release.wait()
        return super().play(action)


class RaisingEnv(EchoEnv):
    """Raises ``RuntimeError("boom")`` when the action is ``"explode"``, and in every reset when
    ``broken_reset``: an environment with a bug."""

    def __init__(self, broken_reset: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.broken_reset = broken_reset

    def new_episode(self, options: dict[str, Any]) -> str:
        if self.broken_reset:
            raise RuntimeError("cannot start")
        return super().new_episode(options)

    def play(self, action: str) -> Feedback:
        if action == "explode":
            raise RuntimeError("boom")
        return super().play(action)


class AsyncGauge:
    """:class:`Gauge` for coroutines on one event loop."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.inside = 0
        self.peak = 0
        self._everyone_met = asyncio.Event()

    @asynccontextmanager
    async def section(self):
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        if self.peak >= self.parties:
            self._everyone_met.set()
        try:
            await asyncio.wait_for(self._everyone_met.wait(), PATIENCE_S)
        except asyncio.TimeoutError:
            pass  # the assertion on `peak` reports it
        try:
            yield
        finally:
            self.inside -= 1


class AsyncEchoEnv(EchoEnv):
    """A natively asynchronous environment (like an HTTP client env): its own ``areset`` and
    ``astep`` await ``asyncio.sleep`` inside an :class:`AsyncGauge`. ``"hang"`` sleeps for an
    hour (until cancelled), ``"explode"`` raises."""

    def __init__(self, gauge: AsyncGauge, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gauge = gauge
        self.async_steps = 0
        self.cancelled = False

    async def areset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        await asyncio.sleep(0)
        return self.reset(seed=seed, options=options)

    async def astep(self, action: Any):
        self.async_steps += 1
        try:
            async with self.gauge.section():
                await asyncio.sleep(3600 if action == "hang" else 0.01)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if action == "explode":
            raise RuntimeError("boom")
        return self.step(action)


class Factory:
    """Builds the environments of one slot and keeps them, to count rebuilds.

    ``first`` holds keyword arguments for the first build only (e.g. a broken first env).
    """

    def __init__(self, cls: type, first: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.cls = cls
        self.first = first or {}
        self.kwargs = kwargs
        self.built: list[Any] = []

    def __call__(self) -> Any:
        extra = self.first if not self.built else {}
        env = self.cls(**self.kwargs, **extra)
        self.built.append(env)
        return env


def wait_until(condition, timeout: float = PATIENCE_S) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; returns whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def slot_threads() -> list[threading.Thread]:
    """The live worker threads of vector environments."""
    return [t for t in threading.enumerate() if t.name.startswith("agentgym-vector-slot")]


class SlowFactory(Factory):
    """A :class:`Factory` whose first ``slow_builds`` builds block on ``release`` (for at most
    ``PATIENCE_S``, so a constructor that waits for them fails a test instead of hanging it)."""

    def __init__(self, cls: type, release: threading.Event, slow_builds: int = 1, **kwargs: Any):
        super().__init__(cls, **kwargs)
        self.release = release
        self.slow_builds = slow_builds
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.calls <= self.slow_builds:
            self.release.wait(PATIENCE_S)
        return super().__call__()


class SleepingEnv(EchoEnv):
    """For process isolation (no events: it must pickle into a child process). ``"hang"``
    sleeps for an hour, ``"explode"`` raises, ``"die"`` ends the process abruptly;
    ``build_delay`` seconds of sleep in the constructor make a slow factory."""

    def __init__(self, build_delay: float = 0.0, **kwargs: Any) -> None:
        time.sleep(build_delay)
        super().__init__(**kwargs)

    def play(self, action: str) -> Feedback:
        if action == "hang":
            time.sleep(3600)
        if action == "explode":
            raise RuntimeError("boom")
        if action == "die":
            os._exit(3)
        return super().play(action)
