"""Checking an agent's tool arguments against the tool's JSON schema, with messages for the agent.

:func:`check_arguments` understands the part of JSON Schema that tool schemas use: ``type``
(one or a list), ``enum``, ``const``, ``anyOf``/``oneOf``, ``not``, ``properties``, ``required``,
``additionalProperties`` (a flag or a schema), ``items``, ``minItems``/``maxItems``,
``minLength``/``maxLength``, ``pattern``, ``minimum``/``maximum`` and their exclusive forms.
A subschema may be ``true`` (any value) or ``false`` (none). Other keywords are ignored. A
number written ``2.0`` where an integer is expected is taken as ``2``. ``NaN`` and infinities
(Python's JSON reader takes them; JSON has no such numbers) are refused where the schema asks
for a number or bounds one. Messages name the argument (``argument 'limit' of search must be
an integer, got the string 'ten'``) and never echo more than a hundred characters of what the
agent wrote. When no option of ``anyOf``/``oneOf`` fits, the message is that of the one option
naming the value's type, if just one does (``must be at least 3``, not ``must be a string or
an integer``).
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from agentgym.tools.calls import clip, echo

#: At most this many problems are reported at once.
MAX_PROBLEMS = 3
_NAMES_LISTED = 8


#: Keywords of a schema that constrain nothing but its type.
_PLAIN_KEYS = frozenset({"type", "description", "default", "title", "examples"})


class _Invalid(Exception):
    """A value does not fit its schema; the message is for the agent."""


def check_arguments(tool: str, schema: Mapping[str, Any], arguments: Any) -> tuple[dict[str, Any] | None, str | None]:
    """``(arguments as the tool receives them, None)``, or ``(None, why they do not fit)``.

    The top level follows the long-standing rules: arguments must be a JSON object, every
    ``required`` name present and, when ``additionalProperties`` is false, no other name.
    Each argument that has a schema in ``properties`` is then checked against it.
    """
    if not isinstance(arguments, dict):
        return None, f"arguments of {tool} must be a JSON object, got {_got(arguments)}"
    properties = schema.get("properties") or {}
    missing = [name for name in schema.get("required", ()) if name not in arguments]
    if missing:
        return None, f"{tool} is missing required argument(s): {', '.join(missing)}"
    if schema.get("additionalProperties", True) is False:
        unknown = [name for name in arguments if name not in properties]
        if unknown:
            return None, (f"{tool} got unknown argument(s): {_names(unknown)}; "
                          f"it takes: {', '.join(properties) or 'no arguments'}")
    checked: dict[str, Any] = {}
    problems: list[str] = []
    extra = schema.get("additionalProperties")
    for name, value in arguments.items():
        sub_schema = properties.get(name, extra if isinstance(extra, dict) else None)
        if sub_schema is None:
            checked[name] = value
            continue
        if isinstance(sub_schema, Mapping) and sub_schema.keys() <= _PLAIN_KEYS and type(sub_schema.get("type")) is str:  # the common case, fast
            fits, converted = _fits(sub_schema["type"], value)
            if fits:
                checked[name] = converted
                continue
        try:
            checked[name] = validate(sub_schema, value, f"argument {echo(name)} of {tool}")
        except _Invalid as exc:
            problems.append(str(exc))
            if len(problems) == MAX_PROBLEMS:
                break
    if problems:
        return None, "; ".join(problems)
    return checked, None


def value_problem(schema: Any, value: Any, where: str) -> str | None:
    """Why ``value`` does not fit ``schema`` (as :func:`validate` says it), or ``None``."""
    try:
        validate(schema, value, where)
    except _Invalid as exc:
        return str(exc)
    return None


def validate(schema: Any, value: Any, where: str) -> Any:
    """``value`` checked against ``schema`` (integral floats made integers where an integer is
    expected); raises :class:`_Invalid` saying what ``where`` must be. A schema ``false`` (or
    ``{"not": {}}``) takes no value; ``true``, ``{}`` and what is not a schema take any."""
    if schema is False:
        raise _Invalid(f"{where} is not allowed, got {_got(value)}")
    if not isinstance(schema, Mapping) or not schema:
        return value
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            problems = []
            for option in options:
                try:
                    value = validate(option, value, where)
                    break
                except _Invalid as exc:
                    problems.append(str(exc))
            else:
                typed = [problem for option, problem in zip(options, problems) if _takes_kind(option, value)]
                if len(typed) == 1 and all(isinstance(o, Mapping) and "type" in o for o in options):
                    raise _Invalid(typed[0])  # the one option of the value's type says what is wrong
                raise _Invalid(f"{where} must be {expected(schema)}, got {_got(value)}")
    kinds = schema.get("type")
    if kinds is not None:
        value = _check_type(kinds, value, schema, where)
    if "enum" in schema and isinstance(schema["enum"], list) and not any(_same(value, e) for e in schema["enum"]):
        raise _Invalid(f"{where} must be {expected(schema)}, got {_got(value)}")
    if "const" in schema and not _same(value, schema["const"]):
        raise _Invalid(f"{where} must be {_literal(schema['const'])}, got {_got(value)}")
    banned = schema.get("not")
    if (isinstance(banned, Mapping) or banned is True) and value_problem(banned, value, where) is None:
        if banned is True or not banned:
            raise _Invalid(f"{where} is not allowed, got {_got(value)}")
        raise _Invalid(f"{where} must not be {expected(banned)}, got {_got(value)}")
    if isinstance(value, str):
        _check_string(schema, value, where)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(schema, value, where)
    elif isinstance(value, list):
        value = _check_array(schema, value, where)
    elif isinstance(value, dict):
        value = _check_object(schema, value, where)
    return value


def _takes_kind(schema: Any, value: Any) -> bool:
    """``schema`` names a ``type`` that ``value`` is."""
    kinds = schema.get("type") if isinstance(schema, Mapping) else None
    names = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else []
    return any(_fits(kind, value)[0] for kind in names if isinstance(kind, str))


def _check_type(kinds: Any, value: Any, schema: Mapping[str, Any], where: str) -> Any:
    names = [kinds] if isinstance(kinds, str) else list(kinds) if isinstance(kinds, list) else []
    for kind in names:
        fits, converted = _fits(kind, value)
        if fits:
            return converted
    if not names:
        return value
    raise _Invalid(f"{where} must be {expected(schema)}, got {_got(value)}")


def _fits(kind: str, value: Any) -> tuple[bool, Any]:
    if kind == "string":
        return isinstance(value, str), value
    if kind == "boolean":
        return isinstance(value, bool), value
    if kind == "null":
        return value is None, value
    if kind == "array":
        return isinstance(value, list), value
    if kind == "object":
        return isinstance(value, dict), value
    if isinstance(value, bool):
        return False, value
    if kind == "integer":
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return True, int(value)
        return False, value
    if kind == "number":
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)), value
    return True, value  # a type name this checker does not know: let the tool judge


def _check_string(schema: Mapping[str, Any], value: str, where: str) -> None:
    low, high, pattern = schema.get("minLength"), schema.get("maxLength"), schema.get("pattern")
    if isinstance(low, int) and len(value) < low:
        raise _Invalid(f"{where} must be at least {low} characters long, got {len(value)}")
    if isinstance(high, int) and len(value) > high:
        raise _Invalid(f"{where} must be at most {high} characters long, got {len(value)}")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # a broken pattern is the tool author's problem, not the agent's
        if not matched:
            raise _Invalid(f"{where} must match the pattern {clip(pattern)}, got {_got(value)}")


def _check_number(schema: Mapping[str, Any], value: float, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):  # NaN would pass every bound
        raise _Invalid(f"{where} must be a number, got {_got(value)}")
    for key, fails, word in (("minimum", lambda v, b: v < b, "at least"), ("maximum", lambda v, b: v > b, "at most"),
                             ("exclusiveMinimum", lambda v, b: v <= b, "more than"),
                             ("exclusiveMaximum", lambda v, b: v >= b, "less than")):
        bound = schema.get(key)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool) and fails(value, bound):
            raise _Invalid(f"{where} must be {word} {bound}, got {_got(value)}")


def _check_array(schema: Mapping[str, Any], value: list[Any], where: str) -> list[Any]:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if isinstance(low, int) and len(value) < low:
        raise _Invalid(f"{where} must have at least {low} items, got {len(value)}")
    if isinstance(high, int) and len(value) > high:
        raise _Invalid(f"{where} must have at most {high} items, got {len(value)}")
    items = schema.get("items")
    if items is not False and (not isinstance(items, Mapping) or not items):
        return value
    return [validate(items, item, f"item {index} of {where}") for index, item in enumerate(value)]


def _check_object(schema: Mapping[str, Any], value: dict[str, Any], where: str) -> dict[str, Any]:
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    if not isinstance(properties, Mapping) and not isinstance(extra, Mapping) and extra is not False \
            and "required" not in schema:
        return value
    properties = properties if isinstance(properties, Mapping) else {}
    missing = [name for name in schema.get("required", ()) if name not in value]
    if missing:
        raise _Invalid(f"{where} is missing the key(s) {', '.join(missing)}")
    if extra is False:
        unknown = [name for name in value if name not in properties]
        if unknown:
            raise _Invalid(f"{where} has unknown key(s) {_names(unknown)}; "
                           f"it takes: {', '.join(properties) or 'no keys'}")
    checked = {}
    for name, item in value.items():
        sub_schema = properties.get(name, extra if isinstance(extra, Mapping) else None)
        checked[name] = item if sub_schema is None else validate(sub_schema, item, f"key {echo(name)} of {where}")
    return checked


def _same(value: Any, option: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` is ``1.0``, ``"1"`` is not ``1``, at any depth
    of arrays and objects."""
    if isinstance(value, bool) or isinstance(option, bool):
        return type(value) is type(option) and value == option
    if isinstance(value, (int, float)) and isinstance(option, (int, float)):
        return value == option
    if isinstance(value, (list, tuple)) and isinstance(option, (list, tuple)):
        return len(value) == len(option) and all(_same(v, o) for v, o in zip(value, option))
    if isinstance(value, dict) and isinstance(option, dict):
        return value.keys() == option.keys() and all(_same(value[key], option[key]) for key in value)
    return type(value) is type(option) and value == option


