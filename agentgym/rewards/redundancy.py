"""Penalise queries an agent already made earlier in the episode (StepSearch-style).

A search agent that sends the same query twice learns nothing new the second time. The
provider is a hook: ``key(turn)`` names the queries a turn made, and every key already seen
earlier in the trajectory (or earlier in the same turn) costs ``penalty``. The default key is
:func:`tool_call_keys`, the normalised tool calls; other notions of "the same query" plug in
as a function, e.g. a game's repeated guesses::

    RedundancyPenalty(key=lambda turn: [turn.action.strip().lower()])

or the documents a retrieval tool returned (StepSearch penalises re-retrieved documents).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Hashable, Iterable, Sequence

from agentgym.core import is_int
from agentgym.rewards.base import RewardProvider, TurnValues, finite_setting
from agentgym.rewards.shaping import tool_results
from agentgym.trajectory import Trajectory, Turn


def normalize_query(value: Any) -> Any:
    """``value`` with every string lower-cased and its whitespace collapsed, recursively."""
    if isinstance(value, str):
        return " ".join(value.lower().split())
    if isinstance(value, dict):
        return {str(k): normalize_query(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize_query(v) for v in value]
    return value


def tool_call_keys(turn: Turn) -> list[Hashable]:
    """One key per tool call the turn ran: its name and its normalised arguments (canonical
    JSON, so key order does not matter). The calls :class:`~agentgym.wrappers.ToolCalling`
    refused past its per-action cap sent no query and have no key: they are recorded as one
    last result (``info["tool_calls_refused"]`` counts them) named after the first of them with
    arguments ``{}``, which are not the agent's (so two turns' refusals are not one repeated query)."""
    results = tool_results(turn)
    refused = turn.info.get("tool_calls_refused")
    if results and is_int(refused) and refused >= 1:
        results = results[:-1]
    return [(result.get("name"), json.dumps(normalize_query(result.get("arguments")), sort_keys=True, default=str))
            for result in results]


class RedundancyPenalty(RewardProvider):
    """``-penalty`` per query whose key the trajectory has already produced.

    Args:
        penalty: cost of one repeated query (>= 0).
        key: ``key(turn) -> iterable of hashable keys``, the queries a turn made
            (default :func:`tool_call_keys`); ``None`` or empty when it made none. A string, or
            anything else than an iterable of hashable keys, raises ``ValueError``.
        name: the component's name.
    """

    def __init__(self, penalty: float = 0.1, *, key: Callable[[Turn], Iterable[Hashable] | None] = tool_call_keys,
                 name: str = "redundancy") -> None:
        self.penalty = finite_setting("RedundancyPenalty", "penalty (subtracted)", penalty, minimum=0)
        self.key = key
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [self._trajectory_values(trajectory, index) for index, trajectory in enumerate(trajectories)]

    def _trajectory_values(self, trajectory: Trajectory, index: int) -> list[float | None]:
        seen: set[Hashable] = set()
        values: list[float | None] = []
        for t, turn in enumerate(trajectory.turns):
            repeats = 0
            for query in self._keys(turn, trajectory, index, t):
                repeats += query in seen
                seen.add(query)
            values.append(-self.penalty * repeats)
        return values

    def _keys(self, turn: Turn, trajectory: Trajectory, index: int, t: int) -> list[Hashable]:
        """The turn's query keys; ``ValueError`` naming the trajectory and turn unless
        ``key(turn)`` is ``None`` or an iterable of hashable keys other than a string (whose
        letters would each count as a query, so that any repeated letter cost a penalty)."""
        keys = self.key(turn)
        if keys is None:
            return []
        if isinstance(keys, (str, bytes)):
            raise ValueError(f"{trajectory.describe(index)}, turn {t}: the redundancy key returned the string "
                             f"{keys!r:.80}; return a list of keys (write [{keys!r:.80}])")
        try:
            keys = list(keys)
            hash(tuple(keys))
        except TypeError:
            raise ValueError(f"{trajectory.describe(index)}, turn {t}: the redundancy key returned {keys!r:.80}, "
                             "not an iterable of hashable keys") from None
        return keys
