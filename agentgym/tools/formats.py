"""Tool-call formats: how an agent writes a call in its action, one pluggable parser each.

An environment lists the formats its agent writes in ``LLMEnv.tool_call_formats`` (names or
objects; the default is ``("hermes", "openai")``) and the
:class:`~agentgym.wrappers.ToolCalling` wrapper reads every action with them
(:func:`parse_action`). The built-in formats, by name:

==================  ===============================================  ==========================
name                the agent writes                                 call
==================  ===============================================  ==========================
``hermes``          ``<tool_call>{"name": ..., "arguments": {...}}    any tool
                    </tool_call>`` (Hermes, Qwen; also ``parameters``
                    for ``arguments``, and arguments as a JSON string)
``openai``          an assistant message dict ``{"content", "tool_   any tool
                    calls": [...]}``, or its JSON text
``python``          ``<python>code</python>``                         ``python(code=...)``
``python-fenced``   a fenced block: ```` ```python ```` … ```` ``` ````  ``python(code=...)``
``sql``             ``<sql>query</sql>``                             ``sql(query=...)``
``search``          ``<search>query</search>``                       ``search(query=...)``
==================  ===============================================  ==========================

:class:`TagFormat` and :class:`FencedCodeFormat` make more of the same kind (another tag,
another tool or argument name). A format of your own is any object with the attributes of
:class:`ToolCallFormat`.

The rules :func:`parse_action` keeps, so that an action is never half understood:

* It never raises. Markup a format cannot read — an unclosed or stray tag, an empty block,
  nested blocks, invalid JSON, a call without a name — is reported in
  :attr:`~agentgym.tools.calls.ParsedAction.error` (naming the problem) and yields no calls.
* One format per action: markup of two formats in one action is an error ("the action mixes
  ..."), except markup that sits *inside* another format's block (a ```` ```python ```` fence
  inside ``<python>``, a ``<python>`` tag inside a JSON string argument), which belongs to it.
* Calls without an id of their own are named ``call_<n>``, counting from ``first_index``.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

from agentgym.tools.calls import ParsedAction, ToolCall, echo, message_text

OPEN_TAG, CLOSE_TAG = "<tool_call>", "</tool_call>"
_HERMES_TAG = re.compile(r"</?tool_call>")

Span = tuple[int, int]


@dataclass(frozen=True)
class FormatMatch:
    """What one format found in a text: its calls, or why its markup cannot be read.

    Attributes:
        calls: the calls in order; an empty ``id`` is filled in (``call_<n>``) by
            :func:`parse_action`.
        spans: ``(start, end)`` of each piece of this format's markup in the text (whole
            blocks for calls; the offending tags for an error). The prose is the text with
            these removed; markup inside another format's span belongs to that format.
        error: why the markup cannot be read, written for the agent; then ``calls`` is empty.
    """

    calls: tuple[ToolCall, ...] = ()
    spans: tuple[Span, ...] = ()
    error: str | None = None


@runtime_checkable
class ToolCallFormat(Protocol):
    """A way of writing tool calls in text.

    Required:
        name: a short identifier (``"python"``), used in configuration and error messages.
        example: one call written in this format, shown to the agent when its markup is wrong.
        find(text): a :class:`FormatMatch` when ``text`` holds this format's markup (calls, or
            an error saying what is wrong), ``None`` when it holds none. Must not raise.

    Optional (the built-in formats have them):
        tool: the one tool this format calls (tag formats), checked against the
            environment's tools when :class:`~agentgym.wrappers.ToolCalling` is built.
        render(name, arguments): the call written in this format, or ``None`` when the format
            cannot express it (scripted policies and tests write calls with it).
        malformed_examples: actions whose markup is broken in each way the format detects
            (:func:`agentgym.testing.check_tool_calls` sends them).
    """

    name: str
    example: str

    def find(self, text: str) -> FormatMatch | None: ...


# ----------------------------------------------------------------------------- Hermes
@dataclass(frozen=True)
class HermesFormat:
    """``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks anywhere in the text
    (Hermes, Qwen). ``arguments`` may be a JSON-encoded string, and ``parameters`` is read as
    its synonym (Llama's spelling) when ``arguments`` gives none; ``null``, ``""`` and
    ``"null"`` mean no arguments. Arguments that are valid JSON but not an object are returned
    as written: the tool's argument check then names the tool the agent got wrong."""

    name: str = "hermes"
    example: str = '<tool_call>{"name": "tool_name", "arguments": {"argument": "value"}}</tool_call>'
    tool: None = None
    malformed_examples: tuple[str, ...] = (
        "<tool_call>{not json}</tool_call>",
        '<tool_call>{"arguments": {}}</tool_call>',
        '<tool_call>{"name": "", "arguments": {}}</tool_call>',
        '<tool_call>["a list"]</tool_call>',
        '<tool_call>{"name": "f", "arguments": "{broken"}</tool_call>',
        '<tool_call>{"name": "f", "arguments": {}}',
        '</tool_call>{"name": "f"}',
        "<tool_call><tool_call>{}</tool_call></tool_call>",
        "<tool_call></tool_call>",
    )

    def find(self, text: str) -> FormatMatch | None:
        if OPEN_TAG not in text and CLOSE_TAG not in text:  # the common case costs one scan
            return None
        blocks, rest = _hermes_blocks(text)
        if OPEN_TAG in rest or CLOSE_TAG in rest:
            return _error(f"every {OPEN_TAG} needs a matching {CLOSE_TAG}", _HERMES_TAG.finditer(text))
        spans = tuple(span for span, _ in blocks)
        calls = []
        for number, (_, content) in enumerate(blocks, start=1):
            try:
                payload = json.loads(content)
            except (ValueError, RecursionError) as exc:
                return FormatMatch(error=f"tool call {number} is not valid JSON ({_json_problem(exc)})", spans=spans)
            call = call_from_payload(payload, "", number)
            if isinstance(call, str):
                return FormatMatch(error=call, spans=spans)
            calls.append(call)
        return FormatMatch(tuple(calls), spans)

    def render(self, name: str, arguments: Any) -> str:
        return f"{OPEN_TAG}{json.dumps({'name': name, 'arguments': arguments}, ensure_ascii=False)}{CLOSE_TAG}"


def _hermes_blocks(text: str) -> tuple[list[tuple[Span, str]], str]:
    """The ``<tool_call>...</tool_call>`` blocks of ``text`` as ``(span, content)``, each opening
    tag paired with the first closing tag after it, and the text outside them. One linear pass: a
    lazy regex (``<tool_call>(.*?)</tool_call>``) rescans to the end of the text from every
    unclosed tag, quadratic in a model's degenerate repetition of the tag."""
    blocks: list[tuple[Span, str]] = []
    outside: list[str] = []
    position = 0
    while True:
        start = text.find(OPEN_TAG, position)
        end = -1 if start < 0 else text.find(CLOSE_TAG, start + len(OPEN_TAG))
        if end < 0:
            outside.append(text[position:])
            return blocks, "".join(outside)
        outside.append(text[position:start])
        position = end + len(CLOSE_TAG)
        blocks.append(((start, position), text[start + len(OPEN_TAG):end]))


def call_from_payload(payload: Any, call_id: str, number: int) -> ToolCall | str:
    """A :class:`ToolCall` from ``{"name", "arguments"}``, or why the payload is malformed."""
    if not isinstance(payload, dict):
        return f'tool call {number} must be a JSON object like {{"name": ..., "arguments": {{...}}}}'
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        return f"tool call {number} has no name"
    arguments = _decode_arguments(payload.get("arguments"))
    if arguments is None:  # none given (absent, null, "" or "null"): "parameters" may hold them
        arguments = _decode_arguments(payload.get("parameters"))
    if arguments is None:
        arguments = {}
    if isinstance(arguments, _Undecodable):
        return (f"the arguments of tool call {number} ({echo(name.strip())}) are not valid JSON "
                f"({arguments.reason})")
    return ToolCall(call_id, name.strip(), arguments)


@dataclass(frozen=True)
class _Undecodable:
    reason: str


def _decode_arguments(arguments: Any) -> Any:
    """Arguments as written, with a JSON-encoded string decoded; ``None`` when there are none
    (``null``, an empty string or the string ``"null"``)."""
    if not isinstance(arguments, str):
        return arguments
    if not arguments.strip():
        return None
    try:
        return json.loads(arguments)
    except (ValueError, RecursionError) as exc:
        return _Undecodable(_json_problem(exc))


def _json_problem(exc: BaseException) -> str:
    """Why JSON text did not parse, for the agent: Python's advice on its own limits (an integer
    of over 4,300 digits: "use sys.set_int_max_str_digits()") is no advice to a model."""
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return str(exc).split("; use sys.set_int_max_str_digits()")[0] or type(exc).__name__


# ----------------------------------------------------------------------------- OpenAI
@dataclass(frozen=True)
class OpenAIMessageFormat:
    """An OpenAI assistant message: a dict ``{"content": ..., "tool_calls": [{"id", "type":
    "function", "function": {"name", "arguments": "<json string>"}}]}``, or the JSON text of
    one. It reads messages, not text: a message without tool calls has its ``content`` read by
    the other formats."""

    name: str = "openai"
    example: str = ('{"role": "assistant", "tool_calls": [{"type": "function", "function": '
                    '{"name": "tool_name", "arguments": "{\\"argument\\": \\"value\\"}"}}]}')
    tool: None = None
    reads_messages: bool = True
    malformed_examples: tuple[str, ...] = (
        '{"role": "assistant", "tool_calls": "not a list"}',
        '{"role": "assistant", "tool_calls": [{"function": "not an object"}]}',
        '{"role": "assistant", "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]}',
        '{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{broken"}}]}',
        '{"tool_calls": [7]}',
    )

    def find(self, text: str) -> FormatMatch | None:
        """Messages are read by :meth:`parse_message`; a message's text is found by
        :func:`parse_action` before any text format runs."""
        return None

    def parse_message(self, message: dict[str, Any], first_index: int) -> ParsedAction | None:
        """The calls of ``message`` (or why they cannot be read); ``None`` when it has none."""
        text = message_text(message.get("content"))
        entries = message.get("tool_calls")
        if not entries:
            return None
        if not isinstance(entries, list):
            return ParsedAction(text=text, error="tool_calls must be a list", format=self.name)
        calls = []
        for number, entry in enumerate(entries, start=1):
            function = entry.get("function") if isinstance(entry, dict) else None
            if not isinstance(function, dict):
                return ParsedAction(text=text, error=f'tool call {number} has no "function" object',
                                    format=self.name)
            given_id = entry.get("id")
            call_id = given_id if isinstance(given_id, str) and given_id else f"call_{first_index + len(calls)}"
            call = call_from_payload(function, call_id, number)
            if isinstance(call, str):
                return ParsedAction(text=text, error=call, format=self.name)
            calls.append(call)
        return ParsedAction(text=text.strip(), calls=tuple(calls), format=self.name)

    def render(self, name: str, arguments: Any) -> str:
        call = {"type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        return json.dumps({"role": "assistant", "content": "", "tool_calls": [call]}, ensure_ascii=False)


def json_message(text: str) -> dict[str, Any] | None:
    """The message dict ``text`` encodes, or ``None`` when it is ordinary text."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) and looks_like_message(value) else None


def looks_like_message(value: dict[str, Any]) -> bool:
    """An assistant message rather than a move: a bare ``{"name": ..., "arguments": ...}`` is
    a move in some environments."""
    return "tool_calls" in value or value.get("role") == "assistant"


# ----------------------------------------------------------------------------- tags
@dataclass(frozen=True)
class TagFormat:
    """``<tag>value</tag>`` blocks, each a call of ``tool`` with the one argument ``argument``
    (``<python>print(1)</python>`` is ``python(code="print(1)")``).

    Args:
        tag: the tag name, matched exactly (case included).
        tool: the tool each block calls.
        argument: the name of the tool's argument that receives the block's content.
        code: the content is code: surrounding blank lines are dropped, the common indentation
            removed, and a Markdown fence wrapping the whole content (```` ```python ```` …
            ```` ``` ````) unwrapped. Otherwise the content is stripped of surrounding whitespace.
        name: the format's name (default: ``tag``).

    Errors: an unclosed ``<tag>``, a ``</tag>`` without its ``<tag>``, a ``<tag>`` opened inside
    another, and an empty block.
    """

    tag: str
    tool: str
    argument: str
    code: bool = False
    name: str = ""
    example: str = field(init=False)
    malformed_examples: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        for label in ("tag", "tool", "argument"):
            value = getattr(self, label)
            if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][\w.-]*", value):
                raise ValueError(f"TagFormat: {label} must be a name like 'python', got {value!r}")
        object.__setattr__(self, "name", self.name or self.tag)
        open_, close = f"<{self.tag}>", f"</{self.tag}>"
        object.__setattr__(self, "example", f"{open_}{self.argument}{close}")
        object.__setattr__(self, "malformed_examples", (
            f"{open_}x = 1", f"x = 1{close}", f"{open_}{close}", f"{open_} \n\t {close}",
            f"{open_}a{open_}b{close}{close}", f"{open_}a{close}{close}", f"{close}a{open_}",
        ))

    def find(self, text: str) -> FormatMatch | None:
        open_, close = f"<{self.tag}>", f"</{self.tag}>"
        if open_ not in text and close not in text:
            return None
        tokens = list(re.finditer(f"</?{re.escape(self.tag)}>", text))
        calls, spans, pending = [], [], None
        for token in tokens:
            if token.group() == open_:
                if pending is not None:
                    return _error(f"a {open_} opens before the previous {open_} is closed: close each "
                                  f"block with {close} (blocks cannot nest)", tokens)
                pending = token
                continue
            if pending is None:
                return _error(f"{close} without an opening {open_}", tokens)
            value = self._value(text[pending.end():token.start()])
            if not value.strip():
                return _error(f"empty {open_} block: write the {self.argument} between {open_} and {close}", tokens)
            calls.append(ToolCall("", self.tool, {self.argument: value}))
            spans.append((pending.start(), token.end()))
            pending = None
        if pending is not None:
            return _error(f"unclosed {open_}: end the {self.argument} with {close}", tokens)
        return FormatMatch(tuple(calls), tuple(spans))

    def _value(self, content: str) -> str:
        if not self.code:
            return content.strip()
        lines = content.split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) >= 2 and lines[0].strip().startswith("```") and lines[-1].strip() == "```":
            lines = lines[1:-1]
        return textwrap.dedent("\n".join(lines))

    def render(self, name: str, arguments: Any) -> str | None:
        if name != self.tool or not isinstance(arguments, dict) or set(arguments) != {self.argument}:
            return None
        value = arguments[self.argument]
        return f"<{self.tag}>{value}</{self.tag}>" if isinstance(value, str) else None


# ----------------------------------------------------------------------------- fences
_FENCE_LINE = re.compile(r"^([ \t]*)```[ \t]*([^\r\n`]*?)[ \t\r]*$", re.MULTILINE)  # a CRLF's CR too


@dataclass(frozen=True)
class FencedCodeFormat:
    """Markdown code blocks in one of ``languages`` (```` ```python ```` … ```` ``` ````, the
    fences on lines of their own), each a call of ``tool`` with the code as ``argument``.
    Blocks in other languages, and unlabelled ones, are prose. The language is the first word
    of the fence's info string, as Markdown reads it (```` ```python title="solve.py" ```` opens
    a python block). A block whose opening fence is
    indented (a block inside a list item) has that indentation taken off its lines, as Markdown
    reads it; Windows line ends (CRLF) read as ``\\n``.

    Errors: an unclosed block, an empty one, and a block opened inside another.
    """

    languages: tuple[str, ...] = ("python", "py")
    tool: str = "python"
    argument: str = "code"
    name: str = "python-fenced"
    example: str = field(init=False)
    malformed_examples: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.languages, str) or not self.languages or not all(
                isinstance(lang, str) and lang.strip() for lang in self.languages):
            raise ValueError(f"FencedCodeFormat: languages must be a non-empty tuple of names, got {self.languages!r}")
        object.__setattr__(self, "languages", tuple(lang.strip().lower() for lang in self.languages))
        fence = f"```{self.languages[0]}"
        object.__setattr__(self, "example", f"{fence}\n{self.argument}\n```")
        object.__setattr__(self, "malformed_examples", (
            f"{fence}\nx = 1\n", f"{fence}\n```", f"{fence}\n   \n```", f"{fence}\na = 1\n{fence}\nb = 2\n```",
        ))

    def find(self, text: str) -> FormatMatch | None:
        if "```" not in text:
            return None
        fences = list(_FENCE_LINE.finditer(text))
        calls, spans, index = [], [], 0
        while index < len(fences):
            opening = fences[index]
            ours = _language(opening) in self.languages
            closing_index = next((k for k in range(index + 1, len(fences)) if not fences[k].group(2)), None)
            if not ours:
                if closing_index is None:
                    break  # an unclosed block of another language: prose
                index = closing_index + 1
                continue
            label = f"```{opening.group(2)}"
            if closing_index is None:
                return _error(f"unclosed {label} block: end the {self.argument} with a line of ```", fences)
            inner = fences[index + 1:closing_index]
            if any(_language(f) in self.languages for f in inner):
                return _error(f"a {label} block opens inside another: close each block with a line of ```", fences)
            closing = fences[closing_index]
            content = text[opening.end():closing.start()].replace("\r\n", "\n")
            content = content[1:] if content.startswith("\n") else content
            content = content[:-1] if content.endswith("\n") else content
            content = _dedented(content, len(opening.group(1)))
            if not content.strip():
                return _error(f"empty {label} block: write the {self.argument} between the fences", fences)
            calls.append(ToolCall("", self.tool, {self.argument: content}))
            spans.append((opening.start(), closing.end()))
            index = closing_index + 1
        if not calls:
            return None
        return FormatMatch(tuple(calls), tuple(spans))

    def render(self, name: str, arguments: Any) -> str | None:
        if name != self.tool or not isinstance(arguments, dict) or set(arguments) != {self.argument}:
            return None
        value = arguments[self.argument]
        return f"```{self.languages[0]}\n{value}\n```" if isinstance(value, str) else None


def _language(fence: re.Match[str]) -> str:
    """The language of a fence line: the first word of its info string, lower-cased ("" for none)."""
    words = fence.group(2).split()
    return words[0].lower() if words else ""


def _dedented(content: str, indent: int) -> str:
    """``content`` with up to ``indent`` spaces or tabs taken off the start of each line."""
    return re.sub(r"(?m)^[ \t]{1,%d}" % indent, "", content) if indent else content


def _error(message: str, markup: Iterable[Any]) -> FormatMatch:
    """A failed match whose spans are the offending markup's (``re.Match`` objects)."""
    return FormatMatch(error=message, spans=tuple(m.span() for m in markup))


# ----------------------------------------------------------------------------- registry
HERMES = HermesFormat()
OPENAI = OpenAIMessageFormat()
PYTHON_TAG = TagFormat("python", tool="python", argument="code", code=True)
PYTHON_FENCED = FencedCodeFormat()
SQL_TAG = TagFormat("sql", tool="sql", argument="query")
SEARCH_TAG = TagFormat("search", tool="search", argument="query")

#: The built-in formats by name.
FORMATS: dict[str, Any] = {f.name: f for f in (HERMES, OPENAI, PYTHON_TAG, PYTHON_FENCED, SQL_TAG, SEARCH_TAG)}
#: What an environment reads when it declares nothing.
DEFAULT_FORMATS: tuple[str, ...] = ("hermes", "openai")


def resolve_formats(formats: Any, *, owner: str = "tool_call_formats") -> tuple[Any, ...]:
    """``formats`` (names of built-in formats and/or format objects) as format objects, in
    order, without duplicates. Raises :class:`~agentgym.core.ConfigError` naming the entry that
    is neither, or when there is none."""
    from agentgym.core import ConfigError

    if isinstance(formats, (str, bytes)) or not isinstance(formats, Iterable):
        raise ConfigError(f"{owner} must be a list of format names or objects, e.g. ['hermes', 'python'], "
                          f"got {formats!r}")
    resolved: list[Any] = []
    for entry in formats:
        if isinstance(entry, str):
            if entry not in FORMATS:
                raise ConfigError(f"{owner}: unknown tool-call format {entry!r}; built-in formats: "
                                  f"{', '.join(FORMATS)} (or pass a ToolCallFormat object)")
            entry = FORMATS[entry]
        elif not (isinstance(getattr(entry, "name", None), str) and isinstance(getattr(entry, "example", None), str)
                  and callable(getattr(entry, "find", None))):
            raise ConfigError(f"{owner}: {entry!r} is not a tool-call format (it needs name, example and "
                              f"find(text), see agentgym.tools.ToolCallFormat)")
        if all(entry.name != other.name for other in resolved):
            resolved.append(entry)
    if not resolved:  # no call could ever be read: every action would silently be a final answer
        raise ConfigError(f"{owner} is empty: name at least one tool-call format, e.g. ['hermes']")
    return tuple(resolved)


# ----------------------------------------------------------------------------- parsing
def parse_action(action: Any, formats: Sequence[Any], *, first_index: int = 0) -> ParsedAction:
    """Read the tool calls in ``action`` (text, or an assistant message dict) with ``formats``
    (format objects, see :func:`resolve_formats`). Never raises; see the module docstring."""
    message_reader = next((f for f in formats if getattr(f, "reads_messages", False)), None)
    if isinstance(action, str) and message_reader is not None:
        message = json_message(action)
        if message is not None:
            action = message
    if isinstance(action, dict):
        if message_reader is None or not looks_like_message(action):
            return ParsedAction(text=None)
        parsed = message_reader.parse_message(action, first_index)
        if parsed is not None:
            return parsed
        text = message_text(action.get("content"))
    elif isinstance(action, str):
        text = action
    else:
        return ParsedAction(text=None)
    return _parse_text(text, [f for f in formats if not getattr(f, "reads_messages", False)], first_index)


def _parse_text(text: str, formats: Sequence[Any], first_index: int) -> ParsedAction:
    found = []
    for fmt in formats:
        try:
            match = fmt.find(text)
        except Exception as exc:  # noqa: BLE001 - a custom format's bug is reported, not raised
            match = FormatMatch(error=f"the {fmt.name} format could not read the action ({type(exc).__name__})")
        if match is not None:
            found.append((fmt, match))
    if not found:
        return ParsedAction(text=text)
    if len(found) > 1:
        found = [(fmt, match) for fmt, match in found
                 if not any(other is not match and _inside(match.spans, other.spans) for _, other in found)]
    if len(found) > 1:
        names = " and ".join(fmt.name for fmt, _ in found[:2])
        return ParsedAction(text=text, error=f"the action mixes two tool-call formats ({names}): write all the "
                                             f"calls of one action in one format")
    fmt, match = found[0]
    if match.error is not None:
        return ParsedAction(text=text, error=match.error, format=fmt.name)
    if not match.calls:
        return ParsedAction(text=text)
    calls = tuple(call if call.id else ToolCall(f"call_{first_index + i}", call.name, call.arguments)
                  for i, call in enumerate(match.calls))
    return ParsedAction(text=_without(text, match.spans).strip(), calls=calls, format=fmt.name)


def _inside(spans: Sequence[Span], outer: Sequence[Span]) -> bool:
    """Every span of ``spans`` lies within one of ``outer`` (and there is at least one)."""
    return bool(spans) and bool(outer) and all(
        any(start >= o_start and end <= o_end for o_start, o_end in outer) for start, end in spans)


def _without(text: str, spans: Sequence[Span]) -> str:
    pieces, position = [], 0
    for start, end in sorted(spans):
        pieces.append(text[position:start])
        position = max(position, end)
    pieces.append(text[position:])
    return "".join(pieces)
