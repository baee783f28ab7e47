"""Fixtures of the dataset-environment tests: one shared sandbox (a configuration, no processes) and the
reliability suite's resource probe (threads, fds, child processes)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # `pytest` (unlike `python -m pytest`) does not put the repository on the path
    sys.path.insert(0, _ROOT)

from tests.reliability.conftest import ResourceProbe  # noqa: E402

from agentgym.sandbox import Sandbox, SandboxLimits  # noqa: E402


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """A bubblewrap sandbox. Never skipped: where bubblewrap cannot work these tests fail with
    SandboxUnavailable's message, which names the command to run (``make setup`` installs it)."""
    return Sandbox(SandboxLimits(cpu_seconds=10, wall_seconds=15, output_chars=8_000))


@pytest.fixture
def resources() -> ResourceProbe:
    """Snapshot the process's threads, fds and child processes; ``resources.assert_released()``."""
    return ResourceProbe()
