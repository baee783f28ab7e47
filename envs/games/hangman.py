"""Hangman: reveal a secret word by guessing letters before the lives run out.

Levels (word list, word lengths, lives):

* easy: a common word of 8-10 letters, 8 lives;
* medium: a common word of 7-10 letters, 7 lives;
* hard: a rarer word of 7-10 letters, 6 lives.

A wrong letter or a wrong whole-word guess costs a life. The oracle is a fair player: it keeps
the words of the level's list that fit the pattern and the misses so far, guesses the letter
found in most of them, and names the word once one is left. It never looks at the secret; its
measured loss rates over every word of each level are 0.01% (easy), 0.2% (medium) and 0.05%
(hard). Long words are the easy ones: each right letter reveals more, and fewer words share a
pattern.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import HiddenAnswerGame
from agentgym.envs.games.words import COMMON, RARE, words_of_length

# difficulty -> (word list, shortest, longest, lives)
_LEVELS = {
    "easy": (COMMON, 8, 10, 8),
    "medium": (COMMON, 7, 10, 7),
    "hard": (RARE, 7, 10, 6),
}
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
# A word with an apostrophe inside ("it's", "don't", "couldn't") is one token, and no guess:
# neither the letter after the apostrophe nor a whole word.
_WORD = re.compile(r"[a-z]+(?:['\u2019][a-z]+)*")
# "word: planet", "solve: planet", "the word is planet", "answer: planet"
_SOLVE = re.compile(r"\b(?:word|solve|answer)\s*(?::|=|\bis\b)\s*([a-z]+)")


@functools.cache
def _by_length(word_list: str, low: int, high: int) -> dict[int, tuple[str, ...]]:
    """The level's words grouped by length."""
    groups: dict[int, list[str]] = {}
    for word in words_of_length(word_list, low, high):
        groups.setdefault(len(word), []).append(word)
    return {size: tuple(words) for size, words in groups.items()}


