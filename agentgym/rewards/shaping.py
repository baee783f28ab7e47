"""Shaping rewards read from what the environment reported: format errors and tool use.

Both providers read only the recorded turns (``turn.error``, ``turn.info``), never the text
again, so they agree with what the environment and its wrappers decided. The kind of a turn's
error is ``info["error_kind"]`` (an :class:`~agentgym.info.ErrorKind` value: ``"format"``,
``"tool"``, ``"invalid"``...), which every environment and wrapper sets beside ``error``.
Turns recorded before that key existed are read from the older markers:

* :class:`~agentgym.wrappers.AnswerFormat` marks an action without a readable move with
  ``info["format_ok"] = False``;
* :class:`~agentgym.wrappers.ToolCalling` reports parsed calls in ``info["tool_results"]`` (one
  ``{"name", "arguments", "content", "ok"}`` each) and malformed call markup as an error with
  ``info["tool_calls"] == 0`` and no results;
* any other ``turn.error`` is an invalid action the environment refused.
"""

from __future__ import annotations

from typing import Any, Sequence

from agentgym.core import is_int
from agentgym.info import ErrorKind
from agentgym.rewards.base import RewardProvider, TurnValues, finite_setting
from agentgym.trajectory import Trajectory, Turn

def action_error_kind(turn: Turn) -> str | None:
    """What went wrong with a turn's action, as an :class:`~agentgym.info.ErrorKind` value:
    ``"format"`` (no readable move, or malformed tool-call markup), ``"tool"`` (a parsed tool
    call failed), ``"invalid"`` (the environment refused the move), another kind an environment
    reported, or ``None``. Read from ``info["error_kind"]``; old records without it are read
    from ``format_ok``, ``tool_results`` and ``tool_calls``."""
    info = turn.info
    recorded = info.get("error_kind")
    if recorded is not None:
        return str(recorded)  # an ErrorKind's str is its value; a record read back holds the value
    if info.get("format_ok") is False:
        return "format"
    if turn.error is None:
        return None
    if "tool_results" in info:
        return "tool"
    if info.get("tool_calls") == 0:
        return "format"
    return "invalid"


def tool_results(turn: Turn) -> list[dict[str, Any]]:
    """The turn's tool calls as :class:`ToolCalling` recorded them (``[]`` when none)."""
    results = turn.info.get("tool_results")
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


class FormatPenalty(RewardProvider):
    """``-penalty`` on every turn whose action could not be read, 0 on the others.

    Args:
        penalty: subtracted per offending turn (>= 0).
        invalid_actions: also penalise moves the environment refused (``"invalid"`` errors);
            failed tool calls are :class:`ToolUseShaping`'s business and never count here.
        name: the component's name. The default ``"format"`` replaces the ``format``
            component :class:`AnswerFormat` writes, so a format error is not penalised twice.
    """

    def __init__(self, penalty: float = 0.1, *, invalid_actions: bool = False, name: str = "format") -> None:
        self.penalty = finite_setting("FormatPenalty", "penalty (subtracted)", penalty, minimum=0)
        self.kinds = {ErrorKind.FORMAT.value, ErrorKind.INVALID_ACTION.value} if invalid_actions else {ErrorKind.FORMAT.value}
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [[-self.penalty if action_error_kind(turn) in self.kinds else 0.0 for turn in trajectory.turns]
                for trajectory in trajectories]


class ToolUseShaping(RewardProvider):
    """Per turn: ``called * calls + succeeded * successes + failed * failures`` over the turn's
    parsed tool calls (malformed markup runs no call: see :class:`FormatPenalty`). The calls
    :class:`~agentgym.wrappers.ToolCalling` refused past its per-action cap, recorded as one
    result and counted in ``info["tool_calls_refused"]``, are each a call and a failure.

    A positive ``called`` or ``succeeded`` rewards calling for its own sake; pair it with
    :class:`~agentgym.rewards.cost.ToolCallCost` or
    :class:`~agentgym.rewards.redundancy.RedundancyPenalty` so spamming calls does not pay.
    """

    def __init__(self, *, called: float = 0.0, succeeded: float = 0.1, failed: float = -0.1,
                 name: str = "tool_use") -> None:
        self.called, self.succeeded, self.failed = (finite_setting("ToolUseShaping", label, value) for label, value
                                                    in (("called", called), ("succeeded", succeeded),
                                                        ("failed", failed)))
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [[self._turn_value(turn) for turn in trajectory.turns] for trajectory in trajectories]

    def _turn_value(self, turn: Turn) -> float:
        results = tool_results(turn)
        successes = sum(1 for result in results if result.get("ok"))
        calls = len(results) + unlisted_refusals(turn)
        return self.called * calls + self.succeeded * successes + self.failed * (calls - successes)


def unlisted_refusals(turn: Turn) -> int:
    """How many refused calls the turn's tool results leave out: :class:`ToolCalling` records the
    calls past its per-action cap as one result, their number in ``info["tool_calls_refused"]``."""
    refused = turn.info.get("tool_calls_refused")
    if not tool_results(turn) or not is_int(refused) or refused < 2:
        return 0
    return int(refused) - 1
