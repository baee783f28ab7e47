"""Real evaluation runs shared by the report, compare and CLI tests (made once per session)."""

from __future__ import annotations

import pytest

from agentgym.eval import evaluate


@pytest.fixture(scope="session")
def oracle_run(tmp_path_factory):
    """The oracle on every task of quick-v0, one rollout each."""
    return evaluate("oracle", "quick-v0", out_dir=tmp_path_factory.mktemp("runs") / "oracle", progress=False)


@pytest.fixture(scope="session")
def random_run(tmp_path_factory):
    """A seeded random policy on quick-v0, two rollouts per task."""
    return evaluate("random:7", "quick-v0", rollouts=2, out_dir=tmp_path_factory.mktemp("runs") / "random",
                    progress=False)
