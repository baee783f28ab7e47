"""A small multimodal environment and a policy that really looks at its images.

``testing/ColourSquare-v0`` shows, each of three rounds, a 32 x 32 RGB image with a coloured
8 x 8 square on its left or right half (seeded), and asks which side; the last observation is
a plain grey image, the same in every episode (so content addressing has something to share).
:class:`SquareSpotter` answers from the pixels of the newest image in its request.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv
from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.spaces import text_and_image_space

SIZE, SQUARE, ROUNDS = 32, 8, 3
BACKGROUND = (230, 230, 230)
COLOURS = ((220, 30, 30), (30, 160, 60), (40, 60, 220))
ENV_ID = "testing/ColourSquare-v0"


def square_image(side: str, colour: tuple[int, int, int], row: int, column: int) -> np.ndarray:
    """The background with a square at (``row``, ``column``) of the ``side`` half."""
    image = np.empty((SIZE, SIZE, 3), np.uint8)
    image[:] = BACKGROUND
    left = column if side == "left" else SIZE // 2 + column
    image[row:row + SQUARE, left:left + SQUARE] = colour
    return image


FINAL_IMAGE = np.full((SIZE, SIZE, 3), 128, np.uint8)


class ColourSquare(LLMEnv):
    instructions = "Each image shows a coloured square. Answer 'left' or 'right': the half it is in."
    observation_space = text_and_image_space(SIZE, SIZE)
    example_actions = ("left", "right")

    def new_episode(self, options):
        self.round = 0
        self.screens = []
        for _ in range(ROUNDS):
            side = self.rng.choice(["left", "right"])
            colour = COLOURS[self.rng.randrange(len(COLOURS))]
            row, column = self.rng.randrange(SIZE - SQUARE), self.rng.randrange(SIZE // 2 - SQUARE)
            self.screens.append((side, square_image(side, colour, row, column)))
        return self._screen()

    def _screen(self) -> dict:
        return {"text": f"Round {self.round + 1} of {ROUNDS}: left or right?", "image": self.screens[self.round][1]}

    def play(self, action):
        answer = action.strip().lower()
        if answer not in ("left", "right"):
            raise InvalidAction("answer 'left' or 'right'")
        correct = answer == self.screens[self.round][0]
        self.round += 1
        if self.round == ROUNDS:
            return Feedback({"text": "Done.", "image": FINAL_IMAGE}, {"outcome": float(correct) / ROUNDS},
                            terminated=True, success=True)
        return Feedback(self._screen(), {"outcome": float(correct) / ROUNDS})


agentgym.register(ENV_ID, ColourSquare, max_turns=ROUNDS + 2, override=True)


def expected_screens(seed: int) -> list[tuple[str, np.ndarray]]:
    """The (side, image) of each round of the episode seeded ``seed``, from a fresh environment."""
    env = ColourSquare()
    env.reset(seed=seed)
    return list(env.screens)


def side_of(image: np.ndarray) -> str:
    """Where the square is: the mean column of the pixels that are not background."""
    columns = np.nonzero(np.any(image != np.array(BACKGROUND, np.uint8), axis=2))[1]
    return "left" if columns.mean() < SIZE / 2 else "right"


class SquareSpotter(Policy):
    """Answers from the newest image part of each request; counts the images it was shown."""

    name = "square-spotter"

    def __init__(self) -> None:
        self.images_seen: list[int] = []

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        out = []
        for request in requests:
            images = [part["image"] for message in request.messages if isinstance(message.get("content"), list)
                      for part in message["content"] if part.get("type") == "image"]
            self.images_seen.append(len(images))
            out.append(Generation(side_of(images[-1])))
        return out
