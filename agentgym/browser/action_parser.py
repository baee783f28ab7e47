"""Reading the agent's browser actions: function-call strings, parsed, never evaluated.

The action set (BrowserGym's high-level actions; ``bid`` is an element id from the page text,
written ``'12'`` or ``12``)::

    click(bid)                 dblclick(bid)              hover(bid)            focus(bid)
    fill(bid, text)            clear(bid)                 check(bid)            uncheck(bid)
    select_option(bid, option) (option: a value or a label, or a list of them for a multi-select)
    press(key)                 press(bid, key)            (key: "Enter", "Control+a", "ArrowDown", " "...)
    keyboard_press(key)        keyboard_type(text)        keyboard_insert_text(text)
    keyboard_down(key)         keyboard_up(key)           (a key held across turns, e.g. Shift)
    drag_and_drop(from_bid, to_bid)                       (press on one element, release on another)
    scroll(dx, dy)             scroll_at(x, y, dx, dy)    mouse_click(x, y)     mouse_dblclick(x, y)
    mouse_move(x, y)           mouse_down(x, y)           mouse_up(x, y)
    mouse_drag_and_drop(from_x, from_y, to_x, to_y)       (pixels; x, y inside the viewport)
    goto(url)                  go_back()                  go_forward()          (pages on this machine only)
    new_tab()                  tab_focus(index)           tab_close()           (tabs counted from 0)
    noop()                     noop(wait_ms)              send_msg_to_user(text)
    report_infeasible(reason)                             (the task cannot be done: ends the episode)
    upload_file(bid, file)     mouse_upload_file(x, y, file)  (a file name or a list of them;
                                                          only where the environment has an upload folder)

``press(key)`` presses the key on whatever has focus (like ``keyboard_press``);
``press(bid, key)`` focuses the element first. ``click`` and ``dblclick`` take an optional
``button`` and ``modifiers`` (``['Shift']``, ``['ControlOrMeta']``: keys held during the
click), the mouse actions an optional ``button`` (``'left'``, ``'middle'``, ``'right'``), as
BrowserGym's do; ``mouse_down`` and ``mouse_up`` may come in different turns (the button stays
held in between), and several ``mouse_move`` lines between them draw a path. Arguments may also
be given by keyword (``fill(bid="3", text="abc")``). ``goto`` takes a URL, a path on the current
site, or a loopback address without ``http://`` (``localhost:8000/page``), as an address bar
does. The upload actions click and answer the file chooser that opens with the files named;
:class:`~agentgym.browser.env.BrowserEnv` offers them only with an ``upload_dir`` and finds the
names there (never elsewhere on the machine).

Where the action is in the text (:func:`parse_actions`):

1. If the text has fenced blocks (```` ``` ````), only the last block counts (unless the whole
   text is a sequence of actions: then the backticks are inside their text arguments).
2. If the whole (block) text is a sequence of actions, one per line, they are all taken.
3. Otherwise the longest run of lines at the *end* of the text (at most the last
   :data:`MAX_SUFFIX_LINES`) that is a sequence of actions is taken — reasoning first, actions
   last. A line may start with ``Action:`` (any case), which is ignored.

The text is parsed with :func:`ast.parse`; only calls of the names above with literal arguments
(strings, numbers, lists of strings) are accepted. Nothing is evaluated.
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

from agentgym import ast_lock

#: How many trailing lines may hold the actions after reasoning text.
MAX_SUFFIX_LINES = 40
#: The most characters ``keyboard_type`` types (key by key); ``fill`` takes any length.
MAX_TYPED_CHARS = 500
#: The most milliseconds ``noop`` waits.
MAX_WAIT_MS = 10_000
#: Mouse buttons of the coordinate actions.
MOUSE_BUTTONS = ("left", "middle", "right")
#: Modifier keys ``click`` and ``dblclick`` may hold (``ControlOrMeta``: Control, Meta on macOS).
MODIFIER_KEYS = ("Alt", "Control", "ControlOrMeta", "Meta", "Shift")


class ActionError(ValueError):
    """The text holds no valid action. The message is written for the agent."""


@dataclass(frozen=True)
class BrowserAction:
    """One parsed action.

    Attributes:
        name: the function name (``"click"``, ``"fill"``...).
        args: the arguments by parameter name, checked and normalised (ids as strings of digits).
        source: the call as the agent wrote it.
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def __str__(self) -> str:
        """The call with every argument by keyword, those left at their defaults omitted."""
        defaults = {name: default for name, _, default in ACTION_PARAMS.get(self.name, ())}
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items()
                          if k not in defaults or defaults[k] is _REQUIRED or v != defaults[k])
        return f"{self.name}({inner})"


