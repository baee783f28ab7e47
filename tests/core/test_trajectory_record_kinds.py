"""Trajectory.from_dict refuses a record whose plain fields hold the wrong kind of value: a
damaged record is a ValueError naming the field when read, not a trajectory that breaks a
statistic or a report later."""

from __future__ import annotations

import json

import pytest

from agentgym.trajectory import Trajectory, Turn


def record() -> dict:
    trajectory = Trajectory(env_id="games/Wordle-v0", seed=3, success=True, terminated=True, created_at="2026-12-07",
                            turns=[Turn(0, "guess a word", "crane", reward=1.0, finish_reason="stop")])
    return json.loads(json.dumps(trajectory.to_dict()))


def test_a_well_formed_record_reads_back_equal():
    assert Trajectory.from_dict(record()) == Trajectory.from_dict(record())
    assert Trajectory.from_dict(record()).success is True


@pytest.mark.parametrize("field, value, words", [
    ("success", None, "success must be true or false"),
    ("terminated", 1, "terminated must be true or false"),
    ("error", 5, "error must be text or null"),
    ("env_id", ["games"], "env_id must be text or null"),
    ("seed", "3", "seed must be an integer or null"),
    ("seed", True, "seed must be an integer or null"),
    ("instructions", None, "instructions must be text"),
    ("metadata", [], "metadata must be an object"),
    ("turns", {}, "turns must be a list"),
    ("prompt_length", -1, "prompt_length must be a count"),
    ("token_mismatches", 1.5, "token_mismatches must be a count"),
])
def test_a_trajectory_field_of_the_wrong_kind_is_a_damaged_record(field, value, words):
    damaged = {**record(), field: value}
    with pytest.raises(ValueError, match=f"a trajectory's {words}"):
        Trajectory.from_dict(damaged)


@pytest.mark.parametrize("field, value, words", [
    ("observation", None, "observation must be text"),
    ("action", 7, "action must be text"),
    ("index", -2, "index must be a count"),
    ("error", {"x": 1}, "error must be text or null"),
    ("info", "x", "info must be an object"),
    ("finish_reason", 0, "finish_reason must be text or null"),
])
def test_a_turn_field_of_the_wrong_kind_is_a_damaged_record(field, value, words):
    damaged = record()
    damaged["turns"][0][field] = value
    with pytest.raises(ValueError, match=f"a turn's {words}"):
        Trajectory.from_dict(damaged)


def test_a_record_of_the_defaults_reads_back():
    empty = json.loads(json.dumps(Trajectory().to_dict()))
    assert Trajectory.from_dict(empty) == Trajectory(created_at=empty["created_at"])
