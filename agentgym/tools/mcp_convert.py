"""Conversions between an MCP server's data and agentgym's, for :mod:`agentgym.tools.mcp`.

- :func:`agent_schema`: a server tool's input schema (JSON Schema) as the argument schema
  agentgym checks calls against.
- :func:`render_content`: a ``tools/call`` result (``CallToolResult``) as the text the agent reads.
- :func:`not_unicode`: where a call's arguments hold a string that cannot travel over the
  server's UTF-8 stream (``None`` when all can); :func:`not_finite`: where they hold a number
  JSON cannot write (NaN, infinities); :func:`deeper_than`: whether they nest deeper than a
  limit.

Pure functions of their arguments: no I/O, no ``mcp`` import (results are read by attribute, so
any object of the ``CallToolResult`` shape will do), inputs never modified.
"""

from __future__ import annotations

import copy
import json
import math
import urllib.parse
import warnings
from typing import Any, Callable

#: How many schema objects inlining ``$ref``\\ s may produce (see :func:`agent_schema`).
MAX_SCHEMA_NODES = 10_000

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "dependencies")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems", "items")  # items: its older list form too
_SUBSCHEMAS = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames",
               "additionalItems", "unevaluatedItems", "unevaluatedProperties", "contentSchema")
#: Keywords whose boolean is a flag agentgym's checks read as such: kept as it is.
_FLAGS = ("additionalProperties", "additionalItems", "unevaluatedItems", "unevaluatedProperties")


def agent_schema(schema: Any, *, strict: bool = True, name: str = "tool",
                 max_nodes: int = MAX_SCHEMA_NODES) -> dict[str, Any]:
    """A server tool's input schema as the argument schema agentgym checks: local ``$ref``\\ s
    (JSON pointers into the schema: ``#/$defs/...``, ``#/definitions/...``, ``#/properties/...``)
    inlined wherever a subschema may stand (a recursive one becomes ``{}``, any value; so does a
    reference to anything else), ``title`` annotations dropped, boolean subschemas written as
    objects (``true`` as ``{}``, ``false`` as ``{"not": {}}``; ``additionalProperties`` and its
    kin keep their flag), an ``object`` root with ``properties`` and ``required`` (those of a
    root ``allOf``'s object branches merged in: the argument checks read the root's); with
    ``strict``, ``additionalProperties: false`` where the root says nothing and its
    ``properties`` name every argument (a root ``anyOf``/``oneOf``/``if``... naming others is
    left open: closed, it would refuse them; a ``required`` name the properties lack is added
    to them, taking any value).

    Inlining stops at ``max_nodes`` schema objects: a definition that refers twice to the next,
    twenty deep, is a 2 KB schema that inlines to 2**20 objects (minutes, and a prompt of tens of
    megabytes). References met past the limit become ``{}`` (any value), with a warning naming
    the tool (``name``)."""
    root = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    nodes = 0

    def inline(node: Any, seen: frozenset[str]) -> Any:
        nonlocal nodes
        if isinstance(node, bool):
            return _as_object(node)
        if not isinstance(node, dict):
            return node
        nodes += 1
        reference = node.get("$ref")
        if isinstance(reference, str):
            target = _pointed(root, reference)
            if target is not None and reference not in seen:
                if nodes > max_nodes:
                    return {}
                merged = {**_as_object(target), **{k: v for k, v in node.items() if k != "$ref"}}
                return inline(merged, seen | {reference})
            return {k: v for k, v in node.items() if k not in ("$ref", "title")} if reference in seen else {}
        out = {k: v for k, v in node.items() if k not in ("title", "$defs", "definitions", "$schema", "$id")}
        for key in _SUBSCHEMA_MAPS:
            if isinstance(out.get(key), dict):
                out[key] = {name: inline(sub, seen) for name, sub in out[key].items()}
        for key in _SUBSCHEMA_LISTS:
            if isinstance(out.get(key), list):
                out[key] = [inline(sub, seen) for sub in out[key]]
        for key in _SUBSCHEMAS:
            if isinstance(out.get(key), dict) or (isinstance(out.get(key), bool) and key not in _FLAGS):
                out[key] = inline(out[key], seen)
        return out

    result = inline(root, frozenset())
    if nodes > max_nodes:
        warnings.warn(f"MCP tool {name!r}: its input schema grows past {max_nodes} objects as its $refs are "
                      "inlined; the references past that accept any value", stacklevel=2)
    result["type"] = "object"
    if not isinstance(result.get("properties"), dict):
        result["properties"] = {}
    required = result.get("required")
    result["required"] = [name for name in required if isinstance(name, str)] if isinstance(required, list) else []
    _merge_all_of(result)
    if (strict and "additionalProperties" not in result and "patternProperties" not in result
            and not _names_elsewhere(result)):
        for name in result["required"]:  # required, so named: closing must not refuse it
            result["properties"].setdefault(name, {})
        result["additionalProperties"] = False
    return result


#: Keywords of a root ``allOf`` branch that merging it into the root takes in whole.
_MERGEABLE = frozenset({"type", "properties", "required", "description"})
#: Root keywords whose subschemas may name arguments the root's ``properties`` do not.
_COMBINATORS = ("anyOf", "oneOf", "allOf", "if", "then", "else", "dependentSchemas", "dependencies")


