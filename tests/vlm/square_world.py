"""A trivial grounding world for vision-language tests: say on which side of the image the
square is.

``SquareSide``: each round shows a ``size x size`` image, dark with one coloured square drawn
wholly in its left or right half (side, colour, square size and place drawn from the seed), and
the text ``where is the square ?``. The first ``left`` or ``right`` in the reply is the answer
(reward 1 when right); a reply with neither is invalid (the image is shown again with the
error). ``rounds`` answers end the episode (each round a new image), which makes multi-turn,
multi-image conversations; success is every answer right. A policy that ignores the image
answers half of the rounds right at best: that is chance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import agentgym
from agentgym.core import Feedback, InvalidAction, LLMEnv
from agentgym.spaces import text_and_image_space

ENV_ID = "testworld/SquareSide-v0"
SIDES = ("left", "right")
QUESTION = "where is the square ?"
COLOURS = ((230, 40, 40), (40, 200, 60), (60, 90, 240), (240, 220, 40))


class SquareSide(LLMEnv):
    """Say which half of the image holds the square; see the module docstring."""

    family = "testworld"
    instructions = "say left or right"
    example_actions = SIDES

    def __init__(self, rounds: int = 1, size: int = 32, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rounds = int(rounds)
        self.size = int(size)
        self.observation_space = text_and_image_space(self.size, self.size)

    def new_episode(self, options: dict[str, Any]) -> dict[str, Any]:
        self.round, self.right_answers = 0, 0
        return self._show()

    def _show(self) -> dict[str, Any]:
        self.side = self.rng.choice(SIDES)
        return {"text": QUESTION, "image": square_image(self.rng, self.side, self.size)}

    def play(self, action: str) -> Feedback:
        named = [word for word in action.split() if word in SIDES]
        if not named:
            raise InvalidAction("say left or right")
        right = named[0] == self.side
        self.round += 1
        self.right_answers += right
        done = self.round >= self.rounds
        observation = {"text": "yes" if right else "no"} if done else self._show()
        if done:
            observation["image"] = self._last_observation["image"]
        return Feedback(observation, {"outcome": float(right)}, terminated=done,
                        success=done and self.right_answers == self.rounds)

    @property
    def reference_answer(self) -> str:
        return self.side


def square_image(rng: Any, side: str, size: int) -> np.ndarray:
    """A dark ``size x size`` image with one coloured square inside its ``side`` half."""
    image = np.full((size, size, 3), 20, dtype=np.uint8)
    half = size // 2
    edge = rng.randint(max(1, 3 * half // 4), half)
    left = rng.randint(0, half - edge) + (half if side == "right" else 0)
    top = rng.randint(0, size - edge)
    image[top:top + edge, left:left + edge] = rng.choice(COLOURS)
    return image


def register() -> None:
    agentgym.register(ENV_ID, SquareSide, max_turns=4, description="say on which side the square is (tests)")
