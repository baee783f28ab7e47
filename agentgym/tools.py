"""Tools an environment offers to an agent.

A :class:`Tool` is a plain Python callable with a name, a description and a JSON schema for its
arguments. Environments list their tools in ``Env.tools``; ``reset`` reports their schemas in
``info["tools"]`` in the OpenAI function-calling format, which chat templates and
OpenAI-compatible servers understand; the :class:`~agentgym.wrappers.ToolCalling` wrapper parses
the agent's calls and runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


class ToolError(Exception):
    """Raised by a tool to report a failure the agent should read (bad argument, not found...)."""


@dataclass(frozen=True)
class Tool:
    """A function the agent may call.

    Attributes:
        name: the name the agent uses in its call.
        description: one or two sentences the agent reads to decide when to call it.
        parameters: JSON schema (an ``object`` schema) of the keyword arguments.
        fn: called as ``fn(**arguments)``; returns anything ``str()`` can render.
    """

    name: str
    description: str
    fn: Callable[..., Any]
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}, "required": []}
    )

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style schema: ``{"type": "function", "function": {...}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def check_arguments(self, arguments: Any) -> str | None:
        """Return why ``arguments`` do not fit the schema (top level only), or ``None``."""
        if not isinstance(arguments, dict):
            return f"arguments of {self.name} must be a JSON object, got {type(arguments).__name__}"
        missing = [p for p in self.parameters.get("required", []) if p not in arguments]
        if missing:
            return f"{self.name} is missing required argument(s): {', '.join(missing)}"
        if self.parameters.get("additionalProperties", True):
            return None
        properties = self.parameters.get("properties", {})
        unknown = [a for a in arguments if a not in properties]
        if unknown:
            return f"{self.name} got unknown argument(s): {', '.join(unknown)}"
        return None