def _merge_all_of(root: dict[str, Any]) -> None:
    """Move the ``properties`` and ``required`` of the root's ``allOf`` branches (an object
    built as an intersection, as zod's ``.and()`` writes it) into the root, where the argument
    checks read them: a property the root has keeps the root's schema (all must hold, so
    checking one of them refuses nothing valid). A branch holding nothing else goes; one with
    more keywords stays, less what was moved."""
    branches = root.get("allOf")
    if not isinstance(branches, list):
        return
    kept = []
    for branch in branches:
        if not (isinstance(branch, dict) and branch.get("type", "object") == "object"
                and isinstance(branch.get("properties", {}), dict)):
            kept.append(branch)
            continue
        for name, sub in branch.get("properties", {}).items():
            root["properties"].setdefault(name, sub)
        required = branch.get("required")
        for name in required if isinstance(required, list) else ():
            if isinstance(name, str) and name not in root["required"]:
                root["required"].append(name)
        rest = {key: value for key, value in branch.items() if key not in ("properties", "required")}
        if set(branch) - _MERGEABLE:
            kept.append(rest)
    if kept:
        root["allOf"] = kept
    else:
        del root["allOf"]


def _names_elsewhere(root: dict[str, Any]) -> bool:
    """Whether a subschema under one of the root's :data:`_COMBINATORS` (at any depth of them)
    names a property the root's ``properties`` do not (the checks read those alone, so closing
    the root would refuse it)."""
    known = set(root["properties"])
    pending = _combined(root)
    while pending:
        node = pending.pop()
        named = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        required = node.get("required") if isinstance(node.get("required"), list) else []
        if set(named) - known or {name for name in required if isinstance(name, str)} - known:
            return True
        pending += _combined(node)
    return False


def _combined(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The subschemas (objects) ``node`` combines under :data:`_COMBINATORS`."""
    found: list[Any] = []
    for key in _COMBINATORS:
        value = node.get(key)
        if isinstance(value, list):
            found += value
        elif isinstance(value, dict):
            found += list(value.values()) if key in ("dependentSchemas", "dependencies") else [value]
    return [sub for sub in found if isinstance(sub, dict)]


def _pointed(root: dict[str, Any], reference: str) -> Any:
    """What a local reference (a JSON pointer into the schema: ``#/$defs/Node``, or
    ``#/properties/shipping`` as zod-to-json-schema writes a subschema used twice) points at in
    ``root``; ``None`` for a reference elsewhere or to nothing."""
    if not reference.startswith("#/"):
        return None
    node: Any = root
    for part in reference[2:].split("/"):
        part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _as_object(schema: Any) -> dict[str, Any]:
    """A subschema as an object: a boolean schema as its object form (``true``: ``{}``, any
    value; ``false``: ``{"not": {}}``, none), anything else that is not an object as ``{}``."""
    if isinstance(schema, dict):
        return schema
    return {"not": {}} if schema is False else {}


def render_content(result: Any) -> str:
    """A ``CallToolResult``'s content as the text the agent reads (see the module docstring)."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} ({block.mime_type}, {_decoded_size(block.data)} bytes) not shown: "
                         f"this observation is text]")
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            if text is not None:
                parts.append(f"[resource {resource.uri}]\n{text}")
            else:
                mime = getattr(resource, "mime_type", None) or "binary"
                parts.append(f"[resource {resource.uri} ({mime}, {_decoded_size(resource.blob)} bytes) not shown]")
        elif kind == "resource_link":
            named = f" ({block.name})" if getattr(block, "name", None) else ""
            parts.append(f"[resource link: {block.uri}{named}]")
        else:
            parts.append(f"[{kind} content not shown]")
    if not parts and getattr(result, "structured_content", None) is not None:
        return json.dumps(result.structured_content, ensure_ascii=False, default=str)
    return "\n".join(parts)


def _decoded_size(data: str) -> int:
    return len(data) * 3 // 4 - data[-2:].count("=") if data else 0


def not_unicode(value: Any, where: str = "") -> str | None:
    """Where in a call's arguments a string (value or key) is not valid unicode text — a lone
    surrogate, which no UTF-8 stream can carry — as ``argument 'x'`` / ``item 2 of argument
    'x'`` / ``key 'k' of argument 'x'``; ``None`` when every string is."""
    return _find(value, where, _lone_surrogate)


def not_finite(value: Any, where: str = "") -> str | None:
    """Where in a call's arguments a number is NaN or infinite — JSON has no such number (the
    client would send ``null`` in its place) — named as :func:`not_unicode` names it; ``None``
    when every number is finite."""
    return _find(value, where, _infinite)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and objects inside each other more than ``limit`` levels
    deep (walked without recursion, so any depth is answered)."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth >= limit:
                return True
            pending.extend((inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item))
    return False


def _find(value: Any, where: str, bad: Callable[[Any], bool]) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            inside = f"argument {key!r}" if not where else f"key {key!r} of {where}"
            if bad(key):
                return f"the name of {inside}" if not where else f"a key of {where}"
            found = _find(item, inside, bad)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find(item, f"item {index} of {where}" if where else f"item {index}", bad)
            if found is not None:
                return found
    elif bad(value):
        return where or "a value"
    return None


def _lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def _infinite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)
