"""Exploratory tests (round 14) of MCPToolset and the tools environments: root schemas that
combine subschemas, a listing that cannot be offered, required names without a property, empty
arguments of the command, an unclosed quote in it, the store server's latency,
LocalStore's only, a start cut short by a shutdown, copies of the tools environments, pickles."""

from __future__ import annotations

import copy
import json
import pickle
import shlex
import sys
from pathlib import Path

import psutil
import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.tools.invoke import invoke
from agentgym.tools.mcp import MCPServerError, MCPToolset, agent_schema

RAW = [sys.executable, str(Path(__file__).with_name("mcp_raw_server.py"))]


def raw_toolset(mode: str, schema: dict | None = None, **kwargs) -> MCPToolset:
    env = None if schema is None else {"SCHEMA": json.dumps(schema)}
    return MCPToolset(RAW + [mode], env=env, **kwargs)


ALL_OF = {"type": "object", "properties": {"id": {"type": "integer"}},
          "allOf": [{"type": "object", "properties": {"name": {"type": "string"}, "id": {"minimum": 5}},
                     "required": ["name"]},
                    {"properties": {"tags": {"type": "array", "items": {"type": "string"}}},
                     "required": ["id"], "not": {"required": ["both"]}}]}
ANY_OF = {"type": "object", "anyOf": [{"properties": {"path": {"type": "string"}}, "required": ["path"]},
                                      {"properties": {"url": {"type": "string"}}, "required": ["url"]}]}


def test_a_root_that_combines_subschemas_is_not_closed_against_the_arguments_they_name(resources):
    """A root allOf (zod's .and()) or anyOf names the arguments in its branches; strict closed the
    root over its own (empty) properties, so every call was refused: 'got unknown argument(s)'."""
    merged = agent_schema(ALL_OF)
    assert merged["properties"] == {"id": {"type": "integer"}, "name": {"type": "string"},
                                    "tags": {"type": "array", "items": {"type": "string"}}}
    assert merged["required"] == ["name", "id"] and merged["additionalProperties"] is False
    assert merged["allOf"] == [{"not": {"required": ["both"]}}]  # what was not merged stays
    assert "additionalProperties" not in agent_schema(ANY_OF)
    assert agent_schema(ANY_OF, strict=True)["anyOf"] == ANY_OF["anyOf"]
    for schema, good, refused in (
            (ALL_OF, {"name": "a", "id": 7, "tags": ["x"]},
             (({"name": 3, "id": 7}, "argument 'name' of t"), ({"name": "a", "id": 7, "nmae": 1}, "argument(s): nmae"),
              ({"name": "a"}, "missing required argument(s): id"))),
            (ANY_OF, {"url": "https://x"}, ())):
        toolset = raw_toolset("echo", schema, call_timeout=5.0)
        toolset.open()
        try:
            tool = toolset.tools()[0]
            outcome = invoke(tool, good)
            assert outcome.ok, outcome
            assert json.loads(outcome.content) == good
            for arguments, refusal in refused:
                outcome = invoke(tool, arguments)
                assert not outcome.ok and refusal in outcome.content, outcome
        finally:
            toolset.shutdown()
    resources.assert_released()


def test_a_listing_that_cannot_be_offered_leaves_no_server_running(resources):
    """scope='environment' keeps the server that read the listing for the first episode; when the
    listing could not be offered (a hidden name it lacks) that server stayed up until the toolset's
    shutdown, though every open() raised."""
    toolset = raw_toolset("echo", {"type": "object", "properties": {"scope": {"const": "environment"}}},
                          scope="environment", hidden=("admin_lod",))
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    for _ in range(2):
        with pytest.raises(MCPServerError, match="admin_lod"):
            toolset.open()
        assert toolset.server_pid is None
        assert {child.pid for child in psutil.Process().children(recursive=True)} <= before
    resources.assert_released()


def test_a_required_argument_the_properties_do_not_list_can_be_given(resources):
    """A hand-written schema may require a name it gives no property ('required': ['path'] with
    'properties': {}): strict closed the root over its properties, so the agent read both
    'missing required argument(s): path' without it and 'unknown argument(s): path' with it."""
    schema = {"type": "object", "properties": {"mode": {"type": "string"}}, "required": ["mode", "path"]}
    assert agent_schema(schema)["properties"] == {"mode": {"type": "string"}, "path": {}}
    toolset = raw_toolset("echo", schema, call_timeout=5.0)
    toolset.open()
    try:
        tool = toolset.tools()[0]
        outcome = invoke(tool, {"mode": "r", "path": "/tmp/x"})
        assert outcome.ok and json.loads(outcome.content) == {"mode": "r", "path": "/tmp/x"}, outcome
        outcome = invoke(tool, {"mode": "r", "path": "/tmp/x", "paht": 1})
        assert not outcome.ok and "unknown argument(s): paht" in outcome.content, outcome  # still strict
    finally:
        toolset.shutdown()
    resources.assert_released()


def test_an_empty_argument_of_the_command_is_passed_to_the_server(resources):
    """A program may take an empty argument (--prefix ""); every part of the command had to be
    non-empty, so [..., "--token", ""] and the command line 'server --token ""' were refused as
    not 'a non-empty list of arguments'."""
    script = str(Path(__file__).with_name("mcp_raw_server.py"))
    line = f'{shlex.quote(sys.executable)} {shlex.quote(script)} echo "" x'
    assert MCPToolset(line).command == (sys.executable, script, "echo", "", "x")
    for bad in ([""], ["", "x"], '"" x', [sys.executable, "a\0b"]):
        with pytest.raises(ConfigError, match="command must be"):
            MCPToolset(bad)
    toolset = MCPToolset(RAW + ["echo", "", "--empty-before-this"], scope="environment", call_timeout=5.0)
    toolset.open()
    try:
        pid = toolset.server_pid
        assert psutil.Process(pid).cmdline()[-2:] == ["", "--empty-before-this"]
        assert toolset.call_hidden("t", {"a": 1}) == '{"a": 1}'
    finally:
        toolset.shutdown()
    resources.assert_released()


