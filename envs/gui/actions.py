"""The GUI action language: JSON actions in the shape the GUI-RL papers use, parsed strictly.

An action is one JSON object (or the same as a function call)::

    {"action": "click", "x": 120, "y": 340}           click(120, 340)
    {"action": "double_click", "x": 120, "y": 340}    double_click(x=120, y=340)
    {"action": "long_press", "x": 120, "y": 340}      long_press(120, 340)
    {"action": "type", "text": "Ada"}                 type("Ada")        (into the focused field)
    {"action": "scroll", "direction": "down"}         scroll("down")     (optional x, y: where)
    {"action": "swipe", "x1": 200, "y1": 700, "x2": 200, "y2": 300}
    {"action": "swipe", "x": 200, "y": 700, "direction": "up"}
    {"action": "key", "key": "Enter"}                 key("Enter")
    {"action": "back"}  {"action": "home"}  {"action": "wait"}
    {"action": "open_app", "app": "Contacts"}
    {"action": "finish"}                              finish()           (optional status)

Coordinates are in the environment's frame (:mod:`~agentgym.envs.gui.frames`). Where the
environment shows element ids (its text view), ``"element": 12`` may stand for ``x, y`` (the
element's centre). ``"action_type"`` is accepted for ``"action"``, ``"coordinate": [x, y]`` for
``x, y``, and the AndroidControl / AndroidWorld names ``tap``, ``input_text``,
``navigate_back``, ``navigate_home``, ``press_key``, ``status`` for ``click``, ``type``,
``back``, ``home``, ``key``, ``finish``. A reply may wrap the action in ``<answer>...</answer>``
after a ``<think>...</think>`` block (UI-R1 / GUI-R1's format) or in a fenced code block; it
may hold nothing else.

Parsing is strict and never evaluates anything: unknown actions or arguments, missing ones,
non-finite or boolean numbers (``NaN`` and ``Infinity`` are refused in the JSON itself),
coordinates outside the screen, text over ``max_text_chars``, text with NUL characters or lone
surrogates, unknown keys -- each is an :class:`ActionError` whose message tells the agent what
to write instead.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from agentgym import ast_lock

from .frames import CoordinateFrame, finite

ACTION_TYPES = ("click", "double_click", "long_press", "type", "scroll", "swipe", "key", "back", "home",
                "wait", "open_app", "finish")
#: Actions that act at a point (``x, y`` or ``element``).
POINT_ACTIONS = ("click", "double_click", "long_press")
DIRECTIONS = ("up", "down", "left", "right")
FINISH_STATUSES = ("complete", "infeasible")
ALIASES = {"tap": "click", "double_tap": "double_click", "doubleclick": "double_click", "dblclick": "double_click",
           "longpress": "long_press", "long_click": "long_press", "input_text": "type", "type_text": "type",
           "navigate_back": "back", "navigate_home": "home", "press_key": "key", "press": "key",
           "keyboard_press": "key", "status": "finish", "done": "finish", "terminate": "finish"}
#: Key names ``key`` accepts (with ``Control+``, ``Shift+``, ``Alt+``, ``Meta+`` in front, and
#: single letters and digits).
KEYS = ("Enter", "Tab", "Backspace", "Delete", "Escape", "Space", "ArrowUp", "ArrowDown", "ArrowLeft",
        "ArrowRight", "Home", "End", "PageUp", "PageDown")
_KEY_CASE = {name.lower(): name for name in KEYS} | {"esc": "Escape", "return": "Enter", "space": "Space",
                                                       "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft",
                                                       "right": "ArrowRight"}
_MODIFIERS = {"control": "Control", "ctrl": "Control", "shift": "Shift", "alt": "Alt", "meta": "Meta"}

#: The arguments of each action: required, optional, and the order of positional arguments in
#: the function-call spelling.
_PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "click": ((), ("x", "y", "element"), ("x", "y")),
    "double_click": ((), ("x", "y", "element"), ("x", "y")),
    "long_press": ((), ("x", "y", "element", "duration_ms"), ("x", "y")),
    "type": (("text",), (), ("text",)),
    "scroll": (("direction",), ("x", "y", "element"), ("direction", "x", "y")),
    "swipe": ((), ("x1", "y1", "x2", "y2", "x", "y", "direction"), ("x1", "y1", "x2", "y2")),
    "key": (("key",), (), ("key",)),
    "back": ((), (), ()),
    "home": ((), (), ()),
    "wait": ((), (), ()),
    "open_app": (("app",), (), ("app",)),
    "finish": ((), ("status",), ("status",)),
}

_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
_ANSWER = re.compile(r"^\s*<answer>(.*)</answer>\s*$", re.DOTALL)
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)
_CALL = re.compile(r"^[A-Za-z_]\w*\s*\(")


class ActionError(ValueError):
    """The agent's text is not a valid GUI action; the message says what to write instead."""


