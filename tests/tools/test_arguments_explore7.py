"""Exploratory round 7: argument checks against the less common parts of JSON Schema, as an
agent's calls (and MCP servers' schemas) reach them."""

from __future__ import annotations

from agentgym.tools import Tool, invoke


def _echo_tool(properties, **schema):
    return Tool("t", "Echo the arguments.", lambda **kw: kw, {"type": "object", "properties": properties, **schema})


def test_boolean_subschemas_and_not_are_checked_not_crashed_on():
    # true / false are valid JSON Schema subschemas (an MCP server's schema may hold them);
    # the check raised AttributeError out of invoke, whose contract is never to raise.
    tool = _echo_tool({"any": True, "never": False, "list": {"type": "array", "items": False}})
    assert invoke(tool, {"any": [1, "x"]}).ok
    outcome = invoke(tool, {"never": 1})
    assert outcome.failure == "arguments" and "argument 'never' of t" in outcome.content, outcome.content
    outcome = invoke(tool, {"list": [1]})
    assert outcome.failure == "arguments" and "item 0 of argument 'list' of t" in outcome.content, outcome.content
    assert invoke(tool, {"list": []}).ok
    # "not": the MCP conversion writes a false subschema as {"not": {}}; it was ignored
    tool = _echo_tool({"never": {"not": {}}, "word": {"not": {"type": "string"}}})
    outcome = invoke(tool, {"never": "x"})
    assert outcome.failure == "arguments" and "argument 'never' of t" in outcome.content, outcome.content
    outcome = invoke(tool, {"word": "x"})
    assert outcome.content == "Error: argument 'word' of t must not be a string, got the string 'x'.", outcome.content
    assert invoke(tool, {"word": 3}).ok


def test_a_nested_closed_object_without_properties_refuses_keys():
    # {"type": "object", "additionalProperties": false} inside: the object must be empty; it
    # took {"extra": 1} because the nested check only ran when the object listed properties
    tool = _echo_tool({"closed": {"type": "object", "additionalProperties": False}})
    outcome = invoke(tool, {"closed": {"extra": 1}})
    assert outcome.content == ("Error: argument 'closed' of t has unknown key(s) extra; it takes: no keys."), \
        outcome.content
    assert invoke(tool, {"closed": {}}).ok


def test_nan_and_infinity_are_not_numbers():
    # Python's JSON reader takes NaN and Infinity from an agent's call; JSON has no such
    # numbers, and NaN passed every bound (nan < 0 and nan > 10 are both false)
    import json

    from agentgym.tools import tool

    @tool
    def scale(x: float, ratio: float | None = None) -> float:
        """Scale a number.

        Args:
            x: the number.
            ratio: the factor.
        """
        return x * (ratio or 2)

    arguments = json.loads('{"x": NaN}')
    outcome = invoke(scale, arguments)
    assert outcome.content == "Error: argument 'x' of scale must be a number, got NaN (not a JSON number).", \
        outcome.content
    outcome = invoke(scale, {"x": 1, "ratio": float("-inf")})
    assert outcome.content == ("Error: argument 'ratio' of scale must be a number or null, got -Infinity "
                               "(not a JSON number)."), outcome.content
    bounded = _echo_tool({"p": {"minimum": 0, "maximum": 1}, "n": {"type": "integer"}})
    outcome = invoke(bounded, {"p": float("nan")})
    assert outcome.failure == "arguments" and "got NaN (not a JSON number)" in outcome.content, outcome.content
    outcome = invoke(bounded, {"n": float("inf")})
    assert outcome.content == "Error: argument 'n' of t must be an integer, got Infinity (not a JSON number).", \
        outcome.content
    assert invoke(scale, {"x": 1e308}).ok and invoke(bounded, {"p": 0.5}).ok


def test_enum_and_const_compare_arrays_and_objects_as_json():
    # true is not 1 inside an array or object either (Python's == says it is)
    tool = _echo_tool({"pair": {"enum": [[1, 2], "none"]}, "flags": {"const": {"on": 1}}})
    outcome = invoke(tool, {"pair": [True, 2]})
    assert outcome.failure == "arguments" and "argument 'pair' of t must be one of" in outcome.content, outcome.content
    outcome = invoke(tool, {"flags": {"on": True}})
    assert outcome.failure == "arguments" and "argument 'flags' of t" in outcome.content, outcome.content
    assert invoke(tool, {"pair": [1.0, 2], "flags": {"on": 1.0}}).ok
    assert invoke(tool, {"pair": "none"}).ok
    assert invoke(tool, {"pair": [1, 2, 3]}).failure == "arguments"


def test_a_sync_tool_raising_stopiteration_fails_under_ainvoke_instead_of_hanging():
    # next() on an empty iterator: asyncio cannot put StopIteration into a future, so the
    # awaited worker-thread call never finished (or reported a false timeout)
    import asyncio

    from agentgym.tools import ainvoke

    def first_match():
        return next(iter([]))

    for timeout in (None, 5.0):
        tool = Tool("first_match", "The first match.", first_match, timeout=timeout)
        outcome = asyncio.run(asyncio.wait_for(ainvoke(tool, {}), 2.0))
        assert outcome.failure == "error" and outcome.content.startswith("Error: first_match failed: StopIteration"), \
            outcome.content
        assert invoke(tool, {}).content == outcome.content


