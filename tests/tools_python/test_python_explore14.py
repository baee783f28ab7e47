"""Exploratory round 14 of the Python tool environment: defects found by a probe and fixed."""

from __future__ import annotations

import pytest

from agentgym.tools import PythonSandbox


def test_an_unknown_isolation_is_refused_when_the_toolset_is_made():
    # Every other argument is checked when the toolset is made; an unknown isolation was kept and
    # failed at the environment's reset (open: "ValueError: isolation must be one of ...").
    with pytest.raises(ValueError, match=r"PythonSandbox: isolation must be one of bubblewrap, rlimits, got 'docker'"):
        PythonSandbox(isolation="docker")
    assert PythonSandbox(isolation="rlimits").max_calls is None
