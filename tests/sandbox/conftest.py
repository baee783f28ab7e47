"""Fixtures of the sandbox tests; the helpers live in ``sandbox_helpers``."""

from __future__ import annotations

import pytest
from sandbox_helpers import SMALL, LeakProbe

from agentgym.sandbox import Sandbox
from agentgym.sandbox import process as sandbox_process


@pytest.fixture
def leaks(monkeypatch) -> LeakProbe:
    probe = LeakProbe()
    original = sandbox_process.fresh_uid

    def recorded() -> int:
        uid = original()
        probe.uids.add(uid)
        return uid

    monkeypatch.setattr(sandbox_process, "fresh_uid", recorded)
    return probe


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """A bubblewrap sandbox with small limits. Never skipped: where bubblewrap cannot work the
    tests fail with SandboxUnavailable's message (which names the command to run)."""
    return Sandbox(SMALL)
