"""Parsing tool calls out of an agent's action (pure functions, no tools are run here).

Two formats are understood, the ones chat templates and OpenAI-compatible servers produce:

* **Hermes / Qwen** text: one or more ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
  blocks anywhere in the action. ``arguments`` may also be a JSON-encoded string (some models
  write it that way) and ``parameters`` is accepted as its synonym (Llama's spelling).
* **OpenAI** assistant message: a dict ``{"content": ..., "tool_calls": [{"id", "type":
  "function", "function": {"name", "arguments": "<json string>"}}]}``, or the JSON text of one.
  A message without tool calls is searched for Hermes blocks in its content.

:func:`parse_tool_calls` never raises. Markup that cannot be read (invalid JSON, a call without
a name, an unclosed tag) is reported in :attr:`ParsedAction.error` and yields no calls at all,
so a half-understood action is never half executed. Arguments that decode to something other
than a JSON object are *not* a markup error: the call is returned as written and the tool's own
argument check rejects it, which tells the agent which tool it got wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

OPEN_TAG, CLOSE_TAG = "<tool_call>", "</tool_call>"
#: The most characters of an agent-written name or value echoed back in an error message.
ECHO_CHARS = 100
_HERMES_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


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
            tool-call blocks removed (and stripped) when there are calls. ``None`` when the
            action is neither text nor a chat message.
        calls: the tool calls, in order; empty when there are none or the markup is malformed.
        error: why the tool-call markup could not be read, or ``None``.
    """

    text: str | None
    calls: tuple[ToolCall, ...] = ()
    error: str | None = None


def parse_tool_calls(action: Any, *, first_index: int = 0) -> ParsedAction:
    """Read the tool calls in ``action`` (text or an OpenAI assistant message dict).

    Calls without an id of their own are named ``call_<n>``, counting from ``first_index`` (a
    caller numbering calls across an episode passes its running count, so ids stay unique).
    """
    if isinstance(action, str):
        message = _json_message(action)
        if message is None:
            return _parse_hermes(action, first_index)
        action = message
    if isinstance(action, dict) and _looks_like_message(action):
        return _parse_message(action, first_index)
    return ParsedAction(text=None)


def echo(value: Any, limit: int = ECHO_CHARS) -> str:
    """``value`` as text for an error message, cut to ``limit`` characters with an ellipsis
    and its full length, e.g. ``'xxxx…' (100000 characters)``: an agent's 100k-character tool
    name must not come back as a 100k-character observation."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    return f"{text[:limit]!r}… ({len(text)} characters)"


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


# ----------------------------------------------------------------------------- Hermes
def _parse_hermes(text: str, first_index: int) -> ParsedAction:
    if OPEN_TAG not in text and CLOSE_TAG not in text:  # the common case costs one scan
        return ParsedAction(text=text)
    blocks = list(_HERMES_BLOCK.finditer(text))
    rest = _HERMES_BLOCK.sub("", text)
    if OPEN_TAG in rest or CLOSE_TAG in rest:
        return ParsedAction(text=text, error=f"every {OPEN_TAG} needs a matching {CLOSE_TAG}")
    calls = []
    for number, block in enumerate(blocks, start=1):
        try:
            payload = json.loads(block.group(1))
        except (ValueError, RecursionError) as exc:
            return ParsedAction(text=text, error=f"tool call {number} is not valid JSON ({exc})")
        call = _call_from_payload(payload, f"call_{first_index + len(calls)}", number)
        if isinstance(call, str):
            return ParsedAction(text=text, error=call)
        calls.append(call)
    return ParsedAction(text=rest.strip(), calls=tuple(calls))


def _call_from_payload(payload: Any, call_id: str, number: int) -> ToolCall | str:
    """A :class:`ToolCall` from ``{"name", "arguments"}``, or why the payload is malformed."""
    if not isinstance(payload, dict):
        return f'tool call {number} must be a JSON object like {{"name": ..., "arguments": {{...}}}}'
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        return f"tool call {number} has no name"
    arguments = payload.get("arguments", payload.get("parameters", {}))
    arguments = _decode_arguments(arguments)
    if isinstance(arguments, _Undecodable):
        return f"the arguments of tool call {number} ({echo(name.strip())}) are not valid JSON ({arguments.reason})"
    return ToolCall(call_id, name.strip(), arguments)


@dataclass(frozen=True)
class _Undecodable:
    reason: str


def _decode_arguments(arguments: Any) -> Any:
    """Arguments as written, with a JSON-encoded string decoded (an empty string means none)."""
    if arguments is None:
        return {}
    if not isinstance(arguments, str):
        return arguments
    if not arguments.strip():
        return {}
    try:
        return json.loads(arguments)
    except (ValueError, RecursionError) as exc:
        return _Undecodable(str(exc))


# ----------------------------------------------------------------------------- OpenAI
def _json_message(text: str) -> dict[str, Any] | None:
    """The message dict ``text`` encodes, or ``None`` when it is ordinary text."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) and _looks_like_message(value) else None


def _looks_like_message(value: dict[str, Any]) -> bool:
    # A bare {"name": ..., "arguments": ...} is a move in some environments, not a message.
    return "tool_calls" in value or value.get("role") == "assistant"


def _parse_message(message: dict[str, Any], first_index: int) -> ParsedAction:
    text = message_text(message.get("content"))
    entries = message.get("tool_calls")
    if not entries:
        return _parse_hermes(text, first_index)
    if not isinstance(entries, list):
        return ParsedAction(text=text, error="tool_calls must be a list")
    calls = []
    for number, entry in enumerate(entries, start=1):
        function = entry.get("function") if isinstance(entry, dict) else None
        if not isinstance(function, dict):
            return ParsedAction(text=text, error=f'tool call {number} has no "function" object')
        given_id = entry.get("id")
        call_id = given_id if isinstance(given_id, str) and given_id else f"call_{first_index + len(calls)}"
        call = _call_from_payload(function, call_id, number)
        if isinstance(call, str):
            return ParsedAction(text=text, error=call)
        calls.append(call)
    return ParsedAction(text=text.strip(), calls=tuple(calls))
