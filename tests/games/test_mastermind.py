"""Mastermind: peg scoring, code sets per level, parsing, win/loss, the fair code breaker."""

from __future__ import annotations

import pytest

from agentgym.envs.games.mastermind import Mastermind, all_codes, pegs


def _env(secret: str, difficulty: str = "medium", **kwargs) -> Mastermind:
    env = Mastermind(difficulty, **kwargs)
    env.reset(seed=0)
    env.secret = secret
    return env


@pytest.mark.parametrize("guess, secret, expected", [
    ("1234", "1234", (4, 0)),
    ("1234", "4321", (0, 4)),
    ("1122", "1212", (2, 2)),
    ("1111", "1222", (1, 0)),  # the other 1s find no unmatched 1 in the code
    ("1123", "3211", (0, 4)),
    ("1122", "3456", (0, 0)),
    ("11223", "31122", (2, 3)),
])
def test_pegs(guess, secret, expected):
    assert pegs(guess, secret) == expected


@pytest.mark.parametrize("difficulty, count, length, repeats", [
    ("easy", 360, 4, False), ("medium", 1296, 4, True), ("hard", 32768, 5, True),
])
def test_secret_sets_per_level(difficulty, count, length, repeats):
    env = Mastermind(difficulty)
    assert len(env.secrets) == count and env.length == length
    assert any(len(set(code)) < len(code) for code in env.secrets) == repeats
    for seed in range(20):
        env.reset(seed=seed)
        assert env.secret in env.secrets


def test_feedback_text_and_budget():
    env = _env("1212")
    observation, reward, terminated, _, info = env.step("1122")
    assert observation == "1122 -> 2 black, 2 white. 9 guesses left."
    assert (reward, terminated, info["error"]) == (0.0, False, None)
    for _ in range(8):
        assert not env.step("3456")[2]
    observation, reward, terminated, _, info = env.step("3456")
    assert terminated and not info["success"] and "1212" in observation
    assert info["reward_components"] == {"outcome": 0.0}


def test_breaking_the_code_wins():
    env = _env("1212")
    _, reward, terminated, _, info = env.step("My guess is 1 2 1 2")
    assert terminated and info["success"] and reward == 1.0


@pytest.mark.parametrize("action, code", [
    ("1234", "1234"), ("1 2 3 4", "1234"), ("1,2,3,4", "1234"), ("guess 3: 6 6 5 1", "6651"),
])
def test_parser(action, code):
    env = _env("1212")
    env.step(action)
    assert env.history[-1][0] == code


@pytest.mark.parametrize("action, message", [
    ("123", "4 digits"), ("12345", "4 digits"), ("1237", "digits 1 to 6"),
    ("red blue", "code of 4"),
])
def test_invalid_codes_cost_nothing(action, message):
    env = _env("1212")
    observation, _, terminated, _, info = env.step(action)
    assert message in info["error"] and not terminated and env.history == []


def test_easy_guesses_may_repeat_colours():
    env = _env("1234", "easy")
    assert env.step("1111")[4]["error"] is None


def test_dense_progress_is_the_share_of_codes_ruled_out():
    env = _env("1212", dense_reward=True)
    _, _, _, _, info = env.step("1122")
    remaining = [code for code in all_codes(4, 6) if pegs("1122", code) == (2, 2)]
    assert env.consistent_codes() == remaining
    assert info["reward_components"]["progress"] == pytest.approx(1 - len(remaining) / 1296)


@pytest.mark.parametrize("difficulty, budget", [("easy", 10), ("medium", 10)])
def test_oracle_breaks_spread_codes_without_peeking(difficulty, budget):
    secrets = Mastermind(difficulty).secrets
    for secret in secrets[:: len(secrets) // 25]:
        env = _env(secret, difficulty)
        for _ in range(budget):
            _, _, terminated, _, info = env.step(env.oracle_action())
            assert info["error"] is None
            if terminated:
                break
        assert info["success"], f"oracle failed on {secret}"


def test_render_shows_the_pegs():
    env = _env("1212")
    env.step("1122")
    env.step("3456")
    assert env.render_text().splitlines()[1:] == ["1 1 2 2   BBWW", "3 4 5 6   -"]