# ------------------------------------------------------------------ argument kinds
def _bid(value: Any) -> str:
    if isinstance(value, bool):
        raise ActionError("an element id is a number from the page text, e.g. click('12')")
    if isinstance(value, int):
        if value < 0:
            raise ActionError(f"element id {value} is negative; ids are the numbers in brackets in the page text")
        if value < 10**12:
            return str(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1].strip()
        if text.isascii() and text.isdigit() and len(text) <= 12:
            return str(int(text))
    raise ActionError(f"{value!r} is not an element id; ids are the numbers in brackets in the page text, "
                      f"e.g. click('12')")


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise ActionError(f"expected text in quotes, got {value!r}")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise ActionError(f"expected text in quotes, got {value!r}")


def _key(value: Any) -> str:
    """A key name (spaces around it dropped), or ``" "``: the space bar, as Playwright reads it."""
    if value == " ":
        return value
    if not isinstance(value, str) or not value.strip():
        raise ActionError(f"expected a key name in quotes such as 'Enter' or 'Control+a', got {value!r}")
    if len(value) > 100:
        raise ActionError("a key name is at most 100 characters")
    return value.strip()


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ActionError(f"expected a number, got {value!r}")
    if abs(value) > 100_000:
        raise ActionError(f"{value!r} is out of range (at most 100000 pixels)")
    return float(value)


def _button(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in MOUSE_BUTTONS:
        raise ActionError(f"button is one of {', '.join(repr(b) for b in MOUSE_BUTTONS)}, got {value!r}")
    return value.strip().lower()


def _options(value: Any) -> str | list[str]:
    if isinstance(value, (list, tuple)):
        if not value:
            raise ActionError("select_option needs at least one option")
        return [_text(v) for v in value]
    return _text(value)


def _modifiers(value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)):
        raise ActionError(f"modifiers is a list of keys such as ['Shift'], got {value!r}")
    known = {key.lower(): key for key in MODIFIER_KEYS}
    chosen: list[str] = []
    for name in names:
        key = known.get(name.strip().lower()) if isinstance(name, str) else None
        if key is None:
            raise ActionError(f"modifiers are among {', '.join(repr(k) for k in MODIFIER_KEYS)}, got {name!r}")
        if key not in chosen:
            chosen.append(key)
    return tuple(chosen)