_ARTICLES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
             "array": "an array", "object": "an object", "null": "null"}


def expected(schema: Mapping[str, Any]) -> str:
    """What a value of ``schema`` is, in words: ``an integer``, ``one of 'a', 'b'``..."""
    if isinstance(schema.get("enum"), list):
        options = schema["enum"]
        shown = ", ".join(_literal(o) for o in options[:_NAMES_LISTED])
        return f"one of {shown}{', …' if len(options) > _NAMES_LISTED else ''}"
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return " or ".join(expected(option) if isinstance(option, Mapping) else "a value" for option in schema[key])
    kinds = schema.get("type")
    names = [kinds] if isinstance(kinds, str) else list(kinds) if isinstance(kinds, list) else []
    words = [_ARTICLES.get(kind, str(kind)) for kind in names]
    if words and isinstance(schema.get("items"), Mapping) and schema["items"].get("type") and "array" in names:
        words[names.index("array")] = f"an array of {_plural(expected(schema['items']))}"
    return " or ".join(words) or "a value"


def _plural(phrase: str) -> str:
    for article in ("an ", "a "):
        if phrase.startswith(article):
            return phrase[len(article):] + "s"
    return phrase


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return echo(value, 40) if isinstance(value, str) else _number(value)


def _got(value: Any) -> str:
    """What the agent passed, briefly, in JSON words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{'NaN' if math.isnan(value) else '-Infinity' if value < 0 else 'Infinity'} (not a JSON number)"
    if isinstance(value, (int, float)):
        return f"the number {_number(value)}"
    if isinstance(value, str):
        return f"the string {echo(value)}"
    if isinstance(value, list):
        return f"an array of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _number(value: Any) -> str:
    try:
        return clip(repr(value), 40)
    except ValueError:  # an integer with more digits than Python will print
        return "(a very large integer)"


def _names(names: list[str]) -> str:
    shown = ", ".join(clip(str(n), 40) for n in names[:_NAMES_LISTED])
    return shown + (f" and {len(names) - _NAMES_LISTED} more" if len(names) > _NAMES_LISTED else "")
