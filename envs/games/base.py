"""What every game shares: the ``games`` family and the three difficulty levels."""

from __future__ import annotations

from typing import ClassVar

from agentgym.core import LLMEnv


class GameEnv(LLMEnv):
    """Base of the text games. Subclasses set ``instructions`` and implement ``new_episode``,
    ``play``, ``random_action`` and ``oracle_action`` (see :class:`~agentgym.core.LLMEnv`)."""

    family: ClassVar[str] = "games"
    difficulties: ClassVar[tuple[str, ...]] = ("easy", "medium", "hard")
