"""Fixtures of the GUI environment tests: one browser pool for the whole run, environments made
on it and closed after each test.

The pool has one browser (the tests are sequential; each environment holds one context on it).
Closing it at the end must leave no Chromium or Playwright process behind.
"""

from __future__ import annotations

import pytest

import agentgym.envs.gui  # noqa: F401  (registers gui/* even where envs/__init__ does not import it)
from tests.browser.browser_helpers import checked_pool


@pytest.fixture(scope="package")
def gui_pool():
    """One browser shared by this folder's tests; closing it leaves no process behind."""
    with checked_pool(1) as pool:
        yield pool


@pytest.fixture
def make_gui(gui_pool):
    """``make_gui(cls, *args, **kwargs)``: an environment on the shared pool, closed after the test."""
    made = []

    def make(cls, *args, **kwargs):
        env = cls(*args, pool=gui_pool, **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
