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


@pytest.mark.parametrize("options, missing", [
    ({"goal_column": 11, "ragged_columns": []}, "start_column"),
    ({"ragged_columns": []}, "start_column"),
    ({"start_column": 0}, "goal_column"),
])
def test_cliff_walking_a_hand_made_layout_without_its_start_or_goal_is_refused(options, missing):
    # without start_column, goal_column and ragged_columns were ignored without a word: the
    # episode had a random start, goal and ragged edge (Gymnasium's map asked for, another played)
    env = agentgym.make("games/CliffWalking-v0", difficulty="hard")
    with pytest.raises(agentgym.ConfigError, match=rf"options\['{missing}'\] is missing"):
        env.reset(seed=0, options=options)
    observation, _ = env.reset(seed=0, options={"start_column": 0, "goal_column": 11, "ragged_columns": []})
    assert observation.endswith("o o o\n@ C C C C C C C C C C G")


def test_minesweeper_hand_made_mines_are_not_promised_a_safe_first_reveal():
    # the instructions said 'The first reveal is always safe' and the first reveal, on a
    # hand-made mine, lost the game
    env = agentgym.make("games/Minesweeper-v0", difficulty="easy")
    _, info = env.reset(seed=0, options={"mines": [(1, 1), (1, 2), (1, 3)]})
    assert "first reveal" not in info["instructions"]
    observation, _, terminated, _, _ = env.step("reveal 1 1")
    assert terminated and "was a mine" in observation
    _, info = env.reset(seed=0)  # the level's boards: mines laid after the first reveal
    assert "The first reveal is always safe." in info["instructions"]


@pytest.mark.parametrize("desc", ["SFFG", "SFFFFFFG"])
def test_frozen_lake_a_map_given_as_one_string_is_refused_naming_the_option(desc):
    # the string was read character by character as the rows of a one-column lake: 'SFFG' was
    # played as four rows of one tile ('@', 'F', 'F', 'G' one under the other)
    env = agentgym.make("games/FrozenLake-v0", difficulty="easy")
    with pytest.raises(agentgym.ConfigError, match=r"options\['desc'\] must be a list of rows"):
        env.reset(seed=0, options={"desc": desc})
    observation, _ = env.reset(seed=0, options={"desc": [desc]})  # one row: the map meant
    assert observation.endswith(f"(you are at row 1, column 1)\n{' '.join('@' + desc[1:])}")


def test_tic_tac_toe_oracle_memo_stays_bounded_across_opponent_strengths():
    # the oracle's win chances were memoised per opponent strength without a bound: about
    # 2.8 MB more for every strength a process used (a curriculum over strengths grew without end)
    from agentgym.envs.games import tic_tac_toe
    from agentgym.envs.games.tic_tac_toe import TicTacToe

    moves = []
    for i in range(48):
        env = TicTacToe(opponent_strength=0.2 + i / 100)
        env.reset(seed=0, options={"moves": "51"})
        moves.append(env.oracle_action())
    assert tic_tac_toe._chances_to_move.cache_info().currsize <= 8192  # noqa: SLF001
    assert tic_tac_toe._chances_after.cache_info().currsize <= 8192  # noqa: SLF001
    again = TicTacToe(opponent_strength=0.2)  # its chances evicted and worked out anew: the same move
    again.reset(seed=0, options={"moves": "51"})
    assert again.oracle_action() == moves[0] and set(moves) <= set("2346789")


@pytest.mark.parametrize("env_id, option, options", [
    ("games/CliffWalking-v0", "start_column", {"start_column": False, "goal_column": 5}),
    ("games/CliffWalking-v0", "ragged_columns", {"start_column": 0, "goal_column": 5, "ragged_columns": [True]}),
    ("games/Taxi-v0", "state", {"state": (True, 0, 1, 2)}),
    ("games/Minesweeper-v0", "mines", {"mines": [(True, True), (1, 2), (1, 3)]}),
])
def test_a_hand_made_position_refuses_true_and_false_as_numbers(env_id, option, options):
    # True and False passed as the integers 1 and 0: a cliff start in column 0, a taxi on row 1,
    # a mine at (1, 1); a bool is never a row or column to a user (ConfigError, as for 1.0)
    env = agentgym.make(env_id, difficulty="easy")
    with pytest.raises(agentgym.ConfigError, match=rf"options\['{option}'\]"):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize("env_id, options, action, said", [
    ("games/TicTacToe-v0", {}, "５", "You marked 5 (row 2, column 2)."),
    ("games/TicTacToe-v0", {}, "row ２, column ３", "You marked 6 (row 2, column 3)."),
    ("games/ConnectFour-v0", {}, "４", "You dropped a disc in column 4."),
    ("games/ConnectFour-v0", {}, "column ٤", "You dropped a disc in column 4."),
    ("games/TowerOfHanoi-v0", {"start": "AAA"}, "move １ ３", "Moved disk 1 from A to C."),
])
def test_two_player_games_and_hanoi_read_other_scripts_digits(env_id, options, action, said):
    # '５' was refused with 'reply with a free cell: a number 1-9', which it is (fullwidth), as
    # Mastermind, GuessTheNumber, Minesweeper and Sudoku read such digits
    env = agentgym.make(env_id, difficulty="easy")
    env.reset(seed=0, options=options)
    observation, _, _, _, info = env.step(action)
    assert info["error"] is None and observation.startswith(said)


@pytest.mark.parametrize("env_id", ["games/GuessTheNumber-v0", "games/Wordle-v0", "games/TwentyQuestions-v0"])
def test_a_hidden_answer_before_the_first_reset_says_to_reset(env_id):
    # reference_answer read before reset() was "'Wordle' object has no attribute 'secret'"
    from agentgym.core import NoEpisodeYet

    env = agentgym.make(env_id).unwrapped
    with pytest.raises(NoEpisodeYet, match=r"call reset\(\) before reference_answer"):
        env.reference_answer
    assert getattr(env, "reference_answer", None) is None  # still an AttributeError to getattr
    env.reset(seed=0)
    assert env.reference_answer == str(env.secret)


@pytest.mark.parametrize("action", ["e - it's the most common letter", "e. I'm fairly sure", "My guess: e (don't laugh)",
                                    "Guess: e. It\u2019s common.", "e, since it couldn't hurt"])
def test_hangman_a_contraction_is_no_letter_guess(action):
    # the letter after the apostrophe was the last single letter: "e - it's ..." guessed s (a
    # life lost), "(don't laugh)" guessed t; a contraction as long as the secret would have been
    # a whole-word guess ("couldn't": 8 characters)
    env = agentgym.make("games/Hangman-v0", difficulty="easy")
    env.reset(seed=0)
    env.unwrapped.secret = "mountain"  # 8 letters, no e
    observation, _, _, _, info = env.step(action)
    assert info["error"] is None and observation.startswith("No, there is no e.")
    assert env.unwrapped.misses == ["e"] and env.unwrapped.guessed == {"e"}


@pytest.mark.parametrize("moves", ["12121213", "121212134"])
def test_connect_four_moves_played_past_a_win_end_the_game(moves):
    # X connects four in column 1 at move 7; the replay said 'move 8 is not legal' (a free
    # column), where TicTacToe says the moves end the game
    env = agentgym.make("games/ConnectFour-v0", difficulty="easy")
    with pytest.raises(ValueError, match=r"end the game at move 7"):
        env.reset(seed=0, options={"moves": moves})
