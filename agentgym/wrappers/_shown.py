"""The observation of a step that a wrapper answers without stepping the environment."""

from __future__ import annotations

from typing import Any

from agentgym.core import own_copy


def answered_like(last: Any, text: str) -> Any:
    """``text`` as an observation of the shape the agent saw last (``last``): the text itself,
    or, for a ``{"text", "image"}`` observation, ``last`` with ``text`` as its ``"text"``, so
    the observation stays in the environment's space and the agent keeps seeing the picture
    (a copy of each other value: every observation is the caller's own), as an environment's own
    invalid-action observation does (:meth:`agentgym.core.LLMEnv.step`)."""
    if isinstance(last, dict):
        return {**own_copy(last), "text": text}
    return text

