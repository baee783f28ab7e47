"""A price on every tool call (SEM-style), so an agent calls tools only when they help."""

from __future__ import annotations

from typing import Mapping, Sequence

from agentgym.rewards.base import RewardProvider, TurnValues, finite_setting
from agentgym.rewards.shaping import tool_results, unlisted_refusals
from agentgym.trajectory import Trajectory, Turn


class ToolCallCost(RewardProvider):
    """Per turn, minus the summed cost of its tool calls, failed and refused calls included
    (they spent a turn and a call all the same). :class:`~agentgym.wrappers.ToolCalling` records
    the calls past its per-action cap as one refused result (the first one's name) and their
    number in ``info["tool_calls_refused"]``: each of them is priced, the first by its name and
    the others, whose names are not recorded, at ``cost``.

    Args:
        cost: the price of one call (>= 0).
        costs: prices by tool name, for tools dearer or cheaper than ``cost``.
        name: the component's name.
    """

    def __init__(self, cost: float = 0.01, *, costs: Mapping[str, float] | None = None,
                 name: str = "tool_cost") -> None:
        self.cost = finite_setting("ToolCallCost", "cost (subtracted)", cost, minimum=0)
        self.costs = {tool: finite_setting("ToolCallCost", f"costs[{tool!r}] (subtracted)", price, minimum=0)
                      for tool, price in (costs or {}).items()}
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [[-self._turn_cost(turn) for turn in trajectory.turns] for trajectory in trajectories]

    def _turn_cost(self, turn: Turn) -> float:
        priced = sum(self.costs.get(result.get("name"), self.cost) for result in tool_results(turn))
        return priced + self.cost * unlisted_refusals(turn)