def _tab_index(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1000:
        raise ActionError(f"a tab is given by its number from 0 (the first tab), got {value!r}")
    return value


def _files(value: Any) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ActionError(f"file is a file name in quotes or a list of them (an empty list clears the choice), "
                          f"got {value!r}")
    if len(names) > 20:
        raise ActionError("at most 20 files at once")
    return [name.strip() for name in names]


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ActionError(f"expected a URL in quotes, got {value!r}")
    return value.strip()


def _wait_ms(value: Any) -> float:
    number = _number(value)
    if not 0 <= number <= MAX_WAIT_MS:
        raise ActionError(f"noop waits 0 to {MAX_WAIT_MS} milliseconds, got {value!r}")
    return number


def _typed(value: Any) -> str:
    text = _text(value)
    if len(text) > MAX_TYPED_CHARS:
        raise ActionError(f"keyboard_type types at most {MAX_TYPED_CHARS} characters; use fill(bid, text) "
                          f"for longer text")
    return text


_Param = tuple[str, Callable[[Any], Any], Any]  # name, checker, default (_REQUIRED: none)
_REQUIRED = object()


def _p(name: str, check: Callable[[Any], Any], default: Any = _REQUIRED) -> _Param:
    return (name, check, default)


#: Every action: its parameters in order.
ACTION_PARAMS: dict[str, tuple[_Param, ...]] = {
    "click": (_p("bid", _bid), _p("button", _button, "left"), _p("modifiers", _modifiers, ())),
    "dblclick": (_p("bid", _bid), _p("button", _button, "left"), _p("modifiers", _modifiers, ())),
    "hover": (_p("bid", _bid),),
    "focus": (_p("bid", _bid),),
    "fill": (_p("bid", _bid), _p("text", _text)),
    "clear": (_p("bid", _bid),),
    "check": (_p("bid", _bid),),
    "uncheck": (_p("bid", _bid),),
    "select_option": (_p("bid", _bid), _p("options", _options)),
    "press": (_p("bid", _bid, None), _p("key", _key)),
    "keyboard_press": (_p("key", _key),),
    "keyboard_type": (_p("text", _typed),),
    "keyboard_insert_text": (_p("text", _text),),
    "keyboard_down": (_p("key", _key),),
    "keyboard_up": (_p("key", _key),),
    "drag_and_drop": (_p("from_bid", _bid), _p("to_bid", _bid)),
    "scroll": (_p("dx", _number), _p("dy", _number)),
    "scroll_at": (_p("x", _number), _p("y", _number), _p("dx", _number), _p("dy", _number)),
    "mouse_click": (_p("x", _number), _p("y", _number), _p("button", _button, "left")),
    "mouse_dblclick": (_p("x", _number), _p("y", _number), _p("button", _button, "left")),
    "mouse_move": (_p("x", _number), _p("y", _number)),
    "mouse_down": (_p("x", _number), _p("y", _number), _p("button", _button, "left")),
    "mouse_up": (_p("x", _number), _p("y", _number), _p("button", _button, "left")),
    "mouse_drag_and_drop": (_p("from_x", _number), _p("from_y", _number), _p("to_x", _number), _p("to_y", _number)),
    "goto": (_p("url", _url),),
    "go_back": (),
    "go_forward": (),
    "new_tab": (),
    "tab_focus": (_p("index", _tab_index),),
    "tab_close": (),
    "noop": (_p("wait_ms", _wait_ms, 0.0),),
    "send_msg_to_user": (_p("text", _text),),
    "report_infeasible": (_p("reason", _text),),
    "upload_file": (_p("bid", _bid), _p("file", _files)),
    "mouse_upload_file": (_p("x", _number), _p("y", _number), _p("file", _files)),
}

#: Alternative keyword names accepted (BrowserGym's spellings).
_ALIASES = {"value": "text", "key_comb": "key", "delta_x": "dx", "delta_y": "dy", "options": "options",
            "option": "options", "msg": "text", "message": "text", "files": "file"}


def required_parameters(name: str) -> tuple[str, ...]:
    """The parameters of action ``name`` that have no default, in order (``("bid", "text")`` for
    ``fill``; ``("key",)`` for ``press``, whose element is optional)."""
    return tuple(param for param, _, default in ACTION_PARAMS[name] if default is _REQUIRED)


def signature(name: str) -> str:
    """``"fill(bid, text)"``: how to call action ``name``."""
    if name == "press":
        return "press(key) or press(bid, key)"
    params = ACTION_PARAMS[name]
    shown = [p[0] if p[2] is _REQUIRED else f"{p[0]}={p[2]!r}" for p in params]
    return f"{name}({', '.join(shown)})"


#: Named groups of actions (BrowserGym's idea of action subsets): an environment may offer only
#: some of them (``BrowserEnv(action_set=["bid", "nav"])``), which also shortens its instructions.
ACTION_GROUPS: dict[str, tuple[str, ...]] = {
    "bid": ("click", "dblclick", "hover", "focus", "fill", "clear", "check", "uncheck", "select_option",
            "press", "drag_and_drop", "scroll", "noop"),
    "coord": ("mouse_click", "mouse_dblclick", "mouse_move", "mouse_down", "mouse_up", "mouse_drag_and_drop",
              "scroll", "scroll_at", "noop"),
    "keyboard": ("keyboard_press", "keyboard_type", "keyboard_insert_text", "keyboard_down", "keyboard_up"),
    "nav": ("goto", "go_back", "go_forward"),
    "tab": ("new_tab", "tab_focus", "tab_close"),
    "chat": ("send_msg_to_user",),
    "infeas": ("report_infeasible",),
    "upload": ("upload_file", "mouse_upload_file"),
}
assert {name for names in ACTION_GROUPS.values() for name in names} == set(ACTION_PARAMS), "every action has a group"
#: The actions offered unless an environment chooses: all but the uploads (which need a folder
#: of files to choose from, see BrowserEnv's ``upload_dir``).
DEFAULT_ACTIONS: tuple[str, ...] = tuple(name for name in ACTION_PARAMS if name not in ACTION_GROUPS["upload"])


def resolve_action_set(spec: Any) -> tuple[str, ...]:
    """The action names ``spec`` stands for, in the order of :data:`ACTION_PARAMS`: ``None`` for
    :data:`DEFAULT_ACTIONS`, else a group name or action name, or a list of them (``["bid",
    "nav", "mouse_click"]``).

    Raises:
        ValueError: an unknown name, or nothing chosen (the message lists the valid names).
    """
    if spec is None:
        return DEFAULT_ACTIONS
    items = [spec] if isinstance(spec, str) else spec
    if not isinstance(items, (list, tuple, set, frozenset)) or not items:
        raise ValueError(f"an action set is a group name, an action name or a non-empty list of them, got {spec!r}")
    chosen: set[str] = set()
    for item in items:
        if item in ACTION_GROUPS:
            chosen.update(ACTION_GROUPS[item])
        elif item in ACTION_PARAMS:
            chosen.add(item)
        else:
            raise ValueError(f"unknown action or action group {item!r}; groups: {', '.join(ACTION_GROUPS)}; "
                             f"actions: {', '.join(ACTION_PARAMS)}")
    return tuple(name for name in ACTION_PARAMS if name in chosen)


def action_help(names: tuple[str, ...] | None = None) -> str:
    """One line per action (``names``, default :data:`DEFAULT_ACTIONS`): the signatures, for
    instructions shown to the agent."""
    return "\n".join(signature(name) for name in (DEFAULT_ACTIONS if names is None else names))


# ------------------------------------------------------------------------ parsing
#: A fenced block; a language tag (```python) counts only on a line of its own, so that
#: ```click('3')``` keeps its action.
_FENCE = re.compile(r"```(?:[ \t]*[A-Za-z0-9_+-]*[ \t]*\r?\n)?(.*?)```", re.DOTALL)
_LABEL = re.compile(r"^\s*(?:final\s+|next\s+)?actions?\s*:\s*", re.IGNORECASE)


def parse_actions(text: Any, allowed: tuple[str, ...] | None = None) -> list[BrowserAction]:
    """The actions in ``text`` (see the module docstring for where they are looked for), each
    one of ``allowed`` (default: every action; see :func:`resolve_action_set`).

    Raises:
        ActionError: no valid action; the message says what is wrong and how to write one.
    """
    names = tuple(ACTION_PARAMS) if allowed is None else allowed
    if not isinstance(text, str):
        raise ActionError(f"the action must be text, got {type(text).__name__}")
    blocks = _FENCE.findall(text)
    if blocks:
        # Backticks inside a call's text (fill('3', 'a ```b``` c')) make no block: a text that is
        # a sequence of actions as a whole is taken as it is.
        try:
            return _parse_block(_lines(text), names)
        except ActionError:
            pass
    lines = _lines(blocks[-1] if blocks else text)
    starts = [i for i, line in enumerate(lines) if line.strip()]
    if not starts:
        raise ActionError("no action found; write one call such as click('12') or fill('15', 'text')")
    try:
        return _parse_block(lines, names)
    except ActionError as whole_error:
        error = whole_error
    best: list[BrowserAction] | None = None
    for count, start in enumerate(reversed(starts[1:]), start=1):
        if count > MAX_SUFFIX_LINES:
            break
        try:
            best = _parse_block(lines[start:], names)
        except ActionError as exc:
            if count == 1:
                error = exc  # what is wrong with the last line: the likeliest action
    if best is not None:
        return best
    raise error


def _lines(body: str) -> list[str]:
    """The lines of ``body``, each without its ``Action:`` label."""
    return [_LABEL.sub("", line, count=1) for line in _NEWLINE.split(body.strip("\r\n"))]


def _parse_block(lines: list[str], names: tuple[str, ...]) -> list[BrowserAction]:
    source = textwrap.dedent("\n".join(lines)).strip("\n")
    if "\x00" in source:
        # Not silently dropped: click('1\x002') is garbage, not click('12').
        raise ActionError("the action contains NUL characters (\\x00); write a plain call such as click('12')")
    try:
        tree = ast_lock.parse(source, mode="exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        # MemoryError / RecursionError: nesting deeper than the parser's stack ("-" * 10**5 + "1").
        raise ActionError(_syntax_message(source)) from None
    if not tree.body:
        raise ActionError("no action found; write one call such as click('12')")
    segments = _Segments(source)
    return [_action(statement, segments, names) for statement in tree.body]


#: Where Python's tokenizer ends a line (not str.splitlines, which also splits at \f, \u2028...):
#: ``_NEWLINE`` matches the line ends, ``_LINE_ENDS`` the places right after them.
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LINE_ENDS = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


class _Segments:
    """The source text of AST nodes; the text is split into lines once (``ast.get_source_segment``
    splits it again for every node, which makes a text of many actions quadratic)."""

    def __init__(self, source: str) -> None:
        self._lines = _LINE_ENDS.split(source)
        self._encoded: dict[int, bytes] = {}

    def _line(self, index: int) -> bytes:
        line = self._encoded.get(index)
        if line is None:
            line = self._encoded[index] = self._lines[index].encode("utf-8")
        return line

    def text(self, node: ast.AST) -> str:
        """The source of ``node`` (column offsets are UTF-8 byte offsets, as the AST gives them)."""
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        start, end = node.col_offset, node.end_col_offset
        if end is None or not 0 <= first <= last < len(self._lines):
            return ""
        if first == last:
            return self._line(first)[start:end].decode("utf-8", "replace")
        parts = [self._line(first)[start:]] + [self._line(i) for i in range(first + 1, last)]
        parts.append(self._line(last)[:end])
        return b"".join(parts).decode("utf-8", "replace")


def _syntax_message(source: str) -> str:
    shown = source.strip().splitlines()[-1] if source.strip() else ""
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return (f"could not read an action in {shown!r}; write a call such as click('12') or "
            f"fill('15', 'some text'), with text in quotes")


def _action(statement: ast.stmt, segments: _Segments, names: tuple[str, ...]) -> BrowserAction:
    segment = segments.text(statement)
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        raise ActionError(f"{_short(segment)!r} is not an action; write a call such as click('12')")
    call = statement.value
    if not isinstance(call.func, ast.Name):
        raise ActionError(f"{_short(segment)!r} is not one of the actions; use one of: {', '.join(names)}")
    name = call.func.id
    if name not in names:
        what = f"{name!r} is not offered here" if name in ACTION_PARAMS else f"unknown action {name!r}"
        raise ActionError(f"{what}; use one of: {', '.join(names)}")
    positional = [_literal(arg, name) for arg in call.args]
    keywords: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ActionError(f"{name}: write the arguments out (no **); usage: {signature(name)}")
        key = _ALIASES.get(keyword.arg, keyword.arg)
        if key in keywords:  # f(text=1, text=2) or an alias beside its name (value= and text=)
            raise ActionError(f"{name}: argument {key!r} given twice; usage: {signature(name)}")
        keywords[key] = _literal(keyword.value, name)
    return BrowserAction(name, _bind(name, positional, keywords), _short(segment, 200))


def _literal(node: ast.expr, name: str) -> Any:
    if isinstance(node, ast.Starred):
        raise ActionError(f"{name}: write the arguments out (no *); usage: {signature(name)}")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(element, name) for element in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant) and (node.value is None or type(node.value) in (str, int, float, bool)):
        return node.value
    raise ActionError(f"{name}: arguments must be plain values — text in quotes or numbers — "
                      f"not expressions; usage: {signature(name)}")


def _bind(name: str, positional: list[Any], keywords: dict[str, Any]) -> dict[str, Any]:
    params = ACTION_PARAMS[name]
    if name == "press" and len(positional) == 1 and "key" not in keywords:
        positional = [None, *positional]  # press(key): no element
    if len(positional) > len(params):
        raise ActionError(f"{name} takes {len(params)} argument(s), got {len(positional)}; "
                          f"usage: {signature(name)}")
    values: dict[str, Any] = {}
    for (pname, _, _), value in zip(params, positional):
        values[pname] = value
    for key, value in keywords.items():
        if key not in {p[0] for p in params}:
            raise ActionError(f"{name} has no argument {key!r}; usage: {signature(name)}")
        if key in values:
            raise ActionError(f"{name}: argument {key!r} given twice; usage: {signature(name)}")
        values[key] = value
    bound: dict[str, Any] = {}
    for pname, check, default in params:
        if pname not in values:
            if default is _REQUIRED:
                raise ActionError(f"{name} is missing its argument {pname!r}; usage: {signature(name)}")
            bound[pname] = default
            continue
        value = values[pname]
        if value is None and default is None:
            bound[pname] = None
            continue
        try:
            bound[pname] = check(value)
        except ActionError as exc:
            raise ActionError(f"{name}: {exc}") from None
    return bound


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
