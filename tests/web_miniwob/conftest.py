"""Fixtures of the MiniWoB++ tests: one pool of two real Chromium browsers for the whole run
(closing it must leave no browser process behind), and environments made on it."""

from __future__ import annotations

import pytest

import agentgym
import agentgym.envs.web.miniwob  # noqa: F401  (registers web/miniwob.* even where agentgym.envs does not import it)
from tests.browser.browser_helpers import checked_pool


@pytest.fixture(scope="package")
def miniwob_pool():
    """Two browsers shared by every MiniWoB++ test (closed when this folder's tests end, so no browser of theirs outlives them into other tests)."""
    with checked_pool(2) as pool:
        yield pool


@pytest.fixture
def make_miniwob(miniwob_pool):
    """``make_miniwob(task, **kwargs)``: ``web/miniwob.<task>-v0`` on the session's pool (closed
    after the test); ``task=None`` makes ``web/MiniWoB-v0``."""
    made = []

    def make(task: str | None, **kwargs):
        env_id = "web/MiniWoB-v0" if task is None else f"web/miniwob.{task}-v0"
        env = agentgym.make(env_id, pool=miniwob_pool, **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
    assert miniwob_pool.open_sessions == 0, "an environment kept its browser session after close()"
