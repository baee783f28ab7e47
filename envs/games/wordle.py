"""Wordle: find a secret five-letter word from letter-by-letter colour feedback.

Levels (answers from the bundled SCOWL-derived lists, see ``data/README.md``):

* easy: a common word (2,153 candidates), 8 guesses;
* medium: a common word, 6 guesses (the classic game);
* hard: any word of a standard mid-size dictionary, rarer ones included (2,934 candidates),
  6 guesses.

Any of the 11,406 five-letter words of SCOWL up to size 80 is a valid guess. The oracle is a
fair solver: it keeps the answers consistent with all feedback so far and plays the guess that
leaves the fewest candidates on average. It never looks at the secret and, measured on every
answer, wins every game at every level: 3.5 guesses on average on the common words and 3.6 with
the rarer ones, 6 at most (needed for 1 of the 2,153 common words and 6 of the 2,934 words of
the hard list).
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import HiddenAnswerGame
from agentgym.envs.games.words import COMMON, FIVE_LETTERS, RARE, load_words, words_of_length

# difficulty -> (the word lists the secret is drawn from, guesses allowed)
_LEVELS = {
    "easy": ((COMMON,), 8),
    "medium": ((COMMON,), 6),
    "hard": ((COMMON, RARE), 6),
}
#: The oracle's first guess: the common word that leaves the fewest common answers on average.
OPENER = "raise"
#: Feedback digits, one per letter: 0 grey (not in the word), 1 yellow (elsewhere), 2 green.
COLOURS = ("grey", "yellow", "green")
_SYMBOLS = ("-", "Y", "G")
ALL_GREEN = 242  # 22222 in base 3
# Pairs of (guess, answer) the oracle scores per move: keeps one move under ~50 ms.
_SOLVER_BUDGET = 20_000
_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{5}(?![A-Za-z])")


def score(guess: str, secret: str) -> int:
    """Wordle's feedback for ``guess`` as a base-3 number, first letter most significant:
    2 green (right letter, right place), 1 yellow (in the word, elsewhere), 0 grey.

    Greens are marked first; a letter repeated in the guess is then yellow only as many times as
    it occurs unmatched in the secret: SPEED against ABIDE is grey, grey, yellow, grey, yellow
    (one E in the secret, so only the first E of the guess is yellow).
    """
    if guess == secret:
        return ALL_GREEN
    unmatched = [s for g, s in zip(guess, secret) if g != s]
    code = 0
    for g, s in zip(guess, secret):
        if g == s:
            code = code * 3 + 2
        elif g in unmatched:
            unmatched.remove(g)
            code = code * 3 + 1
        else:
            code *= 3
    return code


def colours(code: int) -> list[str]:
    """The five colour names of a feedback code, first letter first."""
    return [COLOURS[code // 3 ** (4 - i) % 3] for i in range(5)]


@functools.cache
def answers_for(difficulty: str) -> tuple[str, ...]:
    """The words the secret is drawn from at ``difficulty``, sorted."""
    lists, _ = _LEVELS[difficulty]
    return tuple(sorted(word for name in lists for word in words_of_length(name, 5, 5)))


@functools.cache
def valid_guesses() -> frozenset[str]:
    """Every word accepted as a guess."""
    return frozenset(load_words(FIVE_LETTERS))


def best_guess(candidates: list[str], probes: tuple[str, ...]) -> str:
    """The guess that minimises the expected number of candidates left (the sum of the squared
    feedback-class sizes, a correct guess leaving none), preferring a candidate on ties.

    It considers the candidates and, budget permitting, evenly spread ``probes`` (words that
    cannot be the answer but may split the candidates better).
    """
    n = len(candidates)
    room = max(_SOLVER_BUDGET // n, 1)
    pool = candidates if n <= room else candidates[:: n // room + 1]
    spare = room - len(pool)
    if spare > 0:
        pool = pool + list(probes[:: len(probes) // spare + 1])
    candidate_set = set(candidates)

    def cost(guess: str) -> tuple[int, bool, str]:
        classes = Counter(score(guess, answer) for answer in candidates)
        left = sum(size * size for size in classes.values()) - classes.get(ALL_GREEN, 0)
        return left, guess not in candidate_set, guess

    return min(pool, key=cost)


class Wordle(HiddenAnswerGame):
    """Find a secret five-letter word; each guess marks its letters green, yellow or grey.

    Action: a five-letter English word (the last one in the text counts; an all-capitals word
    is preferred over prose around it). Reward: ``outcome`` 1 on a win; with ``dense_reward``,
    ``progress`` is the fraction of the still-possible answers the guess ruled out.
    """

    strategy_hint = (
        "Open with words of common, distinct letters; then keep every green letter in place, move yellow "
        "ones, and drop grey ones."
    )

    secret_stub = "The secret word is "

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.max_guesses = _LEVELS[self.difficulty][1]
        self.answers = answers_for(self.difficulty)
        self._valid = valid_guesses()
        self._valid_list = load_words(FIVE_LETTERS)
        pool = ("a common English word" if self.difficulty != "hard"
                else "an English word from a standard dictionary, possibly a rare one")
        self.instructions = (
            f"Find the secret five-letter word in at most {self.max_guesses} guesses. The secret "
            f"is {pool}. Each guess must be a real five-letter English word. After each guess "
            "every letter is marked green (right letter, right place), yellow (in the word but "
            "in another place) or grey (not in the word); a letter that appears twice in your "
            "guess but once in the secret is marked only once, greens first. Reply with one "
            "word, e.g. CRANE."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        self.secret = self.rng.choice(self.answers)
        self.history: list[tuple[str, int]] = []
        self._candidates = list(self.answers)
        self._checked = 0
        return (f"Guess the secret five-letter word. You have {self.max_guesses} guesses. "
                "Reply with a word, e.g. CRANE.")

    def play(self, action: str) -> Feedback:
        guess = self._parse(action)
        code = score(guess, self.secret)
        rewards = {}
        if self.dense_reward:
            before = len(self.consistent_answers())
            self.history.append((guess, code))
            rewards["progress"] = 1.0 - len(self.consistent_answers()) / before
        else:
            self.history.append((guess, code))
        marks = " ".join(f"{letter}:{colour}"
                         for letter, colour in zip(guess.upper(), colours(code)))
        if code == ALL_GREEN:
            used = f"{len(self.history)} guess" + ("es" if len(self.history) > 1 else "")
            return Feedback(f"{guess.upper()} -> {marks}. You found the word in {used}!",
                            {"outcome": 1.0, **rewards}, terminated=True, success=True)
        left = self.max_guesses - len(self.history)
        if left == 0:
            return Feedback(f"{guess.upper()} -> {marks}. No guesses left: the word was "
                            f"{self.secret.upper()}. You lose.", {"outcome": 0.0, **rewards},
                            terminated=True)
        plural = "guess" if left == 1 else "guesses"
        return Feedback(f"{guess.upper()} -> {marks}. {left} {plural} left.", rewards)

    def _parse(self, action: str) -> str:
        word = action.lower()
        if word in self._valid:  # the common case: the bare word
            return word
        tokens = _WORD.findall(action)
        if not tokens:
            raise InvalidAction("reply with a five-letter English word, e.g. CRANE.")
        for token in reversed(tokens):
            if token.isupper() and token.lower() in self._valid:
                return token.lower()
        for token in reversed(tokens):
            if token.lower() in self._valid:
                return token.lower()
        raise InvalidAction(f"{tokens[-1].upper()} is not in the word list; guess a real "
                            "five-letter English word.")

    def consistent_answers(self) -> list[str]:
        """The answers that agree with all the feedback so far (what a fair solver knows)."""
        for guess, code in self.history[self._checked:]:
            self._candidates = [word for word in self._candidates if score(guess, word) == code]
        self._checked = len(self.history)
        return self._candidates

    def random_action(self, rng: random.Random) -> str:
        return rng.choice(self._valid_list)

    def oracle_action(self) -> str:
        """Fixed opener, then the best split of the consistent answers; a candidate when only
        one or two remain or on the last guess."""
        if not self.history:
            return OPENER
        candidates = self.consistent_answers()
        if len(candidates) <= 2 or len(self.history) == self.max_guesses - 1:
            return candidates[0]
        return best_guess(candidates, self.answers)

    def render_text(self) -> str:
        lines = [f"Wordle ({self.difficulty}): guess {len(self.history)}/{self.max_guesses}"]
        for guess, code in self.history:
            symbols = " ".join(_SYMBOLS[digit] for digit in
                               (code // 3 ** (4 - i) % 3 for i in range(5)))
            lines.append(f"{' '.join(guess.upper())}   {symbols}")
        lines.append("G green, Y yellow, - grey")
        return "\n".join(lines)
