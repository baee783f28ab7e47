"""Defects found by a third round of exploratory testing of the games: hand-made positions
given to reset(options=...)."""

from __future__ import annotations

import pytest

import agentgym

_CLIFF = {"start_column": 0, "goal_column": 5}


@pytest.mark.parametrize("option, options", [
    ("start_column", {"start_column": 1.0, "goal_column": 5}),
    ("goal_column", {"start_column": 0, "goal_column": "5"}),
    ("ragged_columns", {**_CLIFF, "ragged_columns": [2.0]}),
    ("ragged_columns", {**_CLIFF, "ragged_columns": 5}),
])
def test_a_cliff_layout_of_the_wrong_type_is_refused_naming_the_option(option, options):
    # 1.0 passed the range check (1.0 in range(6)) and indexed the grid with a float; a number
    # for ragged_columns was 'int object is not iterable': TypeErrors from inside the game
    env = agentgym.make("games/CliffWalking-v0", difficulty="easy")
    with pytest.raises(agentgym.ConfigError, match=rf"options\['{option}'\]"):
        env.reset(seed=0, options=options)
    observation, _ = env.reset(seed=0, options={**_CLIFF, "ragged_columns": [2]})
    assert "S" in observation and env.step(env.unwrapped.oracle_action())[4]["error"] is None


@pytest.mark.parametrize("env_id, moves, bad_move", [
    ("games/ConnectFour-v0", "9", 1),
    ("games/ConnectFour-v0", "1111111", 7),
    ("games/TicTacToe-v0", "0", 1),
    ("games/TicTacToe-v0", "121", 3),
])
def test_a_replayed_move_that_is_not_legal_is_named_before_whose_turn_it_leaves(env_id, moves, bad_move):
    # an odd number of moves was refused first as leaving the opponent to move, whatever the moves
    env = agentgym.make(env_id, difficulty="easy")
    with pytest.raises(ValueError, match=rf"move {bad_move} is not legal"):
        env.reset(seed=0, options={"moves": moves})
    with pytest.raises(ValueError, match="must leave the agent"):
        env.reset(seed=0, options={"moves": "123"})


@pytest.mark.parametrize("state", [(1.9, 0, 0, 1), ("1", "2", "0", "1"), "0001"])
def test_a_taxi_state_of_non_integers_is_refused_not_truncated(state):
    # int() truncated 1.9 to row 1 and read digit strings: a state the caller did not write
    env = agentgym.make("games/Taxi-v0", difficulty="easy")
    with pytest.raises(agentgym.ConfigError, match=r"options\['state'\] must be four integers"):
        env.reset(seed=0, options={"state": state})
    env.reset(seed=0, options={"state": (1, 2, 0, 1)})
    assert env.unwrapped.taxi == 1 * 5 + 2
