"""Parsing tool calls out of an agent's action (pure functions, no tools are run here).

:func:`parse_tool_calls` reads the two formats chat templates and OpenAI-compatible servers
produce:

* **Hermes / Qwen** text: one or more ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
  blocks anywhere in the action. ``arguments`` may also be a JSON-encoded string (some models
  write it that way) and ``parameters`` is accepted as its synonym (Llama's spelling).
* **OpenAI** assistant message: a dict ``{"content": ..., "tool_calls": [{"id", "type":
  "function", "function": {"name", "arguments": "<json string>"}}]}``, or the JSON text of one.
  A message without tool calls is searched for Hermes blocks in its content.

It never raises. Markup that cannot be read (invalid JSON, a call without a name, an unclosed
tag) is reported in :attr:`ParsedAction.error` and yields no calls at all, so a
half-understood action is never half executed. Arguments that decode to something other than a
JSON object are *not* a markup error: the call is returned as written and the tool's own
argument check rejects it, which tells the agent which tool it got wrong.

Other formats (``<python>…</python>``, fenced code blocks, ``<sql>``, ``<search>``) and the
:class:`~agentgym.tools.formats.ToolCallFormat` protocol live in :mod:`agentgym.tools.formats`;
:func:`~agentgym.tools.formats.parse_action` reads any combination of them. This module keeps
the names code imported from it before.
"""

from __future__ import annotations

from typing import Any

from agentgym.tools.calls import ECHO_CHARS, ParsedAction, ToolCall, clip, echo, message_text
from agentgym.tools.formats import CLOSE_TAG, HERMES, OPEN_TAG, OPENAI, parse_action

__all__ = ["CLOSE_TAG", "ECHO_CHARS", "OPEN_TAG", "ParsedAction", "ToolCall", "clip", "echo", "message_text",
           "parse_tool_calls"]

_DEFAULT_FORMATS = (HERMES, OPENAI)


def parse_tool_calls(action: Any, *, first_index: int = 0) -> ParsedAction:
    """Read the Hermes/Qwen and OpenAI tool calls in ``action`` (text or an assistant message dict).

    Calls without an id of their own are named ``call_<n>``, counting from ``first_index`` (a
    caller numbering calls across an episode passes its running count, so ids stay unique).
    """
    return parse_action(action, _DEFAULT_FORMATS, first_index=first_index)
