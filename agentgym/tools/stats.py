"""Per-episode tool statistics: calls, errors and seconds by tool."""

from __future__ import annotations

from typing import Any

from agentgym.tools.invoke import ToolOutcome


class ToolStats:
    """Counts one episode's tool use; :meth:`summary` is what ``info`` carries.

    The summary (plain JSON data)::

        {"calls": {"add": 3}, "errors": {"add": 1}, "seconds": {"add": 0.0021},
         "unknown_tool_calls": 0, "refused_calls": 0, "malformed_actions": 0}

    ``calls`` counts every call that named a known tool and was not refused (failed ones too),
    ``errors`` those that failed (bad arguments, the tool raised or timed out...), ``seconds``
    their wall time. Calls naming no tool are counted in ``unknown_tool_calls`` (never by their
    name: an agent could invent a million), calls refused by a cap in ``refused_calls``, and
    actions whose markup could not be read in ``malformed_actions``.
    """

    __slots__ = ("calls", "errors", "seconds", "unknown_tool_calls", "refused_calls", "malformed_actions")

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.unknown_tool_calls = self.refused_calls = self.malformed_actions = 0

    def record(self, name: str, outcome: ToolOutcome) -> None:
        """Count one call of ``name`` that was run (or checked) with this outcome."""
        if outcome.failure == "unknown_tool":
            self.unknown_tool_calls += 1
            return
        self.calls[name] = self.calls.get(name, 0) + 1
        if not outcome.ok:
            self.errors[name] = self.errors.get(name, 0) + 1
        self.seconds[name] = self.seconds.get(name, 0.0) + outcome.seconds

    def summary(self) -> dict[str, Any]:
        """A fresh dict of the counts so far (see the class docstring)."""
        return {"calls": dict(self.calls), "errors": dict(self.errors),
                "seconds": {name: round(value, 6) for name, value in self.seconds.items()},
                "unknown_tool_calls": self.unknown_tool_calls, "refused_calls": self.refused_calls,
                "malformed_actions": self.malformed_actions}