@dataclass(frozen=True)
class GuiAction:
    """One parsed action; coordinates are in the agent's frame.

    ``element`` is an element id from the text view (then ``x, y`` are ``None`` until the
    environment resolves it). For ``swipe``, ``(x, y)`` is the start and ``(x2, y2)`` the end.
    """

    type: str
    x: float | None = None
    y: float | None = None
    x2: float | None = None
    y2: float | None = None
    element: int | None = None
    text: str | None = None
    direction: str | None = None
    key: str | None = None
    app: str | None = None
    status: str | None = None
    duration_ms: int | None = None
    args: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The action as the JSON object an agent writes (canonical spelling, only what is set),
        which parses back to the same action: a swipe from point to point as ``x1, y1, x2, y2``,
        a swipe by direction as its start ``x, y`` and the ``direction``."""
        out: dict[str, Any] = {"action": self.type}
        if self.type == "swipe" and self.x2 is not None:
            out.update(x1=self.x, y1=self.y, x2=self.x2, y2=self.y2)
        else:
            for name in ("x", "y"):
                value = getattr(self, name)
                if value is not None:
                    out[name] = value
        for name in ("element", "text", "direction", "key", "app", "status", "duration_ms"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def predicted(self) -> dict[str, Any]:
        """The action as reward providers read it (``info["gui"]["predicted"]``): ``type`` and
        the arguments that are set."""
        out = self.to_dict()
        out["type"] = out.pop("action")
        return out


def action_help() -> str:
    """The action set, for the agent's instructions."""
    return (
        'Answer with one action as a JSON object, for example {"action": "click", "x": 120, "y": 340}. Actions:\n'
        '  {"action": "click", "x": X, "y": Y}            tap / click at a point\n'
        '  {"action": "double_click", "x": X, "y": Y}\n'
        '  {"action": "long_press", "x": X, "y": Y}\n'
        '  {"action": "type", "text": "..."}              type into the focused text field (click it first)\n'
        '  {"action": "scroll", "direction": "down"}      show more of the content below (up, down, left, right); '
        'optional "x", "y": where to scroll\n'
        '  {"action": "swipe", "x1": X, "y1": Y, "x2": X, "y2": Y}   drag a finger from one point to another\n'
        '  {"action": "key", "key": "Enter"}              Enter, Tab, Backspace, Escape, ArrowDown, Control+a...\n'
        '  {"action": "back"}   {"action": "home"}   {"action": "wait"}   {"action": "open_app", "app": "Name"}\n'
        '  {"action": "finish"}                           the task is done (or "status": "infeasible")'
    )


def parse_action(text: Any, frame: CoordinateFrame, *, allow_elements: bool = False,
                 max_text_chars: int = 500) -> GuiAction:
    """Parse one action written by the agent (see the module docstring).

    Args:
        text: the agent's reply.
        frame: the coordinate frame the coordinates are checked against.
        allow_elements: ``"element": id`` may stand for coordinates (the text view).
        max_text_chars: the longest text ``type`` accepts.

    Raises:
        ActionError: the reply is not one valid action; the message is written for the agent.
    """
    if not isinstance(text, str):
        raise ActionError(f"the action must be text, got {type(text).__name__}")
    body = _THINK.sub("", text, count=1)
    answer = _ANSWER.match(body)
    if answer:
        body = answer.group(1)
    fenced = _unfenced(body)
    if fenced is not None:
        body = fenced
    body = body.strip()
    if not body:
        raise ActionError('no action found; answer with one JSON object such as {"action": "click", "x": 120, "y": 340}')
    if body.startswith("{"):
        raw = _load_json(body)
    elif _CALL.match(body):
        raw = _load_call(body)
    else:
        raise ActionError('write only the action, as one JSON object such as {"action": "click", "x": 120, "y": 340} '
                          "(optionally inside <answer>...</answer>)")
    return _build(raw, frame, allow_elements=allow_elements, max_text_chars=max_text_chars)


# ------------------------------------------------------------------ reading the text
def _unfenced(body: str) -> str | None:
    """The inside of the fenced code block that is the whole of ``body``, else ``None``.

    Only text that opens and closes a fence reaches the pattern, which then matches on its
    first try: without a closing fence it would try every split of the blanks or letters
    after the opening one (quadratic time on a long reply)."""
    text = body.strip()
    if len(text) < 6 or not (text.startswith("```") and text.endswith("```")):
        return None
    fence = _FENCE.match(text)
    return fence.group(1) if fence else None


def _refuse_constant(name: str) -> Any:
    raise ActionError(f"{name} is not a number an action can use; coordinates must be finite numbers")


