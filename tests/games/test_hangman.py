"""Hangman: reveals, lives, word guesses, parsing, word sets per level, the fair oracle."""

from __future__ import annotations

import pytest

from agentgym.envs.games.hangman import Hangman
from agentgym.envs.games.words import COMMON, RARE, load_words


def _env(secret: str, difficulty: str = "medium", **kwargs) -> Hangman:
    env = Hangman(difficulty, **kwargs)
    env.reset(seed=0)
    env.secret = secret
    return env


def test_a_right_letter_reveals_every_copy():
    env = _env("caravan")
    observation, reward, terminated, _, info = env.step("a")
    assert observation.startswith("Yes, a is in the word (3x): _ a _ a _ a _.")
    assert env.lives_left == 7 and (reward, terminated, info["error"]) == (0.0, False, None)


def test_a_wrong_letter_costs_a_life_and_is_listed():
    env = _env("caravan")
    observation, *_ = env.step("z")
    assert env.lives_left == 6 and env.misses == ["z"]
    assert "No, there is no z." in observation and "Lives left: 6" in observation
    assert "Misses: z" in env.render_text()


def test_completing_the_word_wins():
    env = _env("caravan")
    for letter in "acrv":
        assert not env.step(letter)[2]
    _, reward, terminated, _, info = env.step("n")
    assert terminated and info["success"] and reward == 1.0


def test_word_guesses():
    env = _env("caravan")
    observation, *_ = env.step("word: cabbage")
    assert env.lives_left == 6 and "not cabbage" in observation
    _, reward, terminated, _, info = env.step("The word is caravan")
    assert terminated and info["success"] and reward == 1.0


@pytest.mark.parametrize("difficulty, lives", [("easy", 8), ("medium", 7), ("hard", 6)])
def test_running_out_of_lives_loses(difficulty, lives):
    env = _env("caravan", difficulty)
    for letter in "bdefghijklmopq"[: lives - 1]:
        assert not env.step(letter)[2]
    observation, reward, terminated, _, info = env.step("z")
    assert terminated and not info["success"] and "caravan" in observation
    assert info["reward_components"] == {"outcome": 0.0}


@pytest.mark.parametrize("action, guess", [
    ("e", "e"), ("E", "e"), ("I guess the letter E", "e"), ("Let me try: r.", "r"),
    ("word: planets", "planets"), ("answer = planets", "planets"), ("planets", "planets"),
])
def test_parser(action, guess):
    env = _env("caravan")
    env.step(action)
    assert guess in env.guessed or guess in env.misses


@pytest.mark.parametrize("action, message", [
    ("", "one letter"), ("123", "one letter"), ("word: cat", "7 letters"),
    ("hello there", "one letter"),
])
def test_unparseable_actions_cost_nothing(action, message):
    env = _env("caravan")
    _, _, terminated, _, info = env.step(action)
    assert message in info["error"] and env.lives_left == 7 and not env.guessed and not terminated


def test_repeated_guesses_are_invalid():
    env = _env("caravan")
    env.step("z")
    env.step("word: cabbage")
    for action in ("z", "Z", "word: cabbage"):
        assert "already tried" in env.step(action)[4]["error"]
    assert env.lives_left == 5


@pytest.mark.parametrize("difficulty, word_list, low, high", [
    ("easy", COMMON, 8, 10), ("medium", COMMON, 7, 10), ("hard", RARE, 7, 10),
])
def test_secret_words_per_level(difficulty, word_list, low, high):
    env = Hangman(difficulty)
    source = set(load_words(word_list))
    assert len(env.words) > 5000
    assert all(low <= len(word) <= high and word in source for word in env.words)
    for seed in range(10):
        env.reset(seed=seed)
        assert env.secret in env.words


def test_consistent_words_follow_the_visible_pattern_only():
    env = _env("caravan")
    env.step("a")
    env.step("z")
    candidates = env.consistent_words()
    assert "caravan" in candidates and len(candidates) > 1
    for word in candidates:
        assert len(word) == 7 and "z" not in word
        assert [i for i, ch in enumerate(word) if ch == "a"] == [1, 3, 5]


def test_dense_progress_adds_up_to_one_on_a_win():
    env = _env("caravan", dense_reward=True)
    total = 0.0
    for action in ("a", "z", "n", "word: caravan"):
        total += env.step(action)[4]["reward_components"].get("progress", 0.0)
    assert total == pytest.approx(1.0)


def test_oracle_wins_spread_words_without_peeking():
    env = Hangman("medium")
    words = env.words
    for secret in words[:: len(words) // 40]:
        env = _env(secret, "medium")
        terminated = False
        while not terminated:
            _, _, terminated, _, info = env.step(env.oracle_action())
            assert info["error"] is None
        assert info["success"], f"oracle failed on {secret}"
