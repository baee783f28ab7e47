"""Round-14 probe of the trajectory writer: a file deleted mid-run is no silent sink."""

from __future__ import annotations

import shutil

import pytest

from agentgym.trajectory import Trajectory, TrajectoryWriter, read_trajectories


def test_a_trajectory_file_deleted_while_written_is_an_error_not_a_silent_sink(tmp_path):
    """A run whose output folder was removed mid-run kept writing into the deleted file: every
    later trajectory was lost and nothing said so."""
    folder = tmp_path / "run"
    writer = TrajectoryWriter(folder / "trajectories.jsonl")
    try:
        writer.write(Trajectory(env_id="games/Wordle-v0", seed=0))
        shutil.rmtree(folder)
        with pytest.raises(FileNotFoundError, match="deleted while it was being written"):
            writer.write(Trajectory(env_id="games/Wordle-v0", seed=1))
    finally:
        writer.close()


def test_a_file_still_in_place_keeps_taking_trajectories(tmp_path):
    path = tmp_path / "trajectories.jsonl"
    with TrajectoryWriter(path) as writer:
        for seed in range(3):
            writer.write(Trajectory(env_id="games/Wordle-v0", seed=seed))
    assert [t.seed for t in read_trajectories(path)] == [0, 1, 2]
