"""``render()`` ("ansi") and ``hint()`` before an environment's first ``reset()`` raise
:class:`NoEpisodeYet` (a ``ResetNeeded``) saying to reset first; every game raised an
``AttributeError`` about its board from inside instead."""

from __future__ import annotations

import pytest
from gymnasium.error import ResetNeeded

import agentgym
from agentgym.core import NoEpisodeYet


def _game_ids():
    from agentgym.registry import list_envs

    return sorted(info.id for info in list_envs("games"))


@pytest.mark.parametrize("env_id", _game_ids())
def test_render_and_hint_before_the_first_reset_say_to_reset(env_id):
    env = agentgym.make(env_id, render_mode="ansi")
    try:
        core = env.unwrapped
        for call in (env.render, lambda: core.hint(3), lambda: core.hint(1)):
            with pytest.raises(NoEpisodeYet, match=r"call reset\(\) before"):
                call()
        assert issubclass(NoEpisodeYet, ResetNeeded) and issubclass(NoEpisodeYet, AttributeError)
        env.reset(seed=0)
        assert isinstance(env.render(), str) and core.hint(1)
    finally:
        env.close()
