"""The base class of every agentgym environment.

:class:`LLMEnv` is a real :class:`gymnasium.Env` whose actions are the agent's text and whose
observations are text (or ``{"text", "image"}`` for multimodal environments). Subclasses write
two methods and get the rest of the contract for free::

    class Echo(LLMEnv):
        instructions = "Repeat the word you are shown."

        def new_episode(self, options):          # draw a task with self.rng
            self.word = self.rng.choice(["cat", "dog"])
            return f"Word: {self.word}"

        def play(self, action):                  # one move
            if not action.strip():
                raise InvalidAction("Say a word.")
            won = action.strip() == self.word
            return Feedback("Correct!" if won else "Wrong.", {"outcome": float(won)},
                            terminated=True, success=won)

The contract ``reset`` and ``step`` then keep:

* ``reset(seed, options)`` returns ``(observation, info)``; ``info`` holds ``task_id``,
  ``instructions`` (what the agent must be told, e.g. in its system prompt) and ``tools``
  (OpenAI-style schemas, ``[]`` when the environment has none).
* ``step(action)`` returns Gymnasium's 5-tuple. ``info`` holds ``reward_components`` (the reward
  is their sum), ``error`` (``None``, or why the action was invalid) and ``success``.
* A bad action never raises: :class:`InvalidAction` raised by ``play`` (or a non-string action,
  or one longer than ``max_action_chars``) becomes an error observation with the optional
  ``invalid_penalty`` and the episode goes on.
* Each environment owns its randomness: ``self.np_random`` (Gymnasium's) and ``self.rng``, a
  :class:`random.Random` derived from it on every seeded reset for fast scalar draws. Same
  seed, same episode; the process-global generators are never used.
* ``reference_answer`` / ``answer_stub`` expose a hidden ground truth to reward providers
  (information-gain rewards); they never appear in an observation.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import gymnasium as gym
from gymnasium.error import ResetNeeded

from agentgym.spaces import UnicodeText
from agentgym.tools import Tool

Observation = Any  # str, or {"text": str, "image": ndarray} for multimodal environments


class InvalidAction(Exception):
    """Raised inside :meth:`LLMEnv.play` when the action cannot be carried out.

    The message is shown to the agent, so write it as an instruction ("Guess a number between
    1 and 100."). The environment's state must be unchanged when it is raised.
    """


@dataclass(slots=True)
class Feedback:
    """What one move did.

    Attributes:
        observation: what the agent sees next.
        rewards: the reward by component (``outcome``, ``progress``, ``invalid``...); the
            step's reward is their sum.
        terminated: the episode reached a terminal state (won, lost, solved).
        success: the task was accomplished (meaningful when the episode ends).
        error: why the action was invalid, or ``None``.
        info: extra keys merged into the step's ``info``.
    """

    observation: Observation
    rewards: dict[str, float] = field(default_factory=dict)
    terminated: bool = False
    success: bool = False
    error: str | None = None
    info: dict[str, Any] | None = None


class LLMEnv(gym.Env):
    """A multi-turn environment for language agents. See the module docstring for the contract.

    Args:
        difficulty: one of the class's ``difficulties``.
        dense_reward: add a ``progress`` reward component on moves that get closer to the goal
            (environments without a notion of progress ignore it).
        invalid_penalty: subtracted (as component ``invalid``) when an action is invalid.
        max_action_chars: longer actions are rejected as invalid without being parsed.
        render_mode: ``None`` or ``"ansi"``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    #: The family the environment belongs to (``games``, ``web``, ``search``, ``tools``, ``gui``).
    family: ClassVar[str] = "misc"
    #: Difficulty levels, easiest first; the first is the default.
    difficulties: ClassVar[tuple[str, ...]] = ("default",)
    #: What the agent is told about the task and the format of its actions.
    instructions: ClassVar[str] = ""
    #: Tools the agent may call (see :mod:`agentgym.tools`).
    tools: Sequence[Tool] = ()

    observation_space = UnicodeText()
    action_space = UnicodeText(100_000)

    def __init__(
        self,
        difficulty: str | None = None,
        *,
        dense_reward: bool = False,
        invalid_penalty: float = 0.0,
        max_action_chars: int = 20_000,
        render_mode: str | None = None,
    ) -> None:
        difficulty = self.difficulties[0] if difficulty is None else difficulty
        if difficulty not in self.difficulties:
            raise ValueError(
                f"{type(self).__name__}: unknown difficulty {difficulty!r}; "
                f"choose one of {', '.join(self.difficulties)}"
            )
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"{type(self).__name__}: render_mode must be None or one of "
                f"{self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.difficulty = difficulty
        self.dense_reward = dense_reward
        self.invalid_penalty = float(invalid_penalty)
        self.max_action_chars = max_action_chars
        self.render_mode = render_mode
        self.rng = random.Random()
        self._seed: int | None = None
        self._episode = -1
        self._done = True
        self._last_observation: Observation = ""

    # ----------------------------------------------------------------- to implement
    def new_episode(self, options: dict[str, Any]) -> Observation:
        """Draw a new task using ``self.rng`` and return the first observation."""
        raise NotImplementedError

    def play(self, action: str) -> Feedback:
        """Carry out one action; raise :class:`InvalidAction` if it cannot be carried out."""
        raise NotImplementedError

    # -------------------------------------------------------------- optional hooks
    @property
    def reference_answer(self) -> str | None:
        """The hidden ground truth of this episode (for reward providers), or ``None``."""
        return None

    @property
    def answer_stub(self) -> str | None:
        """Text an agent writes right before stating the answer, e.g. ``"The secret word is "``."""
        return None

    def random_action(self, rng: random.Random) -> str:
        """A random, usually legal, action: what a random agent does."""
        return self.action_space.sample()

    def oracle_action(self) -> str:
        """The move of a policy that solves the task (an upper bound for evaluation)."""
        raise NotImplementedError(f"{type(self).__name__} has no oracle")

    def render_text(self) -> str:
        """The current state for people; defaults to the last observation."""
        obs = self._last_observation
        return obs["text"] if isinstance(obs, dict) else str(obs)

    # ------------------------------------------------------------- gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        if seed is not None or self._seed is None:
            if seed is None:
                seed = secrets.randbits(63)
            super().reset(seed=seed)
            self.rng.seed(int(self.np_random.integers(2**63)))
            self._seed = seed
            self._episode = -1
        self._episode += 1
        self._done = False
        observation = self.new_episode(options or {})
        self._last_observation = observation
        info = {
            "task_id": f"{type(self).__name__}-{self.difficulty}-{self._seed}-{self._episode}",
            "instructions": self.instructions,
            "tools": [tool.schema() for tool in self.tools],
        }
        return observation, info

    def step(self, action: Any) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise ResetNeeded("call reset() before step(): the episode has ended or not started")
        if type(action) is not str or len(action) > self.max_action_chars:
            feedback = self._invalid(self._describe_bad_action(action))
        else:
            try:
                feedback = self.play(action)
            except InvalidAction as exc:
                feedback = self._invalid(str(exc))
        rewards = feedback.rewards
        self._done = feedback.terminated
        self._last_observation = feedback.observation
        info = {"reward_components": rewards, "error": feedback.error, "success": feedback.success}
        if feedback.info:
            info.update(feedback.info)
        return feedback.observation, float(sum(rewards.values())), feedback.terminated, False, info

    async def areset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Asynchronous ``reset``; the default runs ``reset`` in a worker thread."""
        return await asyncio.to_thread(self.reset, seed=seed, options=options)

    async def astep(self, action: Any):
        """Asynchronous ``step``; the default runs ``step`` in a worker thread."""
        return await asyncio.to_thread(self.step, action)

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self.render_text()
        return None

    # ------------------------------------------------------------------ helpers
    def _invalid(self, message: str) -> Feedback:
        rewards = {"invalid": -self.invalid_penalty} if self.invalid_penalty else {}
        text = f"Invalid action: {message}"
        last = self._last_observation
        # A multimodal environment keeps showing its last image with the error text.
        observation = {**last, "text": text} if isinstance(last, dict) else text
        return Feedback(observation, rewards, error=message)

    def _describe_bad_action(self, action: Any) -> str:
        if not isinstance(action, str):
            return f"the action must be text, got {type(action).__name__}"
        return f"the action is {len(action)} characters long; the limit is {self.max_action_chars}"
