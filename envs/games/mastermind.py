"""Mastermind: break a secret code of coloured pegs (digits) from black/white peg feedback.

Levels (pegs, colours, whether the secret may repeat a colour, guesses):

* easy: 4 pegs, 6 colours, no repeats (360 possible codes), 10 guesses;
* medium: 4 pegs, 6 colours, repeats allowed (1,296 codes, the classic game), 10 guesses;
* hard: 5 pegs, 8 colours, repeats allowed (32,768 codes), 12 guesses.

A guess may always repeat colours. The oracle is a fair code breaker: it keeps the codes
consistent with all feedback so far and plays the one that leaves the fewest on average
(Knuth's 1122 opening on the classic board); it never looks at the secret. Measured on every
code, it needs 4.1 guesses on average (6 at most) at easy and 4.5 (6 at most) at medium; on 512
codes spread over the hard board, 5.3 (8 at most).
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
from collections import Counter
from operator import eq
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import HiddenAnswerGame

# difficulty -> (pegs, colours, repeats allowed in the secret, guesses allowed)
_LEVELS = {
    "easy": (4, 6, False, 10),
    "medium": (4, 6, True, 10),
    "hard": (5, 8, True, 12),
}
_OPENERS = {"easy": "1234", "medium": "1122", "hard": "11223"}
# Pairs of (guess, code) the oracle scores per move: keeps one move under ~50 ms.
_SOLVER_BUDGET = 20_000
# Digits, possibly spaced or comma-separated ("1 2 3 4", "1,2,3,4"); the last run counts.
_DIGITS = re.compile(r"\d(?:[ \t,;-]*\d)*")
_NOT_DIGIT = re.compile(r"\D")


def pegs(guess: str, secret: str) -> tuple[int, int]:
    """(black, white): black pegs count positions with the right colour; white pegs count the
    remaining colour matches (each secret peg matched at most once)."""
    black = sum(map(eq, guess, secret))
    common = sum(min(guess.count(colour), secret.count(colour)) for colour in set(guess))
    return black, common - black


@functools.cache
def all_codes(length: int, colours: int, repeats: bool = True) -> tuple[str, ...]:
    """Every code of ``length`` digits from 1 to ``colours``, in lexicographic order."""
    digits = "123456789"[:colours]
    codes = (itertools.product(digits, repeat=length) if repeats
             else itertools.permutations(digits, length))
    return tuple("".join(code) for code in codes)


@functools.cache
def _valid_guesses(length: int, colours: int) -> frozenset[str]:
    return frozenset(all_codes(length, colours))


def best_guess(candidates: list[str]) -> str:
    """The consistent code that minimises the expected number of codes left (the sum of the
    squared feedback-class sizes, a correct guess leaving none). When there are too many
    candidates to score every pair, an evenly spread sample of them stands in for both the
    guesses tried and the codes they are scored against."""
    n = len(candidates)
    stride = 1 if n * n <= _SOLVER_BUDGET else n // math.isqrt(_SOLVER_BUDGET) + 1
    sample = candidates[::stride]
    win = (len(candidates[0]), 0)

    def cost(guess: str) -> tuple[int, str]:
        classes = Counter(pegs(guess, code) for code in sample)
        return sum(size * size for size in classes.values()) - classes.get(win, 0), guess

    return min(sample, key=cost)


class Mastermind(HiddenAnswerGame):
    """Find a secret code of digits; each guess is answered with black and white pegs.

    Action: a code such as ``1234`` (the last run of digits in the text counts; spaces or commas
    between the digits are fine, and so are other scripts' decimal digits, e.g. fullwidth).
    Reward: ``outcome`` 1 on a win; with ``dense_reward``, ``progress`` is the fraction of the
    still-possible codes the guess ruled out.
    """

    strategy_hint = (
        "Only guess codes that agree with every feedback so far; early guesses that test new colours tell you the most."
    )

    secret_stub = "The secret code is "

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.length, self.colours, self.repeats, self.max_guesses = _LEVELS[self.difficulty]
        self.secrets = all_codes(self.length, self.colours, self.repeats)
        self._valid = _valid_guesses(self.length, self.colours)
        self._guess_list = all_codes(self.length, self.colours)
        example = "123456789"[:self.length]
        repeats = ("may repeat a colour" if self.repeats
                   else "uses each colour at most once (your guesses may repeat colours)")
        self.instructions = (
            f"Break a secret code of {self.length} pegs, each one of {self.colours} colours "
            f"written as the digits 1 to {self.colours}; the code {repeats}. You have "
            f"{self.max_guesses} guesses. After each guess you get black pegs (right colour in "
            "the right position) and white pegs (right colour in the wrong position; each peg "
            "of the code is matched at most once). Reply with the code, e.g. "
            f"{example}."
        )
        self._opening = (f"Guess the {self.length}-peg code (digits 1-{self.colours}). You have "
                         f"{self.max_guesses} guesses.")

    def new_episode(self, options: dict[str, Any]) -> str:
        self.secret = self.rng.choice(self.secrets)
        self.history: list[tuple[str, tuple[int, int]]] = []
        self._candidates: list[str] | None = None  # built on first use: 32k codes at hard
        self._checked = 0
        return self._opening

    def play(self, action: str) -> Feedback:
        guess = action if action in self._valid else self._parse(action)
        result = pegs(guess, self.secret)
        rewards = {}
        if self.dense_reward:
            before = len(self.consistent_codes())
            self.history.append((guess, result))
            rewards["progress"] = 1.0 - len(self.consistent_codes()) / before
        else:
            self.history.append((guess, result))
        black, white = result
        if black == self.length:
            used = f"{len(self.history)} guess" + ("es" if len(self.history) > 1 else "")
            return Feedback(f"{guess} -> {black} black, 0 white. You broke the code in {used}!",
                            {"outcome": 1.0, **rewards}, terminated=True, success=True)
        left = self.max_guesses - len(self.history)
        if left == 0:
            return Feedback(f"{guess} -> {black} black, {white} white. No guesses left: the code "
                            f"was {self.secret}. You lose.", {"outcome": 0.0, **rewards},
                            terminated=True)
        plural = "guess" if left == 1 else "guesses"
        return Feedback(f"{guess} -> {black} black, {white} white. {left} {plural} left.", rewards)

    def _parse(self, action: str) -> str:
        runs = _DIGITS.findall(action)
        if not runs:
            raise InvalidAction(f"reply with a code of {self.length} digits from 1 to "
                                f"{self.colours}, e.g. {'123456789'[:self.length]}.")
        code = _NOT_DIGIT.sub("", runs[-1])
        if not code.isascii():  # fullwidth or other Unicode decimal digits name the same colours
            code = "".join(str(int(digit)) for digit in code)
        if len(code) != self.length:
            raise InvalidAction(f"the code has {self.length} digits, not {len(code)}.")
        if code not in self._valid:
            raise InvalidAction(f"use only the digits 1 to {self.colours}.")
        return code

    def consistent_codes(self) -> list[str]:
        """The codes that agree with all the feedback so far (what a fair solver knows)."""
        if self._candidates is None:
            self._candidates = list(self.secrets)
        for guess, result in self.history[self._checked:]:
            self._candidates = [code for code in self._candidates if pegs(guess, code) == result]
        self._checked = len(self.history)
        return self._candidates

    def random_action(self, rng: random.Random) -> str:
        return rng.choice(self._guess_list)

    def oracle_action(self) -> str:
        """A fixed opener, then the best consistent code."""
        if not self.history:
            return _OPENERS[self.difficulty]
        candidates = self.consistent_codes()
        return candidates[0] if len(candidates) <= 2 else best_guess(candidates)

    def render_text(self) -> str:
        lines = [f"Mastermind ({self.length} pegs, colours 1-{self.colours}): "
                 f"guess {len(self.history)}/{self.max_guesses}"]
        lines += [f"{' '.join(guess)}   {'B' * black}{'W' * white}" if black or white
                  else f"{' '.join(guess)}   -" for guess, (black, white) in self.history]
        return "\n".join(lines)
