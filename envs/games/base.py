"""What every game shares: the ``games`` family and the three difficulty levels."""

from __future__ import annotations

from typing import ClassVar

from agentgym.core import LLMEnv


class GameEnv(LLMEnv):
    """Base of the text games. Subclasses set ``instructions`` and implement ``new_episode``,
    ``play``, ``random_action`` and ``oracle_action`` (see :class:`~agentgym.core.LLMEnv`)."""

    family: ClassVar[str] = "games"
    difficulties: ClassVar[tuple[str, ...]] = ("easy", "medium", "hard")


class HiddenAnswerGame(GameEnv):
    """A game with a secret the agent must find (a number, word, code or object).

    ``new_episode`` stores it in ``self.secret``; reward providers read it as
    ``reference_answer`` (as text) and ``secret_stub`` as the ``answer_stub`` (what an agent
    writes right before naming it). Neither ever appears in an observation.
    """

    secret_stub: ClassVar[str] = "The secret is "

    @property
    def reference_answer(self) -> str:
        return str(self.secret)

    @property
    def answer_stub(self) -> str:
        return self.secret_stub
