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


def test_frozen_lake_refuses_a_hand_made_map_whose_shortest_path_exceeds_the_step_budget():
    # the map was played: 'Reach the goal G in at most 30 steps' on a path of 31, so every
    # episode was lost, the oracle's included
    snake = ["SFFFFFFFF", "HHHHHHHHF", "FFFFFFFFF", "FHHHHHHHH",
             "FFFFFFFFF", "HHHHHHHHF", "FFFFFFFFF", "FHHHHHHHG"]
    easy = agentgym.make("games/FrozenLake-v0", difficulty="easy")
    with pytest.raises(ValueError, match=r"takes 31 steps, more than the 30"):
        easy.reset(seed=0, options={"desc": snake})
    hard = agentgym.make("games/FrozenLake-v0", difficulty="hard")  # 80 steps: playable
    hard.reset(seed=0, options={"desc": snake})
    steps = 0
    while True:
        _, reward, terminated, truncated, info = hard.step(hard.unwrapped.oracle_action())
        steps += 1
        if terminated or truncated:
            break
    assert info["success"] and steps == 31


@pytest.mark.parametrize("action", ["The word is a noun, so e", "Since the word is long, I will guess e",
                                    "word: planets? No. Answer: e"])
def test_hangman_a_word_is_phrase_in_the_reasoning_does_not_hijack_the_last_letter(action):
    # "the word is a noun" guessed a and "the word is long" was refused ('the word has 7
    # letters; long has 4'): a solve phrase anywhere beat the last letter of the reply
    env = agentgym.make("games/Hangman-v0", difficulty="medium").unwrapped
    env.reset(seed=0)
    env.secret = "caravan"
    _, _, _, _, info = env.step(action)
    assert info["error"] is None and env.guessed == {"e"} and env.misses == ["e"]


@pytest.mark.parametrize("mines, outside", [
    ([(1, 1), (1, 2), (9, 9), (1, 3)], r"\(9, 9\)"),
    ([(0, 1), (1, 2), (1, 3), (1, 4)], r"\(0, 1\)"),  # 0-based: every mine one row off
])
def test_minesweeper_refuses_hand_made_mines_outside_the_grid(mines, outside):
    # a pair outside the grid was dropped without a word, and the board was played with the rest
    env = agentgym.make("games/Minesweeper-v0", difficulty="easy")
    with pytest.raises(ValueError, match=outside + r".*outside the 5x5 grid"):
        env.reset(seed=0, options={"mines": mines})
    env.reset(seed=0, options={"mines": [(1, 2), (1, 3), (1, 4)]})
    assert [cell for cell, mine in enumerate(env.unwrapped.mines) if mine] == [1, 2, 3]


@pytest.mark.parametrize("env_id", ["games/TicTacToe-v0", "games/ConnectFour-v0"])
@pytest.mark.parametrize("moves", [[5, 1, 4], ("4", "4"), 4.0, None, b"44"])
def test_two_player_moves_option_of_the_wrong_type_is_refused_naming_the_option(env_id, moves):
    # the moves were read as the text of their repr: [5, 1, 4] was 'move 1 is not legal' (the
    # '['), 4.0 'move 2 is not legal' (the '.')
    env = agentgym.make(env_id, difficulty="easy")
    with pytest.raises(agentgym.ConfigError, match=r"options\['moves'\] must be a string"):
        env.reset(seed=0, options={"moves": moves})
    observation, _ = env.reset(seed=0, options={"moves": "41"})  # text, as documented
    assert observation.startswith("You play X.")
    env.reset(seed=0, options={"moves": 41})  # a whole number reads as its digits, as before


def test_frozen_lake_instructions_describe_a_hand_made_map_not_the_level_s_random_lake():
    # the instructions of Gymnasium's 8x8 map at easy said 'a random 4x4 lake: S top-left, G
    # bottom-right'; the map had 8 rows, and a hand-made S and G may sit anywhere
    env = agentgym.make("games/FrozenLake-v0", difficulty="easy")
    _, info = env.reset(seed=0, options={"desc": ["FFG", "SFF"]})
    assert "a 2x3 lake" in info["instructions"] and "random" not in info["instructions"]
    assert "S top-left" not in info["instructions"]
    _, info = env.reset(seed=0)  # the level's own lakes again
    assert "a random 4x4 lake: S top-left, G bottom-right" in info["instructions"]