class Hangman(HiddenAnswerGame):
    """Find a secret word letter by letter.

    Action: one letter (e.g. ``e``), or the whole word to solve (``word: planet``, or a bare word
    as long as the secret). In prose a whole word named last to solve counts ("the word is
    planet, I think"); else the last single letter, word of the right length or word named to
    solve ("the word is a noun, so e" guesses e). A contraction is no guess: "e - it's common"
    guesses e, not s.
    Reward: ``outcome`` 1 on a win; with ``dense_reward``, ``progress`` is the fraction of the
    word's letters a guess revealed.
    """

    strategy_hint = (
        "Guess the most common letters first (e, a, r, i, o, t, n, s), then letters that fit the revealed pattern."
    )

    secret_stub = "The secret word is "

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        word_list, low, high, self.lives = _LEVELS[self.difficulty]
        self.words = words_of_length(word_list, low, high)
        self._words_by_length = _by_length(word_list, low, high)
        kind = "common English word" if word_list == COMMON else "less common English word"
        self.instructions = (
            f"Find the secret word, a {kind} of {low} to {high} letters, shown as a row of "
            f"blanks. Guess one letter at a time: every copy of a correct letter is revealed, a "
            f"wrong letter costs one of your {self.lives} lives. You may also guess the whole "
            "word (a wrong word costs a life). You win when the word is complete and lose when "
            "the lives run out. Reply with one letter, e.g. e, or with the word, e.g. "
            "word: planet."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        self.secret = self.rng.choice(self.words)
        self.guessed: set[str] = set()
        self.misses: list[str] = []  # wrong letters and wrong words, in order
        self.lives_left = self.lives
        return (f"The word has {len(self.secret)} letters: {self.pattern()}. "
                f"You have {self.lives} lives.")

    def pattern(self) -> str:
        """The word with unguessed letters as blanks, e.g. ``_ a _ _ m a n``."""
        return " ".join(ch if ch in self.guessed else "_" for ch in self.secret)

    def play(self, action: str) -> Feedback:
        guess = self._parse(action)
        if len(guess) > 1:
            return self._guess_word(guess)
        self.guessed.add(guess)
        found = self.secret.count(guess)
        rewards = {"progress": found / len(self.secret)} if self.dense_reward and found else {}
        if found and all(ch in self.guessed for ch in self.secret):
            return Feedback(f"Yes, {guess} is in the word: {self.pattern()}. You found the word!",
                            {"outcome": 1.0, **rewards}, terminated=True, success=True)
        if found:
            return Feedback(f"Yes, {guess} is in the word ({found}x): {self.pattern()}. "
                            f"{self._status()}", rewards)
        return self._miss(guess, f"No, there is no {guess}.")

    def _guess_word(self, word: str) -> Feedback:
        if word == self.secret:
            rewards = {"outcome": 1.0}
            if self.dense_reward:
                hidden = sum(ch not in self.guessed for ch in self.secret)
                rewards["progress"] = hidden / len(self.secret)
            self.guessed.update(word)
            return Feedback(f"Yes, the word is {word}! You found it.", rewards,
                            terminated=True, success=True)
        return self._miss(word, f"No, the word is not {word}.")

    def _miss(self, guess: str, message: str) -> Feedback:
        self.misses.append(guess)
        self.lives_left -= 1
        if self.lives_left == 0:
            return Feedback(f"{message} You have no lives left: the word was {self.secret}. "
                            "You lose.", {"outcome": 0.0}, terminated=True)
        return Feedback(f"{message} {self.pattern()}. {self._status()}")

    def _status(self) -> str:
        tried = ", ".join(sorted(ch for ch in self.guessed))
        return f"Lives left: {self.lives_left}. Letters tried: {tried}."

    def _parse(self, action: str) -> str:
        text = action.lower()
        if len(text) == 1 and text in _ALPHABET:  # the common case: a bare letter
            guess = text
        else:
            # A whole word named last to solve ("the word is caravan, I think") counts; else
            # the last of the words named to solve (of any length), single letters and words of
            # the secret's length, wherever "the word is" appears: "the word is a noun, so e"
            # guesses e.
            size = len(self.secret)
            found = {m.start(1): m.group(1) for m in _SOLVE.finditer(text)}
            solved = found[max(found)] if found else ""
            if len(solved) == size:
                guess = solved
            else:
                for token in _WORD.finditer(text):
                    word = token.group()
                    if len(word) in (1, size) and word.isalpha():
                        found.setdefault(token.start(), word)
                if not found:
                    raise InvalidAction(f"reply with one letter, e.g. e, or the whole {size}-letter "
                                        "word, e.g. word: planet.")
                guess = found[max(found)]
            if len(guess) > 1 and len(guess) != size:
                raise InvalidAction(f"the word has {size} letters; {guess[:40]} has {len(guess)}.")
        if guess in self.guessed or guess in self.misses:
            raise InvalidAction(f"you already tried {guess}; try another.")
        return guess

    def consistent_words(self) -> list[str]:
        """The words of the level's list that fit the pattern and every miss so far."""
        blank = "[^" + "".join(sorted(self.guessed)) + "]" if self.guessed else "."
        shape = re.compile("".join(blank if ch == "_" else ch for ch in self.pattern().split()))
        wrong_words = set(self.misses)
        return [word for word in self._words_by_length[len(self.secret)]
                if shape.fullmatch(word) and word not in wrong_words]

    def random_action(self, rng: random.Random) -> str:
        # Mostly an untried letter; now and then a word of the right length from the list.
        if rng.random() < 0.05:
            return "word: " + rng.choice(self._words_by_length[len(self.secret)])
        return rng.choice([ch for ch in _ALPHABET if ch not in self.guessed] or _ALPHABET)

    def oracle_action(self) -> str:
        """The letter found in most of the consistent words; the word once one is left."""
        candidates = self.consistent_words()
        if len(candidates) == 1:
            return f"word: {candidates[0]}"
        counts = Counter(ch for word in candidates for ch in set(word) if ch not in self.guessed)
        return min(counts, key=lambda ch: (-counts[ch], ch))

    def render_text(self) -> str:
        misses = ", ".join(self.misses) or "none"
        return (f"Hangman ({self.difficulty}): {self.pattern()}\n"
                f"Lives: {self.lives_left}/{self.lives}   Misses: {misses}")