class _Unprintable:
    def __str__(self):
        raise RuntimeError("no text")

    __repr__ = __str__


class _UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("no text")


def test_a_tool_failure_whose_message_cannot_be_written_is_still_an_error_observation():
    # invoke promises never to raise for what the tool did; the exception's broken __str__
    # (or sys.exit with an object whose repr fails) escaped it
    import asyncio
    import sys

    from agentgym.tools import ToolError, ainvoke

    def fails(kind):
        def run():
            if kind == "exit":
                sys.exit(_Unprintable())
            raise (_UnprintableError() if kind == "error" else type("Refused", (ToolError, _UnprintableError), {})())
        return Tool("broken", "Fails.", run)

    for kind, start in (("error", "Error: broken failed: _UnprintableError"), ("tool", "Error: broken failed: Refused"),
                        ("exit", "Error: broken failed: it called sys.exit(")):
        outcome = invoke(fails(kind), {})
        assert outcome.failure == "error" and outcome.content.startswith(start), (kind, outcome.content)
        outcome = asyncio.run(ainvoke(fails(kind), {}))
        assert outcome.failure == "error" and outcome.content.startswith(start), (kind, outcome.content)


def test_numpy_values_inside_a_result_are_json_numbers_and_lists():
    # json.dumps(default=str) wrote {"count": np.int64(3)} as {"count": "3"}: the agent read a
    # string where the tool returned a number
    import json

    import numpy as np

    from agentgym.tools import render_result

    value = {"count": np.int64(3), "mean": np.float32(1.5), "ok": np.bool_(True), "ids": np.arange(3),
             "grid": np.zeros((2, 2), dtype=np.int32), "when": [np.float64(0.25)]}
    assert json.loads(render_result(value)) == {"count": 3, "mean": 1.5, "ok": True, "ids": [0, 1, 2],
                                                "grid": [[0, 0], [0, 0]], "when": [0.25]}
    assert render_result([np.int64(7)]) == "[7]"
    tool = Tool("stats", "Statistics.", lambda: {"n": np.int64(2)})
    assert invoke(tool, {}).content == '{"n": 2}'


def test_an_anyof_miss_names_the_one_option_of_the_value_s_type():
    # "must be a string or an integer, got the number 1" told the agent an integer was wrong
    # for an integer; the option that takes its type says what is wrong
    tool = _echo_tool({"x": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 3}]},
                       "ids": {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]},
                       "either": {"oneOf": [{"type": "integer", "maximum": 5}, {"type": "number", "minimum": 10}]}})
    assert invoke(tool, {"x": 1}).content == "Error: argument 'x' of t must be at least 3, got the number 1."
    assert invoke(tool, {"ids": ["a"]}).content == \
        "Error: item 0 of argument 'ids' of t must be an integer, got the string 'a'."
    assert invoke(tool, {"x": [1]}).content == \
        "Error: argument 'x' of t must be a string or an integer, got an array of 1 item."
    # two options take an integer: no single one to blame
    assert invoke(tool, {"either": 7}).content == \
        "Error: argument 'either' of t must be an integer or a number, got the number 7."
    assert invoke(tool, {"x": 4, "ids": None, "either": 11.5}).ok


def test_a_hand_made_tool_takes_injected_as_one_name_and_refuses_a_name_fn_lacks():
    # Tool(..., injected="session") became ('s', 'e', 's', ...) and every call raised KeyError
    # out of invoke; a name that is no parameter of fn did too, at the first call
    import pytest

    def lookup(word: str, session=None):
        return f"{word}@{session}"

    tool = Tool("lookup", "Look up.", lookup, {"type": "object", "properties": {"word": {"type": "string"}}},
                injected="session")
    assert tool.injected == ("session",)
    assert invoke(tool, {"word": "a"}, injections=lambda: {"session": 7}).content == "a@7"
    with pytest.raises(TypeError, match="injected names 'sesion', which is not a parameter of its function"):
        Tool("lookup", "Look up.", lookup, injected=("sesion",))

    def takes_any(**kwargs):
        return sorted(kwargs)

    tool = Tool("any", "Anything.", takes_any, injected=("session",))  # **kwargs takes any name
    assert invoke(tool, {}, injections=lambda: {"session": 1}).content == '["session"]'
    outcome = invoke(tool, {})
    assert outcome.failure == "arguments" and "injected argument 'session'" in outcome.content, outcome.content


def test_bytes_inside_a_result_are_decoded_as_at_the_top_level():
    # a top-level b"..." is decoded as UTF-8; inside a dict the agent read "b'caf\\xc3\\xa9'"
    import json

    from agentgym.tools import render_result

    assert render_result(b"caf\xc3\xa9") == "café"
    assert json.loads(render_result({"body": b"caf\xc3\xa9", "parts": [bytearray(b"a\xff")]})) == \
        {"body": "café", "parts": ["a\ufffd"]}
