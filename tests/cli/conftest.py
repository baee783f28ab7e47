"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def registered_for_the_test():
    """``agentgym.register`` for one test: the ids it registered are gone again after it."""
    import gymnasium

    import agentgym
    from agentgym import registry

    ids = []

    def register(env_id, *args, **kwargs):
        ids.append(env_id)
        return agentgym.register(env_id, *args, **kwargs)

    yield register
    for env_id in ids:
        registry._ENVS.pop(env_id, None)
        gymnasium.registry.pop(env_id, None)
