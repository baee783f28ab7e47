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


def _unique(number: int):
    from agentgym.synthetic.buffer import Transition

    return Transition(Context(ENV, f"task w{number}a w{number}b", (), f"act w{number}c"), f"obs {number}", 0.0, False)


def test_a_long_online_run_keeps_the_vocabulary_of_the_transitions_held_not_of_every_one_seen() -> None:
    buffer = ReplayBuffer(capacity=50)
    for number in range(20_000):  # three words no other transition has, each
        buffer.add_transitions([_unique(number)])
    assert len(buffer) == 50 and buffer.seen == 20_000
    held_words = {w for t in buffer.transitions() for w in t.context.words()}
    assert len(buffer._vocabulary) <= 2 * len(held_words) + 4096  # bounded by what is held, not seen
    fresh = ReplayBuffer(capacity=50)
    fresh.add_transitions(buffer.transitions())
    for query in ("task w19990a", "act w19999c w19975b", "nothing in common"):
        context = Context(ENV, query, (), "act")
        assert buffer.scored(context, 5) == fresh.scored(context, 5)  # the same retrieval as before


def test_a_synthetic_environments_episodes_are_synthetic_transitions_unless_told_otherwise(tmp_path) -> None:
    from agentgym.trajectory import TrajectoryWriter

    dreamt = _trajectory(2)
    dreamt.env_id, dreamt.metadata["env_kwargs"] = "synthetic/Experience-v0", {"env_id": ENV}
    buffer = ReplayBuffer()
    buffer.add([dreamt, _trajectory(3)])  # as rollout(..., on_episode=buffer.add_trajectory) would
    assert buffer.counts() == {"source:synthetic": 1, "source:real": 1, f"env:{ENV}": 2}
    context = Context(ENV, "first", (), "act")
    assert [t.task_id for t in buffer.similar(context, 5)] == ["t3"]  # a made-up step is no real example
    with TrajectoryWriter(tmp_path / "run.jsonl") as writer:
        writer.write(dreamt)
    assert ReplayBuffer.from_jsonl(tmp_path / "run.jsonl").counts()["source:synthetic"] == 1
    buffer.add(dreamt, source="real")  # said explicitly: as said
    assert buffer.counts()["source:real"] == 2
