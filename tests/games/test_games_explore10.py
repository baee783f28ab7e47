"""Defects found by the tenth round of exploratory testing of the games."""

from __future__ import annotations

import pytest

import agentgym


@pytest.mark.parametrize("action", ["r2c3", "R2C3", "r2 c3", "R2, C3", "row 2 and column 3", "Row 2 and col 3."])
def test_tic_tac_toe_reads_row_and_column_abbreviated_or_joined_by_and(action):
    # 'r2c3' marked cell 3 (row 1, column 3): the row and column were read as two cell numbers
    env = agentgym.make("games/TicTacToe-v0", difficulty="easy")
    env.reset(seed=0)
    observation, _, _, _, info = env.step(action)
    assert info["error"] is None
    assert observation.startswith("You marked 6 (row 2, column 3).")