def _load_json(body: str) -> dict[str, Any]:
    try:
        raw = json.loads(body, parse_constant=_refuse_constant)
    except ActionError:
        raise
    except (ValueError, RecursionError) as exc:
        where = f" ({exc.msg} at character {exc.pos})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ActionError(f"the action is not valid JSON{where}; write one object such as "
                          f'{{"action": "click", "x": 120, "y": 340}}') from None
    if not isinstance(raw, dict):
        raise ActionError(f'the action must be a JSON object such as {{"action": "back"}}, got {type(raw).__name__}')
    return raw


def _load_call(body: str) -> dict[str, Any]:
    try:
        tree = ast_lock.parse(body, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ActionError("the action is not a valid call; write it as click(120, 340) or as JSON") from None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise ActionError("write one call such as click(120, 340), nothing else")
    name = ALIASES.get(call.func.id.lower(), call.func.id.lower())
    if name not in _PARAMS:
        raise ActionError(f"unknown action {call.func.id!r}; the actions are {', '.join(ACTION_TYPES)}")
    order = _PARAMS[name][2]
    if len(call.args) > len(order):
        raise ActionError(f"{name} takes at most {len(order)} positional arguments ({', '.join(order) or 'none'})")
    raw: dict[str, Any] = {"action": name}
    for slot, node in zip(order, call.args):
        raw[slot] = _literal(node)
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ActionError("write the arguments out; ** is not allowed")
        if keyword.arg in raw:
            raise ActionError(f"argument {keyword.arg!r} is given twice")
        raw[keyword.arg] = _literal(keyword.value)
    return raw


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)) and not isinstance(node.value, bool):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item) for item in node.elts]
    raise ActionError("arguments must be plain numbers or quoted text")


# ------------------------------------------------------------------ checking the arguments
def _build(raw: dict[str, Any], frame: CoordinateFrame, *, allow_elements: bool, max_text_chars: int) -> GuiAction:
    raw = dict(raw)
    if "action" not in raw and "action_type" in raw:
        raw["action"] = raw.pop("action_type")
    kind = raw.pop("action", None)
    if not isinstance(kind, str):
        raise ActionError('the object needs "action": one of ' + ", ".join(ACTION_TYPES))
    kind = ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if kind not in _PARAMS:
        raise ActionError(f"unknown action {_short(kind)!r}; the actions are {', '.join(ACTION_TYPES)}")
    if "coordinate" in raw:
        point = raw.pop("coordinate")
        if not isinstance(point, list) or len(point) != 2:
            raise ActionError('"coordinate" must be [x, y]')
        if "x" in raw or "y" in raw:
            raise ActionError('give either "coordinate" or "x" and "y", not both')
        raw["x"], raw["y"] = point
    required, optional, _ = _PARAMS[kind]
    unknown = sorted(set(raw) - set(required) - set(optional))
    if unknown:
        allowed = ", ".join((*required, *optional)) or "no arguments"
        raise ActionError(f"{kind} does not take {_short(', '.join(map(str, unknown)))}; it takes {allowed}")
    missing = [name for name in required if name not in raw]
    if missing:
        raise ActionError(f"{kind} needs {', '.join(missing)}")
    args = dict(raw)
    values: dict[str, Any] = {}
    if kind in POINT_ACTIONS or kind == "scroll":
        values.update(_point_or_element(kind, raw, frame, allow_elements, required_point=kind != "scroll"))
    if kind == "long_press" and "duration_ms" in raw:
        duration = raw["duration_ms"]
        if not finite(duration) or not 0 <= duration <= 5000:
            raise ActionError("duration_ms must be a number of milliseconds from 0 to 5000")
        values["duration_ms"] = int(duration)
    if kind == "type":
        values["text"] = _text(raw["text"], max_text_chars)
    if kind in ("scroll", "swipe") and "direction" in raw:
        values["direction"] = _direction(raw["direction"])
    if kind == "swipe":
        values.update(_swipe(raw, frame))
    if kind == "key":
        values["key"] = _key(raw["key"])
    if kind == "open_app":
        values["app"] = _text(raw["app"], 100, what="app")
    if kind == "finish" and "status" in raw:
        status = raw["status"]
        if not isinstance(status, str) or status.strip().lower() not in FINISH_STATUSES:
            raise ActionError(f"finish's status must be one of {', '.join(FINISH_STATUSES)}")
        values["status"] = status.strip().lower()
    return GuiAction(kind, args=args, **values)


