"""Truncate an episode after a fixed number of turns."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from agentgym.core import is_int


class TurnLimit(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """End the episode with ``truncated=True`` once the agent has taken ``max_turns`` actions.

    Every call to ``step`` is a turn, invalid actions included: an agent that keeps writing
    garbage runs out of turns like any other. ``info["turns_left"]`` counts down after each
    step (and is ``max_turns`` after ``reset``). An episode that terminates on its last turn is
    reported as terminated, not truncated.

    On the truncating step the environment's episode is ended at once
    (``env.unwrapped.end_episode()``, when it has one, as every
    :class:`~agentgym.LLMEnv` does), so its resources (a sandbox, a browser page) are released
    then rather than at the next ``reset`` or ``close``. The wrappers inside this one never see
    that step end the episode, so each that defines ``episode_truncated(info)``
    (:class:`EpisodeStatistics`, :class:`TrajectoryRecorder`) is then called with the step's
    ``info``, innermost first, to close the episode as if it had ended there.
    """

    def __init__(self, env: gym.Env, max_turns: int) -> None:
        if not is_int(max_turns) or max_turns < 1:  # any integer (a NumPy one too), as make() takes
            raise ValueError(f"max_turns must be a positive integer, got {max_turns!r}")
        gym.utils.RecordConstructorArgs.__init__(self, _disable_deepcopy=True, max_turns=max_turns)
        super().__init__(env)
        self.max_turns = int(max_turns)
        self._turns = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._turns = 0
        observation, info = self.env.reset(seed=seed, options=options)
        info["turns_left"] = self.max_turns
        return observation, info

    def step(self, action: Any):
        # On the hot path of every rollout: index the 5-tuple instead of unpacking it, and
        # build a new one only on the truncating step.
        result = self.env.step(action)
        self._turns = turns = self._turns + 1
        result[4]["turns_left"] = left = self.max_turns - turns
        if left <= 0 and not (result[2] or result[3]):
            end_episode = getattr(self.env.unwrapped, "end_episode", None)
            if end_episode is not None:
                end_episode()
            self._tell_inner_wrappers(result[4])
            return result[0], result[1], False, True, result[4]
        return result

    def _tell_inner_wrappers(self, info: dict[str, Any]) -> None:
        """Call ``episode_truncated(info)`` of the wrappers inside this one, innermost first."""
        layers = []
        layer = self.env
        while isinstance(layer, gym.Wrapper):
            if callable(getattr(type(layer), "episode_truncated", None)):  # the class's, not forwarded
                layers.append(layer)
            layer = layer.env
        for layer in reversed(layers):
            layer.episode_truncated(info)
