"""The typed core of what environments report: ``reset``'s info, ``step``'s info, error kinds.

Every :class:`~agentgym.core.LLMEnv` fills these keys; wrappers and environments may add their
own beside them (``turns_left``, ``tool_results``, ``format_ok``...), so the dictionaries are
open: the TypedDicts document the keys everyone can rely on, they do not forbid others.

:class:`ErrorKind` names *why* something went wrong as data, so code downstream (reward shaping,
rollout statistics, an environment server) reads ``info["error_kind"]`` instead of matching the
words of a message. It is a ``str`` enum: ``ErrorKind.INVALID_ACTION == "invalid"``, and it is
written to JSON as its value.
"""

from enum import Enum
from typing import Any

from typing import NotRequired, TypedDict


class ErrorKind(str, Enum):
    """Why an action, a step or an episode went wrong.

    The first three are reported by environments and their wrappers in a step's
    ``info["error_kind"]`` (the episode goes on); the others describe a failed episode (the
    environment raised or hung, or the policy failed), as the rollout engine records them.
    """

    #: The environment refused the move (``InvalidAction``, a non-string or too long action).
    INVALID_ACTION = "invalid"
    #: No readable move in the text (answer-format or tool-call markup errors).
    FORMAT = "format"
    #: A parsed tool call failed.
    TOOL = "tool"
    #: The environment itself raised (a bug, or a resource that failed).
    ENV_ERROR = "environment"
    #: A call to the environment did not return within its time limit.
    TIMEOUT = "timeout"
    #: The policy raised or returned something unusable.
    POLICY_ERROR = "policy"
    #: Anything else.
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


class ResetInfo(TypedDict):
    """What ``reset`` returns beside the first observation."""

    #: ``"<Class>-<difficulty>-<seed>-<episode>"``: the same seed and episode index give the same task.
    task_id: str
    #: What the agent must be told (e.g. in its system prompt).
    instructions: str
    #: OpenAI-style tool schemas, ``[]`` when the environment has none.
    tools: list[dict[str, Any]]


class StepInfo(TypedDict):
    """What ``step`` returns as its info (the core keys; wrappers add others)."""

    #: The step's reward by component (``outcome``, ``progress``, ``invalid``...); the reward is their sum.
    reward_components: dict[str, float]
    #: Why the action was invalid, written for the agent; ``None`` when it was valid.
    error: str | None
    #: The task was accomplished (meaningful when the episode ends).
    success: bool
    #: Why the action failed, as data; present exactly when ``error`` is not ``None``.
    error_kind: NotRequired[ErrorKind]
    #: Turns left under :class:`~agentgym.wrappers.TurnLimit`.
    turns_left: NotRequired[int]


def text_or_none(value: Any) -> str | None:
    """``value`` as a trajectory's text field holds it: ``None``, or text (any Gymnasium
    environment's ``info`` may hold a number where agentgym's hold text, a ``task_id`` of 7; a
    trajectory file holds only text or null there)."""
    return value if value is None or isinstance(value, str) else str(value)


def step_error(info: dict[str, Any]) -> str | None:
    """A step's ``info["error"]`` as a trajectory's turn records it: ``None`` when the key is
    missing or falsy (as :class:`~agentgym.wrappers.EpisodeStatistics` counts invalid actions),
    else its text (any Gymnasium environment may report an error as a number or a flag; a
    trajectory holds only text or null there)."""
    return text_or_none(info.get("error") or None)
