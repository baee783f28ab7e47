"""The format reward of GUI agents: whether the model's output has the expected shape, as a
pure function.

Hostile input never raises: an output that is not a string scores ``0.0``; only an unknown
pattern name (a configuration error) raises ``ValueError``.

Format (UI-R1's ``R_F``, GUI-R1's ``R_f``): 1 when the output has the expected shape:
``"think_answer"``: ``<think>…</think><answer>…</answer>`` and nothing else (whitespace
aside), each tag exactly once, a non-blank answer; ``"answer"``: only ``<answer>…</answer>``;
``"json_action"``: a bare JSON object (strict JSON: no ``NaN`` or ``Infinity``) whose
``"action"`` is a non-empty string (the GUI environments' action shape, e.g.
``{"action": "click", "x": 120, "y": 340}``);
``"think_answer_json"``: ``think_answer`` whose answer is such a JSON action; or any compiled
``re.Pattern`` (full match). The tag checks scan the text once (no backtracking regex), so a
huge output costs linear time.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence, Union

#: the shapes :func:`format_reward` knows by name (see the module docstring)
FORMAT_PATTERNS = ("think_answer", "answer", "json_action", "think_answer_json")
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def _tagged_blocks(text: str, names: Sequence[str]) -> list[str] | None:
    """The contents of ``<name>…</name>`` blocks that make up the whole ``text`` in the order
    of ``names`` (whitespace around and between allowed), each of the GUI tags occurring exactly
    where expected and nowhere else; ``None`` when the text is not of that shape."""
    expected = [tag for name in names for tag in (f"<{name}>", f"</{name}>")]
    if sum(text.count(tag) for tag in _TAGS) != len(expected):
        return None
    position = 0
    blocks: list[str] = []
    for name in names:
        opening, closing = f"<{name}>", f"</{name}>"
        start = text.find(opening, position)
        if start < 0 or text[position:start].strip():
            return None
        end = text.find(closing, start + len(opening))
        if end < 0:
            return None
        blocks.append(text[start + len(opening):end])
        position = end + len(closing)
    if text[position:].strip():
        return None
    return blocks


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def is_json_action(text: str) -> bool:
    """Whether ``text`` (whitespace aside) is a JSON object whose ``"action"`` is a non-blank
    string. ``NaN`` and ``Infinity``, which Python's ``json`` reads, are not JSON (the GUI
    environments' parser refuses them): a text holding one is not a JSON action."""
    try:
        parsed = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("action"), str) and parsed["action"].strip() != ""


def format_reward(text: Any, *, pattern: Union[str, "re.Pattern[str]"] = "think_answer") -> float:
    """1 when ``text`` has the shape ``pattern`` names (see the module docstring:
    ``"think_answer"``, ``"answer"``, ``"json_action"``, ``"think_answer_json"``, or a compiled
    regular expression that must match the whole text), else 0; 0 for a non-string.
    ``ValueError`` for an unknown pattern name."""
    if isinstance(pattern, re.Pattern):
        return float(isinstance(text, str) and pattern.fullmatch(text) is not None)
    if pattern not in FORMAT_PATTERNS:
        raise ValueError(f"pattern must be one of {FORMAT_PATTERNS} or a compiled re.Pattern, got {pattern!r}")
    if not isinstance(text, str):
        return 0.0
    if pattern == "json_action":
        return float(is_json_action(text))
    names = ("answer",) if pattern == "answer" else ("think", "answer")
    blocks = _tagged_blocks(text, names)
    if blocks is None or not blocks[-1].strip():
        return 0.0
    if pattern == "think_answer_json":
        return float(is_json_action(blocks[-1]))
    return 1.0


__all__ = ["FORMAT_PATTERNS", "format_reward", "is_json_action"]
