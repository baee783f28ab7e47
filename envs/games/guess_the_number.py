"""Guess the number: find a secret integer from "higher" / "lower" hints."""

from __future__ import annotations

import random
import re
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import HiddenAnswerGame

# A number, with its decimals when it has some ("12.5" is one number, not a guess of 5) and its
# thousands separators ("1,000" is 1000, not a guess of 0; "3,5" stays two numbers).
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")
# difficulty -> (highest number, guesses allowed); binary search needs ceil(log2(high)) guesses.
_LEVELS = {"easy": (20, 8), "medium": (100, 10), "hard": (1000, 14)}


def _below(rng: random.Random, n: int) -> int:
    """``rng.randrange(n)`` for a positive ``n``: the same number from the same state, drawn as
    ``random.Random`` draws it (``getrandbits`` of ``n``'s bit length until one is below ``n``)
    without the argument checks that cost a reset more than the draw."""
    bits = n.bit_length()
    drawn = rng.getrandbits(bits)
    while drawn >= n:
        drawn = rng.getrandbits(bits)
    return drawn


class GuessTheNumber(HiddenAnswerGame):
    """Find a secret integer between 1 and N (20, 100 or 1000) in a limited number of guesses.

    Action: a number (the last number in the text counts; ``12.0`` is 12, ``1,000`` is 1000, a
    decimal such as ``12.5`` is refused). Reward: ``outcome`` 1 on a win; with ``dense_reward``, ``progress``
    is the fraction by which the guess shrank the interval that can still hold the secret.
    """

    strategy_hint = "Halve what is still possible: guess the middle of the range the feedback leaves."

    secret_stub = "The secret number is "

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.high, self.max_guesses = _LEVELS[self.difficulty]
        self.instructions = (
            f"I am thinking of a whole number between 1 and {self.high}. Guess it in at most "
            f"{self.max_guesses} guesses. After each guess I say whether the secret is higher or "
            "lower. Reply with a single number, e.g. 7."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        self.secret = 1 + _below(self.rng, self.high)  # rng.randint(1, high), drawn the same way
        self.low_bound, self.high_bound = 1, self.high
        self.guesses = 0
        return f"Guess a number between 1 and {self.high}. You have {self.max_guesses} guesses."

    def play(self, action: str) -> Feedback:
        if action.isdecimal():  # a bare number, the usual reply: it is its own last number
            number = whole = action
        else:
            found = _NUMBER.findall(action)
            if not found:
                raise InvalidAction(f"reply with a number between 1 and {self.high}.")
            number = found[-1]
            whole, _, fraction = number.replace(",", "").partition(".")
            if fraction.strip("0"):
                raise InvalidAction(f"{number[:20]} is not a whole number; guess one between 1 and {self.high}.")
        guess = int(whole) if len(whole) < 12 else -1
        if not 1 <= guess <= self.high:
            raise InvalidAction(f"{number[:20]} is not between 1 and {self.high}.")
        self.guesses += 1
        secret, low, high = self.secret, self.low_bound, self.high_bound
        if guess == secret:
            return Feedback(f"{guess} is correct! You found it in {self.guesses} guesses.",
                            {"outcome": 1.0}, terminated=True, success=True)
        if guess < secret:  # narrow the interval that can still hold the secret
            hint = "higher"
            if guess >= low:
                self.low_bound = guess + 1
        else:
            hint = "lower"
            if guess <= high:
                self.high_bound = guess - 1
        rewards = {}
        if self.dense_reward:
            rewards["progress"] = 1.0 - (self.high_bound - self.low_bound + 1) / (high - low + 1)
        left = self.max_guesses - self.guesses
        if left == 0:
            return Feedback(f"{guess} is wrong and you have no guesses left. You lose.",
                            {"outcome": 0.0, **rewards}, terminated=True)
        return Feedback(f"The secret number is {hint} than {guess}. {left} guesses left.", rewards)

    def random_action(self, rng: random.Random) -> str:
        return str(1 + int(rng.random() * self.high))  # rng.randint is several times slower

    def oracle_action(self) -> str:
        """Binary search over the interval that can still hold the secret."""
        return str((self.low_bound + self.high_bound) // 2)

    def render_text(self) -> str:
        return (f"GuessTheNumber 1..{self.high}: {self.guesses}/{self.max_guesses} guesses, "
                f"secret in [{self.low_bound}, {self.high_bound}]")
