"""What an agent's action asks for: tool calls, the prose around them, or why they cannot be read.

These are plain values shared by every call format (:mod:`agentgym.tools.formats`) and by the
wrappers that read them (:class:`~agentgym.wrappers.ToolCalling`,
:class:`~agentgym.wrappers.ChatHistory`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: The most characters of an agent-written name or value echoed back in an error message.
ECHO_CHARS = 100


@dataclass(frozen=True)
class ToolCall:
    """One call the agent asked for: a stable ``id``, the tool ``name`` and its ``arguments``
    (the decoded JSON value, normally a dict)."""

    id: str
    name: str
    arguments: Any

    def to_openai(self) -> dict[str, Any]:
        """The call as an entry of an OpenAI assistant message's ``tool_calls`` list."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments, default=str)},
        }


@dataclass(frozen=True)
class ParsedAction:
    """What an action says.

    Attributes:
        text: the action's prose: the raw text, or a message's content, with any well-formed
            tool-call markup removed (and stripped) when there are calls. ``None`` when the
            action is neither text nor a chat message.
        calls: the tool calls, in order; empty when there are none or the markup is malformed.
        error: why the tool-call markup could not be read, or ``None``.
        format: the name of the call format the calls (or the error) were found in
            (``"hermes"``, ``"openai"``, ``"python"``...), or ``None`` when there is no markup.
    """

    text: str | None
    calls: tuple[ToolCall, ...] = ()
    error: str | None = None
    format: str | None = None


def echo(value: Any, limit: int = ECHO_CHARS) -> str:
    """``value`` as text for an error message, cut to ``limit`` characters with an ellipsis
    and its full length, e.g. ``'xxxx…' (100000 characters)``: an agent's 100k-character tool
    name must not come back as a 100k-character observation."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    return f"{text[:limit]!r}… ({len(text)} characters)"


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis and its full length (no quotes)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def message_text(content: Any) -> str:
    """The text of a chat message's ``content``: a string, ``None`` or a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return str(content)
