"""Fixtures of the MCP tests: the reliability suite's resource probe (threads, fds, children)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # `pytest` (unlike `python -m pytest`) does not put the repository on the path
    sys.path.insert(0, _ROOT)

from tests.reliability.conftest import ResourceProbe  # noqa: E402


@pytest.fixture
def resources() -> ResourceProbe:
    """Snapshot the process's threads, fds and child processes; ``resources.assert_released()``."""
    return ResourceProbe()
