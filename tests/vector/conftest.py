"""Fixtures shared by the vector tests."""

from __future__ import annotations

import threading

import pytest
from vector_test_envs import slot_threads, wait_until

from agentgym.vector import AsyncioVectorEnv, ThreadVectorEnv


@pytest.fixture(params=[ThreadVectorEnv, AsyncioVectorEnv], ids=["thread", "asyncio"])
def vector_cls(request):
    """Both vector environments: their behaviour must be identical."""
    return request.param


@pytest.fixture
def release():
    """An event hung environments wait on; set at teardown, which then waits for the abandoned
    threads to finish so later tests start from a clean thread count."""
    event = threading.Event()
    yield event
    event.set()
    assert wait_until(lambda: not slot_threads()), "abandoned threads did not end once released"