def _point_or_element(kind: str, raw: dict[str, Any], frame: CoordinateFrame, allow_elements: bool,
                      *, required_point: bool) -> dict[str, Any]:
    has_point = "x" in raw or "y" in raw
    if "element" in raw:
        if not allow_elements:
            raise ActionError("this screen shows no element ids; give the point as x and y")
        if has_point:
            raise ActionError('give either "element" or "x" and "y", not both')
        return {"element": _element_id(raw["element"])}
    if not has_point:
        if required_point:
            more = ' or "element"' if allow_elements else ""
            raise ActionError(f'{kind} needs "x" and "y"{more}')
        return {}
    if "x" not in raw or "y" not in raw:
        raise ActionError(f'{kind} needs both "x" and "y"')
    x, y = _coordinate(raw["x"], "x"), _coordinate(raw["y"], "y")
    _on_screen(frame, x, y)
    return {"x": x, "y": y}


def _swipe(raw: dict[str, Any], frame: CoordinateFrame) -> dict[str, Any]:
    ends = [name for name in ("x1", "y1", "x2", "y2") if name in raw]
    if ends:
        if len(ends) != 4 or any(name in raw for name in ("x", "y", "direction")):
            raise ActionError('swipe takes either "x1", "y1", "x2", "y2" or "x", "y", "direction"')
        x1, y1 = _coordinate(raw["x1"], "x1"), _coordinate(raw["y1"], "y1")
        x2, y2 = _coordinate(raw["x2"], "x2"), _coordinate(raw["y2"], "y2")
        _on_screen(frame, x1, y1)
        _on_screen(frame, x2, y2)
        return {"x": x1, "y": y1, "x2": x2, "y2": y2}
    if "direction" not in raw:
        raise ActionError('swipe needs "x1", "y1", "x2", "y2", or "x", "y" and "direction"')
    if "x" not in raw or "y" not in raw:
        raise ActionError('swipe with a direction needs the start point "x" and "y"')
    x, y = _coordinate(raw["x"], "x"), _coordinate(raw["y"], "y")
    _on_screen(frame, x, y)
    return {"x": x, "y": y}


def _coordinate(value: Any, name: str) -> float:
    if isinstance(value, str):
        raise ActionError(f"{name} must be a number, not text ({_short(value)!r})")
    if not finite(value):
        raise ActionError(f"{name} must be a finite number, got {_short(repr(value))}")
    return float(value)


def _on_screen(frame: CoordinateFrame, x: float, y: float) -> None:
    if not frame.contains(x, y):
        raise ActionError(f"({_number(x)}, {_number(y)}) is outside the screen; use {frame.range_text()}")


def _number(value: float) -> str:
    """``value`` written short (``5``, ``1e+08``) where that is exact, else in full: rounded to
    six digits, 1000.001 would read as 1000, a point inside the normalised frame."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def _element_id(value: Any) -> int:
    """An id below 10**9, as a number or as text (``"12"``, ``"[12]"``; decimal digits only:
    ``isdigit`` also holds for superscripts, which ``int`` refuses)."""
    digits = value.strip().strip("[]") if isinstance(value, str) else ""
    if digits.isdecimal() and len(digits) <= 9:
        value = int(digits)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**9:
        raise ActionError("element must be an id shown in brackets in the screen text, such as 12")
    return value


def _text(value: Any, limit: int, *, what: str = "text") -> str:
    if not isinstance(value, str):
        raise ActionError(f"{what} must be a string in quotes")
    if len(value) > limit:
        raise ActionError(f"{what} is {len(value)} characters long; the limit is {limit}")
    if "\x00" in value:
        raise ActionError(f"{what} contains NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ActionError(f"{what} is not valid unicode (it has an unpaired surrogate)") from None
    return value


def _direction(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in DIRECTIONS:
        raise ActionError(f"direction must be one of {', '.join(DIRECTIONS)}")
    return value.strip().lower()


def _key(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise ActionError("key must be a key name such as Enter, Tab, Backspace, Escape, ArrowDown or Control+a")
    parts = value.strip().split("+")
    *modifiers, base = parts
    names = []
    for modifier in modifiers:
        known = _MODIFIERS.get(modifier.strip().lower())
        if known is None:
            raise ActionError(f"unknown modifier {_short(modifier)!r}; use Control, Shift, Alt or Meta")
        names.append(known)
    base = base.strip()
    if len(base) == 1 and base.isascii() and base.isalnum():
        names.append(base.lower() if modifiers else base)
    elif base.lower() in _KEY_CASE:
        names.append(_KEY_CASE[base.lower()])
    else:
        raise ActionError(f"unknown key {_short(base)!r}; use one of {', '.join(KEYS)}, a letter or a digit")
    return "+".join(names)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


__all__ = ["ACTION_TYPES", "ActionError", "DIRECTIONS", "GuiAction", "KEYS", "POINT_ACTIONS", "action_help",
           "parse_action"]
