"""Fixtures of the dataset-environment tests: one shared sandbox (a configuration, no
processes); the ``resources`` probe comes from ``tests/conftest.py``."""

from __future__ import annotations

import pytest

from agentgym.sandbox import Sandbox, SandboxLimits


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """A bubblewrap sandbox. Never skipped: where bubblewrap cannot work these tests fail with
    SandboxUnavailable's message, which names the command to run (``make setup`` installs it)."""
    return Sandbox(SandboxLimits(cpu_seconds=10, wall_seconds=15, output_chars=8_000))

