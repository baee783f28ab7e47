"""Calls on one session are serialised even when a caller stops waiting: a WebSocket client
whose step timed out drops its connection (the server's handler is cancelled) while the
environment call goes on in its thread; the session's next call waits for that call to end
instead of running beside it on the same environment (over real sockets, with a client timeout
of 2 s and a step hung for 12 s, five resets had run beside the step)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.remote.schemas import CreateRequest, ResetRequest, StepRequest
from agentgym.remote.session_service import SessionService

RELEASE = threading.Event()
IN_CALL = threading.Lock()  # held while the environment runs a call
OVERLAPS: list[str] = []


class Hangs(LLMEnv):
    """``"hang"`` blocks until :data:`RELEASE` is set; every call notes if another one runs."""

    instructions = "say anything"

    def _enter(self, what: str) -> None:
        if not IN_CALL.acquire(blocking=False):
            OVERLAPS.append(what)
            IN_CALL.acquire()

    def new_episode(self, options):
        self._enter("reset")
        IN_CALL.release()
        return "ready"

    def play(self, action):
        self._enter("step")
        try:
            if action == "hang":
                RELEASE.wait(30)
            return Feedback(f"echo {action}")
        finally:
            IN_CALL.release()


agentgym.register("test/HangsUntilReleased-v0", Hangs, max_turns=None)


def _service() -> SessionService:
    return SessionService(max_sessions=4, idle_timeout=60, workers=2, retry_after=1, resume_grace=30,
                          inline_envs=(), inline_budget=0.01)


async def _hung_step(service: SessionService):
    """A session whose step hangs in its thread, the step's caller cancelled (as a dropped
    WebSocket's handler is)."""
    session = await service.create(CreateRequest(env_id="test/HangsUntilReleased-v0"), "ws")
    await service.reset(session, ResetRequest(seed=0))
    step = asyncio.ensure_future(service.step(session, StepRequest(action="hang")))
    while not IN_CALL.locked():  # the step is running in its thread
        await asyncio.sleep(0.01)
    step.cancel()
    with pytest.raises(asyncio.CancelledError):
        await step
    return session


@pytest.fixture(autouse=True)
def _fresh():
    RELEASE.clear()
    OVERLAPS.clear()
    yield
    RELEASE.set()


def test_the_next_call_waits_for_a_call_whose_caller_was_cancelled():
    async def scenario():
        service = _service()
        session = await _hung_step(service)
        reset = asyncio.ensure_future(service.reset(session, ResetRequest(seed=1)))
        done, _ = await asyncio.wait([reset], timeout=0.3)
        assert not done  # it waits for the step still running on the environment
        RELEASE.set()
        answer = await asyncio.wait_for(reset, 10)
        assert answer["observation"] == "ready"
        stepped = await service.step(session, StepRequest(action="hi"))
        assert stepped["observation"] == "echo hi"
        await service.shutdown()

    asyncio.run(scenario())
    assert OVERLAPS == []


def test_the_reaper_and_a_shutdown_are_not_held_by_a_hung_abandoned_call(monkeypatch):
    monkeypatch.setattr("agentgym.remote.session_service.SHUTDOWN_GRACE", 0.2)

    async def scenario():
        service = _service()
        session = await _hung_step(service)
        assert session.busy  # the reaper leaves it for a later round
        started = time.monotonic()
        await service.shutdown()
        assert time.monotonic() - started < 5 and not service.sessions

    asyncio.run(scenario())
