"""What the games share: the ``games`` family, three difficulty levels, hidden answers and
built-in opponents."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, ClassVar

from agentgym.core import ConfigError, LLMEnv, check_flag, check_number, is_int


_ANY_DIGIT = re.compile(r"\d")  # a decimal digit of any script (no superscripts, no fractions)


def ascii_digits(text: str) -> str:
    """``text`` with other scripts' decimal digits (fullwidth ``５``, Arabic-Indic ``٥``) written as
    the ASCII digits they are, for move patterns that read ASCII digits; ASCII text as it is."""
    if text.isascii():
        return text
    return _ANY_DIGIT.sub(lambda digit: str(unicodedata.decimal(digit.group())), text)


def whole_number(value: Any) -> int:
    """``value`` as an ``int`` for a hand-made position's row, column or stand.

    Raises:
        TypeError: ``value`` is no integer in :func:`~agentgym.core.is_int`'s sense (``1.0``,
            ``"5"``, or a bool: ``True`` is an ``int`` to Python, never a row or column to a user).
    """
    if not is_int(value):
        raise TypeError(f"{value!r} is not an integer")
    return int(value)


class GameEnv(LLMEnv):
    """Base of the text games. Subclasses set ``instructions`` and implement ``new_episode``,
    ``play``, ``random_action`` and ``oracle_action`` (see :class:`~agentgym.core.LLMEnv`)."""

    family: ClassVar[str] = "games"
    difficulties: ClassVar[tuple[str, ...]] = ("easy", "medium", "hard")


class HiddenAnswerGame(GameEnv):
    """A game with a secret the agent must find (a number, word, code or object).

    ``new_episode`` stores it in ``self.secret``; reward providers read it as
    ``reference_answer`` (as text) and ``secret_stub`` as the ``answer_stub`` (what an agent
    writes right before naming it). Neither appears in an observation while the episode runs
    (a lost game's final observation may name the secret: "the word was ..."; information-gain
    scoring never reads that one). Before the first ``reset`` there is no secret:
    ``reference_answer`` raises :class:`~agentgym.core.NoEpisodeYet` (an ``AttributeError``).
    """

    secret_stub: ClassVar[str] = "The secret is "

    @property
    def reference_answer(self) -> str:
        self._need_episode("reference_answer")
        return str(self.secret)

    @property
    def answer_stub(self) -> str:
        return self.secret_stub


class TwoPlayerGame(GameEnv):
    """A game against a built-in opponent that plays its best move with probability
    ``opponent_strength`` (in [0, 1]; ``None``: the level's default) and a uniformly random
    legal move otherwise. The agent plays ``X`` and moves first unless ``agent_first`` is
    false. Subclasses give the defaults in ``default_strength`` (level -> strength)."""

    default_strength: ClassVar[dict[str, float]] = {}

    def __init__(self, difficulty: str | None = None, *, opponent_strength: float | None = None,
                 agent_first: bool = True, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        if opponent_strength is None:
            opponent_strength = self.default_strength[self.difficulty]
        opponent_strength = check_number(owner, "opponent_strength", opponent_strength)
        if not 0.0 <= opponent_strength <= 1.0:
            raise ConfigError(f"{owner}: opponent_strength must be in [0, 1], got {opponent_strength}")
        self.opponent_strength = opponent_strength
        self.agent_first = check_flag(owner, "agent_first", agent_first)
        self.mark, self.opponent_mark = ("X", "O") if agent_first else ("O", "X")

    def _moves_option(self, moves: Any, example: str) -> str:
        """``options["moves"]`` (the moves to replay, one digit each, X first) as text: a string,
        or a whole number read as its digits.

        Raises:
            ConfigError: anything else (a list, a float, bytes): its text would be replayed
                character by character, '[' or '.' reported as an illegal move.
        """
        if isinstance(moves, str):
            return moves
        if isinstance(moves, int) and not isinstance(moves, bool):
            return str(moves)
        raise ConfigError(f"{type(self).__name__}: options['moves'] must be a string of moves, one digit each "
                          f"(e.g. {example!r}), got {moves!r}")
