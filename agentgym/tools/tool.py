"""A tool: a function the agent may call, with the schema it reads and the checks it gets."""

from __future__ import annotations

import dataclasses
import decimal
import inspect
import json
import math
import re
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from agentgym.tools.arguments import check_arguments
from agentgym.tools.schema import Converter, describe_function

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolError(Exception):
    """Raised by a tool to report a failure the agent should read (bad argument, not found...).
    The agent sees ``Error: <message>``."""


class ToolArgumentError(ToolError):
    """The arguments of a call do not fit the tool's schema (the message says how)."""


@dataclass(frozen=True)
class Tool:
    """A function the agent may call.

    Build one from a typed, documented function with :func:`tool` / :meth:`Tool.from_function`
    (the schema comes from the signature and docstring), or give every field by hand.

    Attributes:
        name: the name the agent uses in its call.
        description: one or two sentences the agent reads to decide when to call it.
        fn: called as ``fn(**arguments)``, sync or ``async``; returns anything
            :func:`render_result` can show (a ``str``, JSON for containers, ``str()`` else).
        parameters: JSON schema (an ``object`` schema) of the keyword arguments.
        timeout: the most seconds one call may take (``None``: no bound). A sync tool with a
            timeout runs in a worker thread (so what it uses must work from another thread,
            e.g. ``sqlite3.connect(..., check_same_thread=False)``); past the bound the agent
            gets an error and the call's late result is dropped (the thread ends when the
            function returns: make it interruptible, e.g. by its toolset's ``close``). An
            ``async`` tool is cancelled at the bound.
        injected: parameters the environment fills at call time, hidden from ``parameters``
            (one name may be given as a string); each must be a parameter of ``fn`` (or ``fn``
            takes ``**kwargs``), else :class:`TypeError`.
        converters: functions turning an argument's JSON value into what ``fn`` takes (an
            ``Enum`` member); filled by :meth:`from_function`.
        method: ``fn`` is an unbound method (its first parameter is ``self``): the tool is
            used through an instance (a toolset's attribute), which binds it.
    """

    name: str
    description: str
    fn: Callable[..., Any]
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}, "required": []}
    )
    timeout: float | None = None
    injected: tuple[str, ...] = ()
    converters: Mapping[str, Converter] = field(default_factory=dict, repr=False, compare=False)
    method: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"a tool's name must be a non-empty string, got {self.name!r}")
        if not callable(self.fn):
            raise TypeError(f"tool {self.name!r}: fn must be callable, got {self.fn!r}")
        if not isinstance(self.parameters, dict):
            raise TypeError(f"tool {self.name!r}: parameters must be a JSON schema dict, got {self.parameters!r}")
        if self.timeout is not None and (isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float))
                                         or not math.isfinite(self.timeout) or self.timeout <= 0):
            raise ValueError(f"tool {self.name!r}: timeout must be a positive number of seconds or None, "
                             f"got {self.timeout!r}")
        injected = (self.injected,) if isinstance(self.injected, str) else tuple(self.injected)
        object.__setattr__(self, "injected", injected)
        try:
            parameters = inspect.signature(self.fn).parameters
        except (TypeError, ValueError):  # a callable whose signature cannot be read: trust the names
            parameters = None
        if parameters is not None and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            for name in injected:
                if name not in parameters:
                    raise TypeError(f"tool {self.name!r}: injected names {name!r}, which is not a parameter of "
                                    f"its function")
        object.__setattr__(self, "_is_async", inspect.iscoroutinefunction(self.fn))

    # ------------------------------------------------------------------ building
    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
                      timeout: float | None = None, inject: tuple[str, ...] | list[str] = ()) -> "Tool":
        """A tool from a typed, documented function (or method): see :mod:`agentgym.tools.schema`
        for what is read. Raises :class:`TypeError` at once for what cannot be described."""
        if not callable(fn):
            raise TypeError(f"Tool.from_function needs a function, got {fn!r}")
        name = getattr(fn, "__name__", None) if name is None else name
        if not isinstance(name, str) or not _NAME.match(name):
            raise TypeError(f"tool name {name!r} must be 1 to 64 letters, digits, '_' or '-' (the OpenAI "
                            f"function-name rule); pass name=...")
        if isinstance(inject, str):
            inject = (inject,)
        read = describe_function(fn, name=name, description=description, inject=tuple(inject))
        return cls(name, read.description, fn, read.parameters, timeout=timeout, injected=read.injected,
                   converters=read.converters, method=read.method)

    # ------------------------------------------------------------------ the agent's view
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
        """Why ``arguments`` do not fit the schema (types included), or ``None``."""
        return check_arguments(self.name, self.parameters, arguments)[1]

    def prepare_arguments(self, arguments: Any) -> dict[str, Any]:
        """``arguments`` as ``fn`` takes them (checked, converted); :class:`ToolArgumentError`
        saying what is wrong otherwise. Injected parameters are not filled here."""
        checked, problem = check_arguments(self.name, self.parameters, arguments)
        if problem is not None:
            raise ToolArgumentError(problem)
        for name in self.injected:
            if name in checked:
                raise ToolArgumentError(f"{self.name} got unknown argument(s): {name}")
        for name, convert in self.converters.items():
            if name in checked:
                try:
                    checked[name] = convert(checked[name])
                except Exception as exc:  # noqa: BLE001 - validated values convert; say so if not
                    raise ToolArgumentError(f"argument {name!r} of {self.name}: {exc}") from None
        return checked

    @property
    def is_async(self) -> bool:
        """``fn`` is a coroutine function (a coroutine returned by a sync ``fn`` is awaited too)."""
        return self._is_async

    # ------------------------------------------------------------------ methods
    def bind(self, instance: Any) -> "Tool":
        """This method tool bound to ``instance`` (its toolset or environment)."""
        if not self.method:
            return self
        return dataclasses.replace(self, fn=types.MethodType(self.fn, instance), method=False)

    def __get__(self, instance: Any, owner: type | None = None) -> "Tool":
        # A method tool read from an instance is bound to it, as a function would be.
        if instance is None or not self.method:
            return self
        return self.bind(instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly (no checks, no timeout): a decorated function stays usable
        from Python."""
        if self.method:
            raise TypeError(f"tool {self.name!r} is a method: call it through an instance of its class")
        return self.fn(*args, **kwargs)


def tool(fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None,
         timeout: float | None = None, inject: tuple[str, ...] | list[str] = ()) -> Any:
    """Make a :class:`Tool` of a typed, documented function or method::

        @tool
        def add(a: int, b: int) -> int:
            \"\"\"Add two whole numbers.

            Args:
                a: the first number.
                b: the second number.
            \"\"\"
            return a + b

        @tool(timeout=5.0, inject=("session",))
        async def fetch(url: str, session) -> str:
            \"\"\"Download a web page and return its text.\"\"\"

    The decorated name is the tool (``add.schema()``), still callable as the function
    (``add(1, 2)``). Inside a :class:`~agentgym.tools.Toolset` (or an environment class) the
    decorated methods are its tools, bound to the instance.
    """
    def make(function: Callable[..., Any]) -> Tool:
        return Tool.from_function(function, name=name, description=description, timeout=timeout, inject=inject)

    return make(fn) if fn is not None else make


#: Digits of the longest integer written out in a result past Python's own limit
#: (``sys.get_int_max_str_digits()``, 4300); converting is quadratic, this is ~0.1 s.
MAX_RESULT_INT_DIGITS = 100_000


def render_result(value: Any) -> str:
    """A tool's return value as text: a ``str`` as is, ``bytes`` decoded as UTF-8, JSON for
    dicts, lists and tuples (models read it best; numpy arrays and numbers inside them as JSON
    lists and numbers, bytes as decoded text, other values JSON cannot write as their
    ``str()``), ``str()`` for anything else. Integers past Python's int-to-text limit are
    written out too, up to :data:`MAX_RESULT_INT_DIGITS` digits (past that, their number of
    digits is)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, int) and not isinstance(value, bool) and _too_long_for_str(value):
        return _int_text(value)
    if isinstance(value, (dict, list, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False, default=_json_default)
        except ValueError as exc:  # an integer past the int-to-text limit (or a circular structure)
            text = _json_with_long_ints(value) if "integer string conversion" in str(exc) else None
            if text is not None:
                return text
        except TypeError:
            pass
    return str(value)


def _json_default(value: Any) -> Any:
    """What ``json.dumps`` writes for a value it cannot: a numpy array or scalar as its list or
    Python number (``tolist()``), bytes decoded as UTF-8, anything else as its ``str()``."""
    if type(value).__module__ == "numpy" and callable(getattr(value, "tolist", None)):
        return value.tolist()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _too_long_for_str(value: int) -> bool:
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
    return limit > 0 and value.bit_length() > limit * 3  # 3 bits a digit: below it str() always works


def _int_text(value: int) -> str:
    """``value`` in decimal without Python's digit limit, or its number of digits past
    :data:`MAX_RESULT_INT_DIGITS`."""
    size = abs(value)
    digits = max(1, int(size.bit_length() * math.log10(2)))
    digits += size >= 10 ** digits
    if digits <= MAX_RESULT_INT_DIGITS:
        return str(decimal.Decimal(value))
    return f"{'-' if value < 0 else ''}(an integer of {digits:,} digits: too long to write out)"


def _json_with_long_ints(value: Any) -> str | None:
    """``value`` as JSON, its integers past the digit limit as strings of :func:`_int_text`;
    ``None`` if it still cannot be (a circular structure)."""

    def written(item: Any) -> Any:
        if isinstance(item, int) and not isinstance(item, bool) and _too_long_for_str(item):
            return _int_text(item)
        if isinstance(item, dict):
            return {key: written(inner) for key, inner in item.items()}
        if isinstance(item, (list, tuple)):
            return [written(inner) for inner in item]
        return item

    try:
        return json.dumps(written(value), ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError, RecursionError):
        return None
