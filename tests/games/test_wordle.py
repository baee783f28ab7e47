"""Wordle: feedback with repeated letters, parsing, win/loss, word lists, the fair oracle."""

from __future__ import annotations

import pytest

from agentgym.envs.games.wordle import (
    ALL_GREEN,
    OPENER,
    Wordle,
    answers_for,
    colours,
    score,
    valid_guesses,
)


def _env(secret: str, difficulty: str = "medium", **kwargs) -> Wordle:
    env = Wordle(difficulty, **kwargs)
    env.reset(seed=0)
    env.secret = secret
    return env


@pytest.mark.parametrize("guess, secret, expected", [
    ("crane", "crane", ["green"] * 5),
    # one E in ABIDE: only the first E of SPEED is yellow
    ("speed", "abide", ["grey", "grey", "yellow", "grey", "yellow"]),
    ("lolly", "hello", ["grey", "yellow", "green", "green", "grey"]),  # greens take the Ls first
    ("eerie", "three", ["yellow", "grey", "green", "grey", "green"]),
    ("aabbb", "bbaaa", ["yellow", "yellow", "yellow", "yellow", "grey"]),
    ("crane", "moist", ["grey"] * 5),
])
def test_feedback_marks_repeated_letters_like_wordle(guess, secret, expected):
    assert colours(score(guess, secret)) == expected


def test_feedback_is_shown_letter_by_letter():
    env = _env("abide")
    observation, reward, terminated, _, info = env.step("speed")
    assert observation.startswith("SPEED -> S:grey P:grey E:yellow E:grey D:yellow.")
    assert "5 guesses left" in observation
    assert (reward, terminated, info["error"]) == (0.0, False, None)


def test_win_ends_the_episode_with_outcome_one():
    env = _env("plant")
    env.step("crane")
    _, reward, terminated, _, info = env.step("PLANT")
    assert terminated and info["success"] and reward == 1.0


def test_loss_after_the_last_guess_reveals_the_word():
    env = _env("plant", "medium")
    for _ in range(5):
        assert not env.step("crane")[2]
    observation, reward, terminated, _, info = env.step("crane")
    assert terminated and not info["success"]
    assert info["reward_components"] == {"outcome": 0.0}
    assert "PLANT" in observation


@pytest.mark.parametrize("difficulty, guesses", [("easy", 8), ("medium", 6), ("hard", 6)])
def test_guess_budget_per_level(difficulty, guesses):
    env = _env("plant", difficulty)
    steps = 0
    terminated = False
    while not terminated:
        terminated = env.step("crane")[2]
        steps += 1
    assert steps == guesses


@pytest.mark.parametrize("action, guess", [
    ("crane", "crane"),
    ("I'll try CRANE now.", "crane"),  # capitals beat the five-letter words of the prose
    ("My guess: slate", "slate"),
    ("Maybe STARE... no, SLATE", "slate"),
])
def test_parser_finds_the_word_in_prose(action, guess):
    env = _env("plant")
    env.step(action)
    assert env.history[-1][0] == guess


@pytest.mark.parametrize("action", ["", "cat", "12345", "xqzvj", "!"])
def test_bad_words_are_invalid_and_cost_nothing(action):
    env = _env("plant")
    observation, _, terminated, _, info = env.step(action)
    assert info["error"] and observation.startswith("Invalid action")
    assert env.history == [] and not terminated


def test_word_lists():
    valid = valid_guesses()
    assert len(valid) > 10_000 and OPENER in valid
    common, hard = answers_for("medium"), answers_for("hard")
    assert answers_for("easy") == common and set(common) < set(hard)
    assert len(common) > 2000 and len(hard) > len(common) + 500
    for word in hard:
        assert len(word) == 5 and word.isascii() and word.islower() and word in valid


def test_dense_progress_is_the_share_of_answers_ruled_out():
    env = _env("plant", dense_reward=True)
    before = len(env.consistent_answers())
    _, _, _, _, info = env.step("crane")
    after = len(env.consistent_answers())
    assert info["reward_components"]["progress"] == pytest.approx(1 - after / before)
    assert 0 < info["reward_components"]["progress"] < 1
    assert "plant" in env.consistent_answers()


def test_consistent_answers_agree_with_all_feedback():
    env = _env("plant")
    env.step("crane")
    env.step("moist")
    remaining = env.consistent_answers()
    assert "plant" in remaining
    assert all(score(g, word) == code for g, code in env.history for word in remaining)


@pytest.mark.parametrize("difficulty", ["medium", "hard"])
def test_oracle_solves_spread_secrets_without_peeking(difficulty):
    """The oracle plays from feedback alone: it wins a spread of secrets in five guesses."""
    answers = answers_for(difficulty)
    for secret in answers[:: len(answers) // 12]:
        env = _env(secret, difficulty)
        for _ in range(5):
            _, _, terminated, _, info = env.step(env.oracle_action())
            assert info["error"] is None
            if terminated:
                break
        assert terminated and info["success"], f"oracle failed on {secret}"
        assert env.history[-1][1] == ALL_GREEN


def test_render_shows_the_board():
    env = _env("abide")
    env.step("speed")
    assert "S P E E D   - - Y - Y" in env.render_text()