def test_a_command_line_with_an_unclosed_quote_is_a_config_error():
    """shlex's ValueError ('No closing quotation') came out bare: it named neither MCPToolset nor
    the command, and the command line printed it as a traceback, not as a ConfigError's line."""
    with pytest.raises(ConfigError, match=r"MCPToolset: the command line 'server --name \"x' .*No closing quotation"):
        MCPToolset('server --name "x')


@pytest.mark.parametrize("latency", ["nan", "inf", "-1"])
def test_the_store_servers_latency_must_be_a_finite_number(latency, capsys):
    """'--latency nan' and '--latency inf' passed the '>= 0' check: the server started, and then
    every agent call failed ('delay must be a non-negative number') or never answered."""
    from agentgym.envs.tools.service import server

    with pytest.raises(SystemExit) as exited:
        server.main(["--latency", latency])
    assert exited.value.code == 2
    assert "--latency must be a finite number of seconds >= 0" in capsys.readouterr().err


def test_local_store_takes_one_tool_name_as_a_string():
    """only='get_customer' was read as its letters: 'no store tools named ['_', 'c', 'e', ...]'."""
    from agentgym.envs.tools.service.local import LocalStore

    assert [tool.name for tool in LocalStore(only="get_customer").tools()] == ["get_customer"]
    with pytest.raises(ValueError, match="no store tools named 'get_custmer'$"):
        LocalStore(only="get_custmer")


def test_a_copy_of_the_multitool_environment_calls_its_own_store():
    """Copies of an environment between episodes play on independently ('Copies' in
    agentgym.core); LocalStore's tools were closures over the toolset they were made by, so a
    copy's store calls ran on the original's store: 'the store is closed' before the original's
    reset, the original's world (and its changes) after it."""
    original = agentgym.make("tools/MultiTool-v0", difficulty="easy")
    copied = copy.deepcopy(original)
    try:
        copied.reset(seed=7)
        mine = copied.unwrapped.store_tools.world
        first, second = list(mine["customers"])[:2]
        outcome = copied.unwrapped.call_tool("get_customer", {"customer_id": first})
        assert outcome.ok and json.loads(outcome.content)["name"] == mine["customers"][first]["name"], outcome
        original.reset(seed=5)
        theirs = copy.deepcopy(original.unwrapped.store_tools.world)
        outcome = copied.unwrapped.call_tool("transfer_credit", {"from_customer_id": first,
                                                                 "to_customer_id": second, "amount": 1})
        assert outcome.ok, outcome
        assert json.loads(outcome.content)["from_balance"] == mine["customers"][first]["balance"]
        assert original.unwrapped.store_tools.world == theirs  # the original's store is untouched
    finally:
        original.close()
        copied.close()



def test_a_copy_of_an_mcp_toolset_starts_and_calls_its_own_server(resources):
    """MCPToolset could not be copied at all ('cannot pickle _thread.lock object', before any
    reset: so neither could tools/Service-v0), though a toolset between episodes may be; and its
    tools were closures over the toolset that made them, so a copy's calls went to the original's
    server ('the MCP session is closed' once the original's had ended)."""
    original = raw_toolset("echo", {"type": "object", "properties": {"copied": {"type": "boolean"}}},
                           scope="environment", call_timeout=5.0)
    original.open()  # its server runs on between episodes (scope="environment")
    original.close()
    copied = copy.deepcopy(original)
    try:
        assert copied.server_pid is None and original.server_pid is not None
        copied.open()
        assert copied.server_pid not in (None, original.server_pid)
        original.shutdown()
        outcome = invoke(copied.tools()[0], {"copied": True})
        assert outcome.ok and json.loads(outcome.content) == {"copied": True}, outcome
        again = pickle.loads(pickle.dumps(copied.tools()[0]))  # a tool pickles with its (closed) toolset
        assert invoke(again, {"copied": True}).content == "Error: the MCP session is closed"
    finally:
        copied.shutdown()
        original.shutdown()
    resources.assert_released()


def test_the_multitool_environment_pickles_and_plays_on():
    """An environment pickles ('Copies' in agentgym.core); tools/MultiTool-v0 failed with "Can't
    pickle <function <lambda>>": its LocalStore holds the store's tool specs, whose handlers are
    lambdas."""
    from agentgym.envs.tools.service.api import SPECS, ToolSpec

    env = agentgym.make("tools/MultiTool-v0", difficulty="medium")
    copied = pickle.loads(pickle.dumps(env))
    try:
        copied.reset(seed=3)
        for _ in range(10):
            _, reward, terminated, truncated, info = copied.step(copied.unwrapped.oracle_action())
            if terminated or truncated:
                break
        assert info["success"] and reward == 1.0, info
        assert pickle.loads(pickle.dumps(SPECS["place_order"])) is SPECS["place_order"]
        other = ToolSpec("count", "Count.", {"type": "object"}, len)  # not one of the service's: pickled whole
        assert pickle.loads(pickle.dumps(other)) == other
    finally:
        env.close()
        copied.close()
