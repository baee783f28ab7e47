"""Defects found by the fifteenth round of exploratory testing of the games."""

from __future__ import annotations

import pytest

import agentgym


@pytest.mark.parametrize("action", ["Move disk #2 to C", "move disk  2 to C", "Move disk no. 2 to C",
                                    "Move disk number 2 to C", "Move Disk #1 to peg C"])
def test_tower_of_hanoi_a_disk_number_written_with_hash_no_or_blanks_is_not_read_as_a_peg(action):
    # 'Move disk #2 to C' moved disk 1 from B (peg 2) to C, 'Move Disk #1 to peg C' disk 2 from
    # A: only 'disk N' with one blank was known to name a disk
    env = agentgym.make("games/TowerOfHanoi-v0", difficulty="easy")
    env.reset(seed=0, options={"start": "BAA"})  # disk 1 on B, disks 2 and 3 on A
    _, _, _, _, info = env.step(action)
    assert info["error"] is not None and "peg" in info["error"]
    assert env.unwrapped.position == [1, 0, 0]
    observation, *_ = env.step("Move disk #2 from A to C")  # the pegs named: the move
    assert observation.startswith("Moved disk 2 from A to C.")

