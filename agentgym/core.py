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
* Arguments are checked where they come in: constructor arguments (``dense_reward`` must be a
  real ``bool``, ``invalid_penalty`` a number...), ``reset``'s ``seed`` (a non-negative
  integer or ``None``) and ``options`` (a dict or ``None``). A wrong one raises
  :class:`ConfigError` naming the argument — unlike a bad *action*, which never raises.
* ``random_action`` (what the random baseline plays) picks one of ``example_actions`` when the
  class declares them; an environment without them must implement ``random_action`` itself.
"""

from __future__ import annotations

import asyncio
import math
import numbers
import random
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import gymnasium as gym
from gymnasium.error import ResetNeeded

from agentgym.spaces import UnicodeText
from agentgym.tools import Tool

Observation = Any  # str, or {"text": str, "image": ndarray} for multimodal environments


class ConfigError(ValueError, TypeError):
    """A value a user gave — a constructor argument, a registry call, a command-line option —
    is wrong. The message is meant for the user: it names the argument as they wrote it and
    what would be accepted. It is a ``ValueError`` *and* a ``TypeError``, so code that catches
    either keeps working; the command line prints it as one line instead of a traceback.
    """


def check_flag(owner: str, name: str, value: Any) -> bool:
    """``value`` if it is a real ``bool``, else :class:`ConfigError` (``"yes"``, ``1`` and
    ``None`` are not flags: ``bool("no")`` is ``True``)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}: {name} must be true or false, got {value!r}")
    return value


def check_number(owner: str, name: str, value: Any, *, minimum: float | None = None) -> float:
    """``value`` as a finite ``float`` (not a bool, not a string), at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{owner}: {name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{owner}: {name} must be at least {minimum}, got {value!r}")
    return float(value)


def check_int(owner: str, name: str, value: Any, *, minimum: int | None = None) -> int:
    """``value`` if it is an integer (not a bool, not a float) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{owner}: {name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{owner}: {name} must be at least {minimum}, got {value!r}")
    return int(value)


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
    #: Typical actions (e.g. ``("even", "odd")``); the default ``random_action`` draws from them.
    example_actions: ClassVar[Sequence[str]] = ()

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
        owner = type(self).__name__
        difficulty = self.difficulties[0] if difficulty is None else difficulty
        if not isinstance(difficulty, str):
            raise ConfigError(f"{owner}: difficulty must be one of {', '.join(self.difficulties)}, "
                              f"got {difficulty!r}")
        if difficulty not in self.difficulties:
            raise ConfigError(
                f"{owner}: unknown difficulty {difficulty!r}; "
                f"choose one of {', '.join(self.difficulties)}"
            )
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ConfigError(
                f"{type(self).__name__}: render_mode must be None or one of "
                f"{self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.difficulty = difficulty
        self.dense_reward = check_flag(owner, "dense_reward", dense_reward)
        self.invalid_penalty = check_number(owner, "invalid_penalty", invalid_penalty)
        self.max_action_chars = check_int(owner, "max_action_chars", max_action_chars, minimum=1)
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
        """A random, usually legal, action drawn with ``rng``: what the random baseline plays.

        The default picks one of the class's ``example_actions``; an environment that declares
        none must override this method (a random baseline of empty strings would be 100%
        invalid and meaningless), so the default then raises :class:`NotImplementedError`
        saying so — the random policy reports it as the episode's error.
        """
        if self.example_actions:
            return rng.choice(list(self.example_actions))
        raise NotImplementedError(
            f"{type(self).__name__} has no random_action: declare example_actions = (...) on the class "
            f"or implement random_action(self, rng) returning a random, usually legal, action"
        )

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
        if seed is not None:
            check_int(f"{type(self).__name__}.reset", "seed", seed, minimum=0)
        if options is not None and not isinstance(options, dict):
            raise ConfigError(f"{type(self).__name__}.reset: options must be a dict or None, got {options!r}")
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
