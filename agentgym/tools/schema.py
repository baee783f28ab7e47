"""A tool's JSON schema from a Python function's signature and docstring.

:func:`describe_function` reads:

* **the description**: the docstring's first paragraph (line breaks become spaces);
* **parameter descriptions**: Google-style ``Args:`` entries (``name: text`` or
  ``name (type): text``, continued on more-indented lines); an ``Annotated[T, "text"]`` hint is
  used for a parameter the docstring does not describe;
* **types**, from the type hints: ``str``, ``int``, ``float``, ``bool``, ``list`` /
  ``list[T]``, ``dict`` / ``dict[str, T]``, ``Literal[...]``, an :class:`~enum.Enum` (its
  values; the tool receives the member), ``T | None`` / ``Optional[T]`` (also ``null``),
  unions of these, and ``Any`` (any JSON value). Anything else raises :class:`TypeError` when
  the tool is defined, naming the parameter;
* **required**: parameters without a default; a JSON-representable default other than
  ``None`` is shown as ``"default"`` and must fit the annotation (else :class:`TypeError`);
* **injected parameters** (``Injected[T]`` or listed in ``inject``): left out of the schema; the
  environment fills them at call time.

The schema forbids other arguments (``"additionalProperties": false``). A first parameter
named ``self`` marks a method (of a :class:`~agentgym.tools.Toolset` or an environment); it is
not part of the schema.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Union, get_args, get_origin

from agentgym.tools.arguments import value_problem

Converter = Callable[[Any], Any]


class _InjectedMarker:
    def __repr__(self) -> str:
        return "Injected"


INJECTED = _InjectedMarker()


class Injected:
    """``Injected[T]``: a parameter the environment fills when the tool is called (a session
    id, a database connection), hidden from the schema the agent sees. The value comes from
    :meth:`LLMEnv.tool_injections <agentgym.core.LLMEnv.tool_injections>` (and
    :meth:`Toolset.injections <agentgym.tools.Toolset.injections>` for a toolset's tools), by
    parameter name. ``Injected[T]`` is ``Annotated[T, INJECTED]``."""

    def __class_getitem__(cls, item: Any) -> Any:
        return Annotated[item, INJECTED]


@dataclass(frozen=True)
class FunctionDescription:
    """What :func:`describe_function` read from a function.

    Attributes:
        description: for the agent: when to call the tool.
        parameters: the JSON schema (an ``object`` schema) of the agent-visible arguments.
        injected: names of the parameters the environment fills.
        converters: for parameters whose JSON value must become another Python value (an
            :class:`~enum.Enum` member), the function that converts it.
        method: the function's first parameter is ``self``.
    """

    description: str
    parameters: dict[str, Any]
    injected: tuple[str, ...]
    converters: dict[str, Converter]
    method: bool


def describe_function(fn: Callable[..., Any], *, name: str, description: str | None = None,
                      inject: tuple[str, ...] = ()) -> FunctionDescription:
    """Read the schema of tool ``name`` from ``fn``; :class:`TypeError` when it cannot be
    described (an unsupported or missing annotation, ``*args``, no description...)."""
    where = f"tool {name!r}"
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: cannot read the signature of {fn!r} ({exc})") from None
    parameters = list(signature.parameters.values())
    method = bool(parameters) and parameters[0].name == "self" and not inspect.ismethod(fn)
    if method:
        parameters = parameters[1:]
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # noqa: BLE001 - NameError for a type defined out of reach, and others
        raise TypeError(f"{where}: cannot resolve the type hints of {getattr(fn, '__qualname__', fn)!r} "
                        f"({type(exc).__name__}: {exc}); define the types at module level") from None
    summary, argument_docs = parse_docstring(inspect.getdoc(fn) or "")
    description = summary if description is None else description
    if not isinstance(description, str) or not description.strip():
        raise TypeError(f"{where}: no description: give the function a docstring (its first paragraph "
                        f"tells the agent when to call the tool) or pass description=...")
    names = {p.name for p in parameters}
    for extra in set(inject) - names:
        raise TypeError(f"{where}: inject names {extra!r}, which is not a parameter of the function")
    for extra in set(argument_docs) - names:
        raise TypeError(f"{where}: the docstring's Args describe {extra!r}, which is not a parameter")

    properties: dict[str, Any] = {}
    required: list[str] = []
    injected: list[str] = []
    converters: dict[str, Converter] = {}
    for parameter in parameters:
        label = f"{where}, parameter {parameter.name!r}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"{label}: *args and **kwargs cannot be described to the agent; "
                            f"name each argument")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise TypeError(f"{label}: tools are called with keyword arguments; remove the '/'")
        hint = hints.get(parameter.name, inspect.Parameter.empty)
        if parameter.name in inject or _is_injected(hint):
            injected.append(parameter.name)
            continue
        if hint is inspect.Parameter.empty:
            raise TypeError(f"{label} has no type annotation; annotate it (e.g. {parameter.name}: str) so "
                            f"the schema tells the agent what to pass, or mark it Injected[...]")
        schema, converter = annotation_schema(hint, label)
        schema = dict(schema)
        if parameter.name in argument_docs:
            schema["description"] = argument_docs[parameter.name]
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        elif parameter.default is not None:
            default = parameter.default.value if isinstance(parameter.default, enum.Enum) else parameter.default
            if _json_value(default):
                schema["default"] = json.loads(json.dumps(default))  # as the agent reads it: () is []
                problem = value_problem(schema, schema["default"], "the default")
                if problem is not None:  # the schema would tell the agent a default it may not send
                    raise TypeError(f"{label}: {problem}; give a default that fits the annotation")
        properties[parameter.name] = schema
        if converter is not None:
            converters[parameter.name] = converter
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return FunctionDescription(" ".join(description.split()), schema, tuple(injected), converters, method)


def _is_injected(hint: Any) -> bool:
    return get_origin(hint) is Annotated and any(meta is INJECTED for meta in hint.__metadata__)


def _json_value(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


_SIMPLE: dict[Any, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}
_SUPPORTED = ("str, int, float, bool, list[...], dict[str, ...], Literal[...], an Enum, Optional[...] "
              "or a union of these, Any")


def annotation_schema(hint: Any, label: str) -> tuple[dict[str, Any], Converter | None]:
    """The JSON schema of a type hint, and the converter its JSON value needs (or ``None``)."""
    origin, arguments = get_origin(hint), get_args(hint)
    if origin is Annotated:
        if any(meta is INJECTED for meta in hint.__metadata__):
            raise TypeError(f"{label}: Injected[...] must be the whole annotation of a parameter")
        schema, converter = annotation_schema(arguments[0], label)
        text = next((meta for meta in hint.__metadata__ if isinstance(meta, str)), None)
        return ({**schema, "description": text} if text else schema), converter
    if hint is Any:
        return {}, None
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}, None
    if hint is type(None):
        return {"type": "null"}, None
    if hint is list:
        return {"type": "array"}, None
    if hint is dict:
        return {"type": "object"}, None
    if origin is list:
        items, converter = annotation_schema(arguments[0], label) if arguments else ({}, None)
        return {"type": "array", "items": items}, (None if converter is None else _each(converter))
    if origin is dict:
        if arguments and arguments[0] is not str:
            raise TypeError(f"{label}: JSON object keys are strings; use dict[str, ...], not {_name(hint)}")
        values, converter = annotation_schema(arguments[1], label) if arguments else ({}, None)
        return {"type": "object", "additionalProperties": values}, (None if converter is None else _each_value(converter))
    if origin is Literal:
        return _enum_schema(list(arguments), label, hint), None
    if origin is Union or (hasattr(types, "UnionType") and isinstance(hint, types.UnionType)):
        return _union_schema(arguments, label)
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        members = list(hint)
        if not members:
            raise TypeError(f"{label}: the Enum {hint.__name__} has no members")
        return _enum_schema([m.value for m in members], label, hint), hint
    raise TypeError(f"{label}: the annotation {_name(hint)} has no JSON schema; use {_SUPPORTED}, "
                    f"or mark the parameter Injected[...] if the environment supplies it")


def _enum_schema(values: list[Any], label: str, hint: Any) -> dict[str, Any]:
    if not values or not all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
        raise TypeError(f"{label}: the values of {_name(hint)} must be strings, numbers, booleans or None")
    kinds = {_json_type(v) for v in values}
    schema: dict[str, Any] = {"enum": values}
    if len(kinds) == 1:
        schema = {"type": kinds.pop(), "enum": values}
    elif kinds == {"integer", "number"}:
        schema = {"type": "number", "enum": values}
    return schema


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "number" if isinstance(value, float) else "string"


def _union_schema(members: tuple[Any, ...], label: str) -> tuple[dict[str, Any], Converter | None]:
    nullable = type(None) in members
    others = [m for m in members if m is not type(None)]
    described = [annotation_schema(m, label) for m in others]
    if len(described) == 1:
        schema, converter = described[0]
        if converter is not None:
            converter = _or_none(converter)
        if not nullable:
            return schema, converter
        kind = schema.get("type")
        if isinstance(kind, str) and set(schema) <= {"type", "enum", "items", "additionalProperties", "description"}:
            nullable_schema = {**schema, "type": [kind, "null"]}
            if "enum" in schema:
                nullable_schema["enum"] = [*schema["enum"], None]
            return nullable_schema, converter
        return {"anyOf": [schema, {"type": "null"}]}, converter
    if any(converter is not None for _, converter in described):
        raise TypeError(f"{label}: an Enum inside a union of several types is not supported; use Literal[...]")
    schemas = [schema for schema, _ in described] + ([{"type": "null"}] if nullable else [])
    return {"anyOf": schemas}, None


def _each(converter: Converter) -> Converter:
    return lambda values: [converter(v) for v in values]


def _each_value(converter: Converter) -> Converter:
    return lambda values: {k: converter(v) for k, v in values.items()}


def _or_none(converter: Converter) -> Converter:
    return lambda value: None if value is None else converter(value)


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) if inspect.isclass(hint) else repr(hint)


# ----------------------------------------------------------------------------- docstrings
_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Return|Yields|Raises|Examples?|Notes?|Attributes|"
                      r"See Also|Warnings?|Todo)\s*:\s*$")
_ARGS_SECTIONS = ("Args", "Arguments", "Parameters")
_ENTRY = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """``(first paragraph, {argument: description})`` of a Google-style docstring (cleaned with
    :func:`inspect.cleandoc`). The first paragraph ends at a blank line or a section header."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line.strip()):
            break
        summary.append(line.strip())
    arguments: dict[str, str] = {}
    index = 0
    while index < len(lines):
        header = _SECTION.match(lines[index].strip())
        if not header or header.group(1) not in _ARGS_SECTIONS:
            index += 1
            continue
        base = _indent(lines[index])
        index += 1
        entry_indent, current = None, None
        while index < len(lines):
            line = lines[index]
            if line.strip() and _indent(line) <= base:
                break
            if line.strip():
                if entry_indent is None:
                    entry_indent = _indent(line)
                entry = _ENTRY.match(line.strip())
                if _indent(line) == entry_indent and entry:
                    current = entry.group(1).lstrip("*")
                    arguments[current] = entry.group(2).strip()
                elif current is not None:
                    arguments[current] = f"{arguments[current]} {line.strip()}".strip()
            index += 1
    return " ".join(summary), arguments


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
