"""Fixtures for the whole suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # `pytest` (unlike `python -m pytest`) does not put the repository on the path
    sys.path.insert(0, _ROOT)

from tests.resource_probe import ResourceProbe  # noqa: E402

#: The test files that take longest (seconds of one worker on the 2-core CI machine, measured
#: with ``--durations``), longest first. They are collected first, and `make test` keeps that
#: order (``--no-loadscope-reorder``; pytest-xdist would otherwise hand out the files with the
#: most tests first, which left a 100-second file alone on one worker at the end of the run
#: while the other was idle). A scheduling hint only: a file missing here just runs later.
SLOWEST_FILES = (
    "tests/reliability/test_remote_hostile.py",
    "tests/web_miniwob/test_web_miniwob_env.py",
    "tests/test_examples.py",
    "tests/web_reliability/test_web_reliability_hostile.py",
    "tests/reliability/test_bad_input.py",
    "tests/sandbox/test_sandbox_explore9.py",
    "tests/vlm/test_vlm_learning.py",
    "tests/policies/test_hf_policy.py",
    "tests/sandbox/test_sandbox_redteam.py",
    "tests/sandbox/test_sandbox_escape.py",
    "tests/tools_mcp/test_mcp_toolset.py",
    "tests/tools_mcp/test_service_env.py",
    "tests/remote/test_launcher.py",
    "tests/test_readme.py",
    "tests/reliability/test_env_server_soak.py",
    "tests/tools_datasets/test_dataset_env.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of :data:`SLOWEST_FILES` first, in that order; every other file after them, in
    collection order (the sort is stable: a file's tests keep their order)."""
    rank = {name: position for position, name in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


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
