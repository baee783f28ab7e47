"""Fixtures of the shop's browser tests."""

from __future__ import annotations

import pytest

from agentgym.browser import BrowserPool
from agentgym.browser.processes import browser_processes


@pytest.fixture(scope="module")
def pool():
    """One browser for a test module; no browser process may outlive its ``close``."""
    pool = BrowserPool(1)
    yield pool
    markers = [worker.marker for worker in pool.browsers if worker.marker]
    pool.close()
    assert all(not browser_processes(marker) for marker in markers), "a browser outlived pool.close()"