def _walk_one_row_up(env):
    """The hint's route taken literally: step up off the bottom row, walk along that row to the
    goal's column, step down. Whether it ended on the goal without falling."""
    game = env.unwrapped
    cols, start, goal = game.cols, game.start, game.goal
    across = "right" if goal % cols > start % cols else "left"
    for move in ["up"] + [across] * abs(goal % cols - start % cols) + ["down"]:
        env.step(move)
    return game.falls == 0 and game.position == goal


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_cliff_walking_strategy_hint_does_not_lead_over_the_ragged_edge(difficulty):
    # every level said 'Step up off the bottom row first, walk along the row above the cliff':
    # at medium and hard the row one up holds cliff cells too, and that walk fell off
    env = agentgym.make("games/CliffWalking-v0", difficulty=difficulty)
    env.reset(seed=1)
    one_row_up_is_safe = _walk_one_row_up(env)
    env.reset(seed=1)
    hint = env.unwrapped.hint(2)
    assert one_row_up_is_safe == (difficulty == "easy")
    assert ("walk along the row above the cliff" in hint) == one_row_up_is_safe
    assert one_row_up_is_safe or "two rows" in hint


def test_cliff_walking_strategy_hint_follows_a_hand_made_ragged_edge():
    env = agentgym.make("games/CliffWalking-v0", difficulty="easy")
    env.reset(seed=0, options={"start_column": 0, "goal_column": 5, "ragged_columns": [2]})
    assert "two rows" in env.unwrapped.hint(2)
    env.reset(seed=0)
    assert "walk along the row above the cliff" in env.unwrapped.hint(2)


def _cycle_the_smallest_disk(env, direction, smallest_first, budget=500):
    """The textbook recipe for a full tower: the smallest disk every other move, always one
    way around the pegs, the only other legal move in between. Whether it solves the game."""
    game = env.unwrapped
    small_turn = smallest_first
    for _ in range(budget):
        pegs = game.pegs
        if small_turn:
            source = game.position[0]
            dest = (source + direction) % 3
        else:
            a, b = (peg for peg in range(3) if peg != game.position[0])
            if not pegs[a] and not pegs[b]:
                return False
            top_a, top_b = (pegs[a][-1] if pegs[a] else 99), (pegs[b][-1] if pegs[b] else 99)
            source, dest = (a, b) if top_a < top_b else (b, a)
        _, _, terminated, _, info = env.step(f"move {'ABC'[source]} {'ABC'[dest]}")
        if terminated:
            return info["success"]
        small_turn = not small_turn
    return False


def test_tower_of_hanoi_strategy_hint_holds_for_a_random_start():
    # the hint was the textbook recipe for a full tower (the smallest disk every other move, one
    # way round); from the game's random starts it reaches no solution (it cycles), e.g. "ACBBA"
    env = agentgym.make("games/TowerOfHanoi-v0", difficulty="hard", max_turns=None)
    solved = []
    for direction in (1, 2):
        for smallest_first in (True, False):
            env.reset(seed=0, options={"start": "ACBBA"})
            solved.append(_cycle_the_smallest_disk(env, direction, smallest_first))
    assert solved == [False] * 4
    env.reset(seed=0, options={"start": "ACBBA"})
    hint = env.unwrapped.hint(2)
    assert "every other move" not in hint and "largest disk" in hint


@pytest.mark.parametrize("action, said", [
    ("pick them up", "The passenger got in at R."),
    ("I am at R, so I pick the passenger up.", "The passenger got in at R."),
    ("Pick her up", "The passenger got in at R."),
    ("pick up", "The passenger got in at R."),
    ("up", "The taxi cannot go north"),
    ("pick them up, then go east", "The taxi drove east."),
])
def test_taxi_reads_pick_them_up_as_a_pickup(action, said):
    # the instructions say 'pick them up'; a reply saying so drove the taxi north (the 'up')
    env = agentgym.make("games/Taxi-v0", difficulty="easy")
    env.reset(seed=0, options={"state": (0, 0, 0, 1)})  # the taxi waits at R with the passenger
    observation, _, _, _, info = env.step(action)
    assert info["error"] is None and observation.startswith(said)


