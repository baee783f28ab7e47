"""A second Ctrl-C while the interpreter closes its browsers (the atexit hook) stops the
waiting: what is left is killed at once and the hook returns quietly (it printed "Exception
ignored in atexit callback" with a KeyboardInterrupt traceback, the other pools not closed)."""

from __future__ import annotations

import time

import pytest

from agentgym.browser import BrowserPool
from agentgym.browser import pool as pool_module
from agentgym.browser.processes import browser_descendants


def test_a_second_ctrl_c_at_exit_kills_the_browsers_and_returns_quietly(monkeypatch):
    before = {p.pid for p in browser_descendants()}
    pools = [BrowserPool(1), BrowserPool(1)]
    try:
        for pool in pools:
            pool.open_session().close()  # a browser and its driver running
        started = {p.pid for p in browser_descendants()} - before
        assert started

        def interrupted(timeout=15.0):
            raise KeyboardInterrupt
        interrupted_pool = pools[0]
        monkeypatch.setattr(interrupted_pool, "close", interrupted)
        monkeypatch.setattr(pool_module, "_live_pools", set(pools))  # this test's pools only
        try:
            pool_module.close_all_pools()  # what atexit runs
        except KeyboardInterrupt:  # (left to propagate, it would stop the whole test session)
            pytest.fail("the KeyboardInterrupt came out of the atexit hook")

        deadline = time.monotonic() + 10
        while (left := {p.pid for p in browser_descendants()} & started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"browser processes left: {left}"
    finally:
        monkeypatch.undo()
        for pool in pools:
            pool.close()
