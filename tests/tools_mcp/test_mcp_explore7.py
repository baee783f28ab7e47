"""Exploratory tests (round 7) of MCPToolset and the tools environments: what a careless MCP
server sends (bytes that are not UTF-8), odd input schemas, values JSON cannot carry."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

import agentgym
from agentgym.envs.tools.service.env import server_command
from agentgym.tools import ToolError
from agentgym.tools.invoke import invoke
from agentgym.tools.mcp import MCPServerError, MCPToolset, agent_schema
from tests.resource_probe import process_ended

RAW = [sys.executable, str(Path(__file__).with_name("mcp_raw_server.py"))]


def raw_toolset(mode: str, schema: dict | None = None, **kwargs) -> MCPToolset:
    env = None if schema is None else {"SCHEMA": json.dumps(schema)}
    return MCPToolset(RAW + [mode], env=env, **kwargs)


def test_an_answer_that_is_not_utf8_is_read_with_replacement_characters_not_lost(resources):
    toolset = raw_toolset("latin1", call_timeout=2.0)
    toolset.open()
    try:
        started = time.monotonic()
        text = toolset.call_hidden("t", {})
        assert text == "caf\ufffd"
        assert time.monotonic() - started < 1.5  # answered, not waited out
        assert toolset.call_hidden("t", {}) == "caf\ufffd"  # the session goes on
    finally:
        toolset.shutdown()
    resources.assert_released()


BOOLEAN_SCHEMA = {"type": "object", "properties": {
    "anything": True, "never": False, "listed": {"type": "array", "items": True},
    "named": {"$ref": "#/$defs/Any"}, "closed": {"type": "object", "additionalProperties": False}},
    "$defs": {"Any": True}}


def test_boolean_subschemas_are_objects_and_a_call_is_checked_not_crashed(resources):
    params = agent_schema(BOOLEAN_SCHEMA)
    assert params["properties"] == {"anything": {}, "never": {"not": {}}, "listed": {"type": "array", "items": {}},
                                    "named": {}, "closed": {"type": "object", "additionalProperties": False}}
    toolset = raw_toolset("echo", BOOLEAN_SCHEMA, call_timeout=5.0)
    toolset.open()
    try:
        tool = toolset.tools()[0]
        outcome = invoke(tool, {"anything": [1, {"a": None}], "listed": ["x", 2], "named": 3})
        assert outcome.ok, outcome
        assert json.loads(outcome.content) == {"anything": [1, {"a": None}], "listed": ["x", 2], "named": 3}
    finally:
        toolset.shutdown()
    resources.assert_released()


def test_definitions_that_are_not_objects_do_not_break_the_listing():
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}, "b": {"$ref": "#/definitions/B"}},
              "$defs": {"A": "not a schema"}, "definitions": ["not", "a", "map"]}
    assert agent_schema(schema)["properties"] == {"a": {}, "b": {}}


def test_nan_and_infinity_are_refused_naming_where_not_sent_as_null(resources):
    """Python's JSON reader takes NaN and Infinity from an agent's call; JSON has no such number,
    and the client wrote null in their place: the server read a value the agent never wrote."""
    toolset = raw_toolset("echo", {"type": "object", "properties": {"x": {"type": "number"}, "y": {}}},
                          call_timeout=5.0)
    toolset.open()
    try:
        tool = toolset.tools()[0]
        for arguments, where in (({"x": math.nan}, "argument 'x'"), ({"x": -math.inf}, "argument 'x'"),
                                 ({"y": [1, {"z": math.inf}]}, "key 'z' of item 1 of argument 'y'")):
            outcome = invoke(tool, arguments)
            refused = ("is not a finite number", "(not a JSON number)")  # the MCP check / the schema check
            assert not outcome.ok and where in outcome.content and any(r in outcome.content for r in refused), outcome
        assert json.loads(invoke(tool, {"x": 1.5, "y": [1e308]}).content) == {"x": 1.5, "y": [1e308]}
    finally:
        toolset.shutdown()
    resources.assert_released()


def test_convert_currency_refuses_nan_instead_of_answering_nan():
    """Python's JSON reader takes NaN in an agent's call; the desk answered 'nan' (NaN passed its
    'at most a trillion' check)."""
    env = agentgym.make("tools/MultiTool-v0", difficulty="easy")
    try:
        env.reset(seed=0)
        for amount in ("NaN", "Infinity", "1" + "0" * 400):  # an int too big for a float too
            call = {"name": "convert_currency", "arguments": {"amount": "@", "from_currency": "USD",
                                                              "to_currency": "EUR"}}
            text = json.dumps(call).replace('"@"', amount)
            observation = env.step(f"<tool_call>\n{text}\n</tool_call>")[0]
            refused = ("Error: the amount is too large", "must be a number, got NaN", "must be a number, got Infinity")
            assert any(r in observation for r in refused), observation
        observation = env.step('<tool_call>\n{"name": "convert_currency", "arguments": {"amount": 10, '
                               '"from_currency": "USD", "to_currency": "USD"}}\n</tool_call>')[0]
        assert "10.0" in observation
    finally:
        env.close()


def test_references_are_inlined_under_every_keyword_that_holds_a_subschema():
    """The $defs are dropped from the schema the agent reads: a $ref left under propertyNames,
    dependentSchemas or a list-form items pointed at nothing."""
    schema = {"type": "object",
              "properties": {"pair": {"type": "array", "items": [{"$ref": "#/$defs/Count"}],
                                      "additionalItems": {"$ref": "#/$defs/Count"}},
                             "tags": {"type": "object", "propertyNames": {"$ref": "#/$defs/Key"}},
                             "a": {"type": "string"}, "b": {"type": "string"}},
              "dependentSchemas": {"a": {"$ref": "#/$defs/NeedsB"}},
              "dependencies": {"b": ["a"], "a": {"$ref": "#/$defs/NeedsB"}},
              "$defs": {"Count": {"type": "integer"}, "Key": {"pattern": "^k"}, "NeedsB": {"required": ["b"]}}}
    params = agent_schema(schema)
    assert "$ref" not in json.dumps(params)
    assert params["properties"]["pair"]["items"] == [{"type": "integer"}]
    assert params["properties"]["pair"]["additionalItems"] == {"type": "integer"}
    assert params["properties"]["tags"]["propertyNames"] == {"pattern": "^k"}
    assert params["dependentSchemas"] == {"a": {"required": ["b"]}}
    assert params["dependencies"] == {"b": ["a"], "a": {"required": ["b"]}}


def test_call_hidden_on_a_server_that_died_says_so_not_that_the_toolset_is_not_open(resources):
    toolset = raw_toolset("echo", call_timeout=5.0, scope="environment")
    toolset.open()
    try:
        os.kill(toolset.server_pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while toolset.server_pid is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(ToolError) as caught:
            toolset.call_hidden("t", {})
        assert "not open" not in str(caught.value) and "exited" in str(caught.value)
    finally:
        toolset.shutdown()
    with pytest.raises(ToolError, match="not open"):
        toolset.call_hidden("t", {})
    resources.assert_released()


def test_a_helper_the_server_left_in_its_process_group_ends_with_the_server(resources):
    """The server exits when its stdin closes (no signal needed), but a helper it started stayed:
    one more process per episode."""
    toolset = raw_toolset("helper", call_timeout=5.0, shutdown_grace=0.2)
    helpers = []
    try:
        for _ in range(2):  # scope="episode": a server, and its helper, per episode
            toolset.open()
            helpers.append(int(toolset.call_hidden("t", {})))
            server = toolset.server_pid
            assert psutil.Process(helpers[-1]).ppid() == server
            toolset.close()
            assert process_ended(server, 5) and process_ended(helpers[-1], 5)
    finally:
        toolset.shutdown()
        for pid in helpers:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
    resources.assert_released()


def test_a_reference_to_a_property_as_zod_to_json_schema_writes_it_is_inlined(resources):
    """TypeScript servers' schemas (zod-to-json-schema) refer to a subschema used twice by its
    path, ``#/properties/shipping``: only ``#/$defs/...`` and ``#/definitions/...`` were
    followed, so billing became {} -- the agent read no fields and any value was sent."""
    address = {"type": "object", "properties": {"street": {"type": "string"}, "zip": {"type": "string"}},
               "required": ["street", "zip"], "additionalProperties": False}
    schema = {"type": "object", "properties": {"shipping": address, "billing": {"$ref": "#/properties/shipping"},
                                               "count": {"$ref": "#/$defs/a~1b"}},
              "$defs": {"a/b": {"type": "integer"}}}
    params = agent_schema(schema)
    assert params["properties"]["billing"] == address
    assert params["properties"]["count"] == {"type": "integer"}  # a name escaped in the pointer
    toolset = raw_toolset("echo", schema, call_timeout=5.0)
    toolset.open()
    try:
        tool = toolset.tools()[0]
        good = {"street": "1 Main St", "zip": "12345"}
        assert json.loads(invoke(tool, {"shipping": good, "billing": good}).content)["billing"] == good
        refused = invoke(tool, {"shipping": good, "billing": {"street": "1 Main St"}})
        assert refused.failure == "arguments" and "zip" in refused.content
    finally:
        toolset.shutdown()
    resources.assert_released()


def test_a_server_behind_a_launcher_that_exited_still_gets_its_grace_to_exit(tmp_path, resources):
    """The process started forks the server and exits (a launcher): the server is what is left
    of the group at close, and must get the grace to exit on its closed stdin (it saves its
    state then), not a SIGKILL at once."""
    marker = tmp_path / "marker"
    toolset = MCPToolset(RAW + ["forked"], env={"MARKER": str(marker)}, call_timeout=5.0, shutdown_grace=5.0)
    toolset.open()
    try:
        assert json.loads(toolset.call_hidden("t", {"a": 1})) == {"a": 1}
        started = time.monotonic()
        toolset.close()
        assert time.monotonic() - started < 4.0  # it exited on its own, well within the grace
        assert marker.read_text() == "closed"
    finally:
        toolset.shutdown()
    resources.assert_released()


def test_a_hidden_name_the_server_does_not_have_is_an_error_not_a_tool_offered():
    """hidden=("admin_lod",) -- a typo -- offered admin_load to the agent: it could replace the
    world it is graded on."""
    with pytest.raises(MCPServerError, match="hidden names tools the MCP server does not have: admin_lod"):
        MCPToolset(RAW + ["echo"], hidden=["t", "admin_lod"]).tools()
    assert MCPToolset(RAW + ["echo"], hidden=["t"]).tools() == ()


def test_an_answer_the_client_cannot_read_fails_its_call_at_once_not_at_its_timeout(resources):
    """An answer nested deeper than the JSON reader goes was skipped like a stray line: its call
    waited out its timeout (30 s by default), read as a timeout, and the server was replaced."""
    toolset = raw_toolset("deep", call_timeout=3.0, scope="environment")
    toolset.open()
    try:
        started = time.monotonic()
        with pytest.raises(ToolError, match="answer could not be read.*recursion limit"):
            toolset.call_hidden("t", {})
        assert time.monotonic() - started < 2.0
        pid = toolset.server_pid
        assert json.loads(toolset.call_hidden("t", {"a": 1})) == {"a": 1}  # the session goes on
        toolset.close()
        assert toolset.server_pid == pid  # no timeout: the server is kept for the next episode
    finally:
        toolset.shutdown()
    resources.assert_released()


def test_arguments_nested_deeper_than_a_server_reads_are_refused_before_the_call(resources):
    """A server of the mcp Python package reads JSON 200 levels deep at most and dropped a deeper
    request without an answer: the call waited out its timeout and the server was replaced."""
    toolset = MCPToolset(server_command(), scope="environment", call_timeout=3.0)
    toolset.open()
    try:
        deep, shallow = {}, {}
        for _ in range(250):
            deep = {"k": deep}
        for _ in range(100):
            shallow = {"k": shallow}
        started = time.monotonic()
        with pytest.raises(ToolError, match="more than 128 levels deep"):
            toolset.call_hidden("admin_load", {"world": deep})
        assert time.monotonic() - started < 1.0
        with pytest.raises(ToolError, match="not a valid world"):  # read and answered by the server
            toolset.call_hidden("admin_load", {"world": shallow})
        assert toolset.call_hidden("list_delivery_days")
    finally:
        toolset.shutdown()
    resources.assert_released()


def test_a_malformed_result_is_said_in_a_line_not_in_pydantics_dozen(resources):
    """One image block without its data read as 12 validation errors over 2,300 characters, each
    with a link to pydantic's site: what the agent read."""
    toolset = raw_toolset("malformed", call_timeout=5.0)
    toolset.open()
    try:
        with pytest.raises(ToolError) as caught:
            toolset.call_hidden("t", {})
        message = str(caught.value)
        assert message.startswith("the MCP call failed: ValidationError of CallToolResult: content.0.")
        assert "(and 9 more)" in message and "\n" not in message and "pydantic.dev" not in message
        assert len(message) < 400
    finally:
        toolset.shutdown()
    resources.assert_released()
