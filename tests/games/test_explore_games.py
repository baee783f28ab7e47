"""Defects found by exploratory testing of the games from a user's side: how the games read
moves written the way models write them."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.envs.games import GAME_IDS

LEVELS = ("easy", "medium", "hard")


def _text(observation):
    return observation["text"] if isinstance(observation, dict) else observation


@pytest.mark.parametrize("wrap", ["{}.", "My move: {}.", "I play {}. Done"])
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("env_id", GAME_IDS)
def test_a_move_at_the_end_of_a_sentence_is_the_move(env_id, level, wrap):
    """A move followed by a full stop plays exactly like the bare move (a period after a number
    is the end of a sentence, not a decimal point)."""
    bare, prose = agentgym.make(env_id, difficulty=level), agentgym.make(env_id, difficulty=level)
    bare.reset(seed=1)
    prose.reset(seed=1)
    for _ in range(4):
        move = bare.unwrapped.oracle_action()
        expected, got = bare.step(move), prose.step(wrap.format(move))
        assert got[4]["error"] is None, f"{wrap.format(move)!r}: {got[4]['error']}"
        assert _text(got[0]) == _text(expected[0])
        if expected[2] or expected[3]:
            break


@pytest.mark.parametrize("action", ["2 2.", "I play 2,2.", "(2, 2)."])
def test_tic_tac_toe_row_and_column_before_a_full_stop_is_that_cell(action):
    env = agentgym.make("games/TicTacToe-v0", difficulty="easy")
    env.reset(seed=0)
    observation, *_, info = env.step(action)
    assert info["error"] is None
    assert observation.startswith("You marked 5 (row 2, column 2)")


@pytest.mark.parametrize("action", ["12.5", "my guess is 3.75", "1.5"])
def test_guess_the_number_refuses_a_decimal_instead_of_reading_its_fraction(action):
    """``12.5`` is no whole number: it is refused, not read as the guess 5 (a win when the
    secret is 5)."""
    env = agentgym.make("games/GuessTheNumber-v0", difficulty="easy")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(action)
    assert info["error"] is not None and "whole number" in info["error"]
    assert not terminated and reward == 0.0
    assert env.unwrapped.guesses == 0


@pytest.mark.parametrize("env_id, option, value", [
    ("games/FrozenLake-v0", "desc", None),
    ("games/FrozenLake-v0", "desc", 5),
    ("games/Minesweeper-v0", "mines", 5),
    ("games/Minesweeper-v0", "mines", [1, 2, 3]),
    ("games/Minesweeper-v0", "mines", [("a", "b"), (1, 1), (2, 2)]),
    ("games/Minesweeper-v0", "mines", [(1.5, 2), (1, 1), (3, 3)]),
    ("games/Sokoban-v0", "level", None),
    ("games/Sokoban-v0", "level", ["#####", "#@$.#", "#####"]),
    ("games/Sokoban-v0", "level", ""),
    ("games/Taxi-v0", "state", 5),
    ("games/Taxi-v0", "state", [(0, 0), (1, 1), (2, 2), (3, 3)]),
])
def test_a_hand_made_board_of_the_wrong_type_is_refused_naming_the_option(env_id, option, value):
    """reset(options=...) with a board of the wrong shape raises ConfigError (a ValueError)
    that names the option, not an AttributeError or TypeError from inside the game; the
    environment then resets normally."""
    env = agentgym.make(env_id, difficulty="easy")
    with pytest.raises(agentgym.ConfigError, match=rf"options\['{option}'\]"):
        env.reset(seed=0, options={option: value})
    env.reset(seed=0)
    assert env.step(env.unwrapped.oracle_action())[4]["error"] is None


_LONG_RUNS = {  # text a stuck model may write: a move's start, then a long run of blanks
    "digit, blanks": "1" + " " * 19_990 + "x",
    "two digits, blanks": "1 1" + " " * 19_990 + "x",
    "label, digit, blanks": "c1" + " " * 19_990 + "x",
    "row label, blanks": "row" + " " * 19_990 + "x",
    "peg, blanks": "a" + " " * 19_990 + "x",
    "paren, blanks": "(" + " " * 19_990 + "x",
    "digit, tabs": "1\t" * 9_995,
}


@pytest.mark.parametrize("pattern", list(_LONG_RUNS))
@pytest.mark.parametrize("env_id", ["games/Minesweeper-v0", "games/Sudoku-v0", "games/TicTacToe-v0",
                                    "games/TowerOfHanoi-v0"])
def test_a_long_run_of_blanks_is_read_in_linear_time(env_id, pattern):
    """An action of max_action_chars (20,000) characters is read at once: the move patterns
    never try every split of a run of blanks between two of their optional parts (that took
    from 9 seconds to minutes per step)."""
    import time

    env = agentgym.make(env_id, difficulty="hard")
    env.reset(seed=0)
    action = _LONG_RUNS[pattern]
    assert len(action) <= env.unwrapped.max_action_chars
    started = time.perf_counter()
    env.step(action)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("action, guess", [("7.0", 7), ("my guess is 12.00", 12), ("3.", 3)])
def test_guess_the_number_reads_a_whole_number_written_with_decimals(action, guess):
    env = agentgym.make("games/GuessTheNumber-v0", difficulty="easy")
    env.reset(seed=0)
    observation, *_, info = env.step(action)
    assert info["error"] is None and env.unwrapped.guesses == 1
    assert str(guess) in observation
