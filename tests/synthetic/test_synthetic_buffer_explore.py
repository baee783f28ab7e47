"""ReplayBuffer as a demanding user calls it: one source named as a plain string, things that are
not trajectories."""

from __future__ import annotations

import pytest

from agentgym.core import ConfigError
from agentgym.synthetic import ReplayBuffer
from agentgym.synthetic.buffer import Context
from agentgym.trajectory import Trajectory, Turn

ENV = "games/X-v0"


def _trajectory(number: int) -> Trajectory:
    turns = [Turn(0, f"first {number}", f"act {number}", reward=1.0)]
    return Trajectory(env_id=ENV, task_id=f"t{number}", turns=turns, terminated=True,
                      messages=[{"role": "assistant", "content": f"act {number}"}, {"role": "user", "content": "end"}])


def test_a_source_named_as_a_plain_string_is_that_source_and_an_unknown_one_is_refused() -> None:
    buffer = ReplayBuffer()
    buffer.add([_trajectory(0)], source="real")
    buffer.add([_trajectory(1)], source="synthetic")
    context = Context(ENV, "first", (), "act")
    assert [t.task_id for t in buffer.similar(context, 5, sources="synthetic")] == ["t1"]
    assert [t.task_id for t in buffer.similar(context, 5, sources="real")] == ["t0"]
    with pytest.raises(ConfigError, match="source must be one of real, synthetic, got 'reall'"):
        buffer.similar(context, 5, sources=["reall"])


@pytest.mark.parametrize("given", [["not a trajectory"], {"env_id": ENV}, [_trajectory(0), 7]])
def test_adding_what_is_not_a_trajectory_is_a_config_error_that_names_its_type(given) -> None:
    buffer = ReplayBuffer()
    with pytest.raises(ConfigError, match="ReplayBuffer.add: expected Trajectory objects, got (str|int)"):
        buffer.add(given)
    assert len(buffer) == 0  # all or nothing
