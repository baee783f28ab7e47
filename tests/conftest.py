"""Fixtures for the whole suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # `pytest` (unlike `python -m pytest`) does not put the repository on the path
    sys.path.insert(0, _ROOT)

from tests.resource_probe import ResourceProbe  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _no_shared_browser_outlives_its_module():
    """Environments made without a ``pool`` (the contract probes, an environment server running
    web or GUI environments) open the process-wide browser pool; it is closed when their module
    ends, so no Chromium of theirs is counted as a leaked child process by later tests."""
    yield
    pool_module = sys.modules.get("agentgym.browser.pool")
    if pool_module is not None:
        pool_module.close_shared_pool()


@pytest.fixture
def resources() -> ResourceProbe:
    """Snapshot the process's threads, fds and child processes; ``resources.assert_released()``
    fails naming what is still open (:class:`tests.resource_probe.ResourceProbe`)."""
    return ResourceProbe()


@pytest.fixture(scope="session")
def sandbox():
    """A bubblewrap sandbox with the limits the tool tasks' tests use (a configuration, no
    processes; ``tests/sandbox`` has its own with smaller limits). Never skipped: where
    bubblewrap cannot work the tests fail with SandboxUnavailable's message, which names the
    command to run (``make setup`` installs it)."""
    from agentgym.sandbox import Sandbox, SandboxLimits

    return Sandbox(SandboxLimits(cpu_seconds=10, wall_seconds=15, output_chars=8_000))
