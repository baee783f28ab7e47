"""Defects found by exploratory testing of MiniWoB++, each pinned by a test: the oracle asked
before the first episode says that no episode runs, not that the task has no oracle."""

from __future__ import annotations

import pytest

import agentgym
import agentgym.envs.web.miniwob  # noqa: F401  (registers web/miniwob.*)


@pytest.mark.parametrize("env_id", ["web/miniwob.click-button-v0", "web/MiniWoB-v0"])
def test_the_oracle_before_reset_asks_for_a_reset(env_id):
    env = agentgym.make(env_id)  # no episode: no browser is started
    try:
        with pytest.raises(RuntimeError, match=r"no episode is running; call reset\(\) first"):
            env.unwrapped.oracle_action()
    finally:
        env.close()


def test_a_task_without_an_oracle_still_says_so():
    env = agentgym.make("web/miniwob.drag-cube-v0")
    try:
        env.unwrapped.task = env.unwrapped.fixed_task  # as reset() draws it, without a browser
        with pytest.raises(NotImplementedError, match="'drag-cube' has no scripted oracle"):
            env.unwrapped.oracle_action()
    finally:
        env.close()