@pytest.mark.parametrize("action", ["drop them off", "Drop the passenger off here."])
def test_taxi_reads_drop_them_off_as_a_dropoff(action):
    # it was an invalid action: 'off' alone is no move word
    env = agentgym.make("games/Taxi-v0", difficulty="easy")
    env.reset(seed=0, options={"state": (0, 0, 0, 1)})
    env.step("pickup")
    while env.unwrapped.oracle_action() != "dropoff":  # drive to G, round the walls
        env.step(env.unwrapped.oracle_action())
    assert env.unwrapped.taxi == 4
    observation, _, terminated, _, info = env.step(action)
    assert info["error"] is None and terminated and info["success"]


@pytest.mark.parametrize("reply, said", [
    ("Absolutely not.", False), ("Certainly not!", False), ("Not true.", False), ("Indeed not", False),
    ("That is not correct.", False), ("That isn't true.", False),
    ("Absolutely!", True), ("Yes, not a doubt.", True), ("It is true.", True), ("Correct, it can.", True),
    ("No.", False), ("Nope, certainly not.", False), ("I'm not sure.", None),
])
def test_twenty_questions_reads_a_negated_yes_word_as_no(reply, said):
    # 'Absolutely not.' and 'Not true.' from a policy responder were read as yes (the first
    # yes-word decided): the agent was told 'Yes.' and the things still possible went wrong
    from agentgym.envs.games.twenty_questions import yes_or_no

    assert yes_or_no(reply) is said


def test_twenty_questions_a_policy_saying_certainly_not_answers_no():
    from agentgym.policies.scripted import ScriptedPolicy

    env = agentgym.make("games/TwentyQuestions-v0", difficulty="hard",
                        responder=ScriptedPolicy(["Certainly not."], then="yes")).unwrapped
    env.reset(seed=0)
    env.secret = "penguin"
    observation, *_ = env.step("Can it fly?")
    assert observation.startswith("Can it fly? No.")
    flying = sum("can_fly" in env.catalogue.yes[thing] for thing in env.candidates)
    assert env.remaining.bit_count() == len(env.candidates) - flying


@pytest.mark.parametrize("action", ["Move disk 1 to C", "move disk 1 to peg C", "Move disc 2 to peg B"])
def test_tower_of_hanoi_a_disk_number_is_not_read_as_a_peg(action):
    # 'Move disk 1 to C' with disk 1 on B moved disk 2 from A (peg 1) to C; 'disk 2 to peg B'
    # was 'the source and destination pegs must differ'
    env = agentgym.make("games/TowerOfHanoi-v0", difficulty="easy")
    env.reset(seed=0, options={"start": "BAA"})  # disk 1 on B, disks 2 and 3 on A
    observation, _, _, _, info = env.step(action)
    assert info["error"] is not None and "peg" in info["error"]
    assert env.unwrapped.position == [1, 0, 0]
    observation, *_ = env.step("Move disk 1 from B to C")  # the pegs named: the move
    assert observation.startswith("Moved disk 1 from B to C.")


@pytest.mark.parametrize("action", ["column 3, row 2", "col 3 row 2", "c3r2", "Column 3 and row 2."])
def test_tic_tac_toe_reads_column_before_row(action):
    # 'column 3, row 2' marked cell 2 (row 1, column 2): the two numbers were read as cells
    env = agentgym.make("games/TicTacToe-v0", difficulty="easy")
    env.reset(seed=0)
    observation, _, _, _, info = env.step(action)
    assert info["error"] is None and observation.startswith("You marked 6 (row 2, column 3).")


@pytest.mark.parametrize("action", ["１２３４", "١٢٣٤", "code: １ ２ ３ ４"])
def test_mastermind_reads_unicode_digits_as_the_colours_they_name(action):
    # fullwidth or Arabic-Indic digits 1-4 were refused with 'use only the digits 1 to 6', which
    # they were; GuessTheNumber, Minesweeper and Sudoku read such digits
    env = agentgym.make("games/Mastermind-v0", difficulty="medium")
    env.reset(seed=0)
    observation, _, _, _, info = env.step(action)
    assert info["error"] is None and observation.startswith("1234 -> ")
    assert env.unwrapped.history[-1][0] == "1234"


def test_hangman_a_whole_word_named_to_solve_beats_a_later_pronoun():
    # 'the word is caravan, I think' guessed the letter i once the last letter counted
    env = agentgym.make("games/Hangman-v0", difficulty="medium").unwrapped
    env.reset(seed=0)
    env.secret = "caravan"
    _, _, terminated, _, info = env.step("The word is caravan, I think")
    assert terminated and info["success"]
