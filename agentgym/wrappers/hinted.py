"""``Hinted``: every observation the agent reads ends with a hint from the environment.

For guidance when a whole group of episodes fails (Guide; Scaf-GRPO's tiers): the group is
played again with hints, and the trainer learns from the hinted episodes as if the hints had
not been there (importance-corrected). So the wrapper records exactly what it added: each
``reset`` and each step that does not end the episode appends ``"\\n\\nHint: <hint>"`` to the
text of the observation (the ``"text"`` of a ``{"text", "image"}`` observation) and puts
``{"level", "hint", "suffix"}`` in ``info["hint"]``, where ``suffix`` is the appended text
(``None`` and nothing appended when the environment has no hint for the state, or a blank
one).

The hint is ``env.unwrapped.hint(level)`` (:meth:`agentgym.core.LLMEnv.hint`: 1 the rules,
2 a strategy, 3 a good next move). An environment whose ``hint`` raises or gives something
other than text or ``None``, or a hint that would push the observation past its space's
length, is reported in ``info["hint"]["error"]`` (and nothing appended), never as a failed
step.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from agentgym.core import HINT_LEVELS, is_int

HINT_KEY = "hint"
HINT_PREFIX = "\n\nHint: "


class Hinted(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Appends the environment's hint of ``level`` to each observation (module docstring)."""

    def __init__(self, env: gym.Env, level: int = HINT_LEVELS[-1]) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, _disable_deepcopy=True, level=level)
        super().__init__(env)
        if not is_int(level) or level not in HINT_LEVELS:  # not True (== 1), not 2.0
            raise ValueError(f"Hinted: level must be one of {HINT_LEVELS}, got {level!r}")
        self.level = int(level)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(**kwargs)
        return self._hinted(observation, info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            return observation, reward, terminated, truncated, info
        observation, info = self._hinted(observation, info)
        return observation, reward, terminated, truncated, info

    def _hinted(self, observation: Any, info: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        record: dict[str, Any] = {"level": self.level, "hint": None, "suffix": None}
        try:
            hint = self.env.unwrapped.hint(self.level)
        except Exception as exc:  # noqa: BLE001 - a broken hint costs the hint, not the step
            record["error"] = f"{type(exc).__name__}: {exc}"
            hint = None
        if hint is not None and not isinstance(hint, str):
            record["error"] = f"the hint is not text (got {type(hint).__name__}): left out"
            hint = None
        text = " ".join(hint.split()) if hint else ""  # a blank hint is no hint
        if not text:
            return observation, {**info, HINT_KEY: record}
        suffix = HINT_PREFIX + text
        if isinstance(observation, dict) and isinstance(observation.get("text"), str):
            hinted: Any = {**observation, "text": observation["text"] + suffix}
        elif isinstance(observation, str):
            hinted = observation + suffix
        else:
            return observation, {**info, HINT_KEY: record}
        if hinted not in self.observation_space:
            record["error"] = f"the hinted observation would not fit {self.observation_space}: left out"
            return observation, {**info, HINT_KEY: record}
        record.update(hint=hint, suffix=suffix)
        return hinted, {**info, HINT_KEY: record}


def strip_hint(text: str, suffix: str | None) -> str:
    """``text`` without the hint ``suffix`` that :class:`Hinted` appended (unchanged without one)."""
    if suffix and text.endswith(suffix):
        return text[: -len(suffix)]
    return text
