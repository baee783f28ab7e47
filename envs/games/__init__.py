"""Text games: offline, seeded, with difficulty levels, oracles and optional dense rewards.

Every game registers as ``games/<Name>-v0``. Games with a hidden answer (the secret number,
word, code or object) carry the ``hidden-answer`` tag and expose it to reward providers through
``reference_answer`` and ``answer_stub``.
"""

from __future__ import annotations

from agentgym.registry import register
from agentgym.suites import register_suite

# id, module:Class, turn budget, tags, description
_GAMES = [
    ("GuessTheNumber", "guess_the_number:GuessTheNumber", 20, ("hidden-answer",),
     "Find a secret number from higher/lower hints."),
    ("Wordle", "wordle:Wordle", 12, ("hidden-answer", "word"),
     "Find a secret five-letter word from letter-by-letter feedback (6 guesses, 8 on easy)."),
    ("Mastermind", "mastermind:Mastermind", 20, ("hidden-answer",),
     "Break a secret colour code from black/white peg feedback."),
    ("Hangman", "hangman:Hangman", 30, ("hidden-answer", "word"),
     "Reveal a secret word letter by letter before the lives run out."),
    ("TwentyQuestions", "twenty_questions:TwentyQuestions", 25, ("hidden-answer",),
     "Identify a hidden object by asking yes/no questions about its attributes."),
    ("Minesweeper", "minesweeper:Minesweeper", 100, ("grid",),
     "Reveal every safe cell of a mined grid using neighbour counts."),
    ("Sokoban", "sokoban:Sokoban", 100, ("grid", "planning"),
     "Push every box onto a goal in a warehouse (every level is solvable)."),
    ("2048", "game_2048:Game2048", 2000, ("grid", "stochastic"),
     "Slide and merge tiles to reach the target tile."),
    ("TowerOfHanoi", "tower_of_hanoi:TowerOfHanoi", 300, ("planning",),
     "Move a stack of disks to the last peg, never a larger disk on a smaller."),
    ("Sudoku", "sudoku:Sudoku", 100, ("grid", "logic"),
     "Fill the grid so that each row, column and box holds each digit once."),
    ("FrozenLake", "frozen_lake:FrozenLake", 100, ("grid", "gymnasium-toy-text"),
     "Walk across a frozen lake to the goal without falling into a hole."),
    ("CliffWalking", "cliff_walking:CliffWalking", 100, ("grid", "gymnasium-toy-text"),
     "Walk from start to goal along a cliff edge without falling off."),
    ("Taxi", "taxi:Taxi", 100, ("grid", "gymnasium-toy-text"),
     "Pick up a passenger and drop them at their destination."),
    ("TicTacToe", "tic_tac_toe:TicTacToe", 10, ("two-player",),
     "Get three in a row against a built-in opponent."),
    ("ConnectFour", "connect_four:ConnectFour", 30, ("two-player",),
     "Connect four discs against a built-in opponent."),
]

for _name, _target, _turns, _tags, _description in _GAMES:
    register(
        f"games/{_name}-v0",
        f"agentgym.envs.games.{_target}",
        max_turns=_turns,
        tags=_tags,
        description=_description,
    )

GAME_IDS = tuple(f"games/{name}-v0" for name, *_ in _GAMES)

register_suite(
    "games-v0",
    [(env_id, range(10), {"difficulty": level}) for env_id in GAME_IDS for level in ("easy", "medium", "hard")],
    "Every game at every difficulty, ten seeds each.",
)
register_suite(
    "quick-v0",
    [(env_id, range(3), {"difficulty": "easy"}) for env_id in (
        "games/GuessTheNumber-v0", "games/Wordle-v0", "games/TicTacToe-v0", "games/FrozenLake-v0")],
    "Four easy games, three seeds each: a smoke test of an agent in a minute.",
)
