"""The env server's worker threads at shutdown: an environment call stuck for good must not
keep the server from stopping (``serve-env`` ignored SIGTERM and Ctrl+C while one was)."""

import asyncio
import logging
import threading
import time

from agentgym.remote.env_threads import EnvThreads
from agentgym.remote.session_service import SessionService


def test_shutdown_waits_for_queued_calls_but_not_past_its_timeout():
    stuck, release = threading.Event(), threading.Event()

    def blocked():
        stuck.set()
        release.wait(30)

    async def scenario():
        threads = EnvThreads(2, "test-env")
        call = threads.run(blocked)
        assert await threads.run(lambda: 7) == 7  # the other thread serves on
        assert await asyncio.to_thread(stuck.wait, 10)
        started = time.monotonic()
        left = threads.shutdown(timeout=0.2)
        assert time.monotonic() - started < 5
        assert left == ["test-env_0"] or left == ["test-env_1"], left
        call.cancel()

    try:
        asyncio.run(scenario())
    finally:
        release.set()


def test_shutdown_without_a_stuck_call_joins_every_thread():
    async def scenario():
        threads = EnvThreads(3, "test-env")
        assert await threads.run(lambda: "done") == "done"
        assert threads.shutdown(timeout=10) == []

    asyncio.run(scenario())


def test_the_service_stops_despite_an_env_call_stuck_for_good(monkeypatch, caplog):
    monkeypatch.setattr("agentgym.remote.session_service.SHUTDOWN_GRACE", 0.2)
    stuck, release = threading.Event(), threading.Event()

    def blocked():
        stuck.set()
        release.wait(30)

    async def scenario():
        service = SessionService(max_sessions=4, idle_timeout=60, workers=2, retry_after=1, resume_grace=30,
                                 inline_envs=(), inline_budget=0.01)
        call = service.pool.run(blocked)
        assert await asyncio.to_thread(stuck.wait, 10)
        started = time.monotonic()
        await service.shutdown()
        assert time.monotonic() - started < 5
        call.cancel()

    try:
        with caplog.at_level(logging.WARNING, logger="agentgym.remote.server"):
            asyncio.run(scenario())
    finally:
        release.set()
    assert "1 environment call still running" in caplog.text
