"""Fixtures for the whole suite."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True, scope="module")
def _no_shared_browser_outlives_its_module():
    """Environments made without a ``pool`` (the contract probes, an environment server running
    web or GUI environments) open the process-wide browser pool; it is closed when their module
    ends, so no Chromium of theirs is counted as a leaked child process by later tests."""
    yield
    pool_module = sys.modules.get("agentgym.browser.pool")
    if pool_module is not None:
        pool_module.close_shared_pool()
