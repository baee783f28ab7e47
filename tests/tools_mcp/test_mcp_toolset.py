"""MCPToolset over real stdio: our store server (low-level mcp Server) and a third-party-style
probe server (mcp's high-level MCPServer, pydantic schemas): listing, calls, refusals, content
rendering, timeouts, a server that dies, start-up failures, episode and environment scopes,
closing from another thread while a call hangs (the process must be gone), and nothing left
behind."""

from __future__ import annotations

import gc
import json
import random
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import psutil
import pytest

from agentgym.core import ConfigError
from agentgym.envs.tools.service.api import ADMIN_TOOL_NAMES, AGENT_TOOL_NAMES, AGENT_TOOLS
from agentgym.envs.tools.service.env import server_command
from agentgym.envs.tools.service.store import generate_world
from agentgym.tools import ToolError
from agentgym.tools.invoke import invoke
from agentgym.tools.mcp import MCPServerError, MCPToolset, agent_schema

PROBE = [sys.executable, str(Path(__file__).with_name("mcp_probe_server.py"))]
STORE = server_command()  # the store server with its admin tools


@pytest.fixture(scope="module")
def store():
    toolset = MCPToolset(STORE, scope="environment", hidden=ADMIN_TOOL_NAMES, call_timeout=10)
    toolset.open()
    yield toolset
    toolset.shutdown()


@pytest.fixture(scope="module")
def probe():
    toolset = MCPToolset(PROBE, scope="environment", call_timeout=1.0)
    toolset.open()
    yield toolset
    toolset.shutdown()


def tools_of(toolset: MCPToolset) -> dict:
    return {tool.name: tool for tool in toolset.tools()}


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while psutil.pid_exists(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def load(store: MCPToolset, seed: int) -> dict:
    world = generate_world(random.Random(seed))
    store.call_hidden("admin_load", {"world": world})
    return world


# ------------------------------------------------------------------ the store server
def test_the_store_servers_tools_become_agentgym_tools(store):
    tools = tools_of(store)
    assert tuple(tools) == AGENT_TOOL_NAMES and not set(tools) & set(ADMIN_TOOL_NAMES)
    for spec in AGENT_TOOLS:
        assert tools[spec.name].parameters == spec.parameters and tools[spec.name].description == spec.description
        assert tools[spec.name].timeout == 10 and tools[spec.name].is_async  # awaited on the loop of the caller


def test_a_call_returns_the_servers_json(store):
    world = load(store, 3)
    outcome = invoke(tools_of(store)["get_customer"], {"customer_id": "C-101"})
    assert outcome.ok, outcome
    assert json.loads(outcome.content)["balance"] == world["customers"]["C-101"]["balance"]


def test_refusals_and_bad_arguments_are_tool_errors_that_change_nothing(store):
    world = load(store, 4)
    tools = tools_of(store)
    sku = next(iter(world["products"]))
    cases = [
        ("place_order", {"customer_id": "C-101", "items": {sku: world["products"][sku]["stock"] + 1}},
         "error", "not enough stock"),
        ("get_customer", {"customer_id": "C-999"}, "error", "there is no customer"),
        ("transfer_credit", {"from_customer_id": "C-101", "to_customer_id": "C-101", "amount": 5}, "error",
         "must differ"),
        ("find_customers", {"name": "x" * 5_000}, "error", "at most 200"),  # fits the schema: the server refuses
        ("get_customer", {"customer_id": 101}, "arguments", "must be a string"),  # refused before the server
        ("get_customer", {"customer_id": "C-101", "verbose": True}, "arguments", "unknown argument"),
        ("place_order", {"customer_id": "C-101", "items": {sku: 0}}, "arguments", "at least 1"),
        ("place_order", [1, 2], "arguments", "must be a JSON object"),
    ]
    for name, arguments, failure, message in cases:
        outcome = invoke(tools[name], arguments)
        assert (outcome.ok, outcome.failure) == (False, failure), (name, arguments, outcome)
        assert outcome.content.startswith("Error: ") and message in outcome.content, outcome.content
    assert json.loads(store.call_hidden("admin_state")) == world


def test_hidden_tools_are_for_the_environment_only(store):
    world = load(store, 5)
    assert json.loads(store.call_hidden("admin_state")) == world
    with pytest.raises(ToolError, match="unknown tool"):
        store.call_hidden("drop_everything")


# ------------------------------------------------------------------ any server (the probe)
def test_any_servers_schemas_are_inlined_and_its_names_cleaned(probe):
    tools = tools_of(probe)
    assert {"area", "echo", "refuse", "picture", "dotted_name", "hang", "crash", "chatter"} <= set(tools)
    schema = tools["area"].parameters
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and '"title"' not in text
    corner = schema["properties"]["shape"]["properties"]["corners"]["items"]
    assert corner["properties"]["x"] == {"type": "integer", "description": "horizontal"}
    assert schema["additionalProperties"] is False and schema["required"] == ["shape"]
    triangle = {"name": "t", "corners": [{"x": 0, "y": 0}, {"x": 4, "y": 0}, {"x": 0, "y": 3}]}
    assert json.loads(invoke(tools["area"], {"shape": triangle, "scale": 2}).content) == {"name": "t", "area": 12.0}
    bad = invoke(tools["area"], {"shape": {"name": "t", "corners": [{"x": "zero", "y": 0}]}})
    assert bad.failure == "arguments" and "must be an integer" in bad.content
    assert invoke(tools["dotted_name"], {}).content == "dotted"  # called by its server name, dotted.name


def test_images_and_resources_are_described_not_dumped(probe):
    content = invoke(tools_of(probe)["picture"], {}).content
    assert content.splitlines()[0] == "here it is"
    assert "[image (image/png, 68 bytes) not shown: this observation is text]" in content
    assert "[resource file:///notes.txt]\nline one" in content
    assert "[resource link: file:///big.bin (big.bin)]" in content
    assert "iVBOR" not in content  # no base64


def test_an_error_result_is_a_tool_error(probe):
    outcome = invoke(tools_of(probe)["refuse"], {"reason": "the moon is full"})
    assert outcome.failure == "error" and "the moon is full" in outcome.content


def test_a_server_flooding_its_stderr_does_not_block_and_only_a_tail_is_kept(probe):
    assert invoke(tools_of(probe)["chatter"], {"lines": 50_000}).content == "done"
    kept = b"".join(probe._connection.stderr_tail)
    assert b"log line 49999" in kept and len(kept) < 64 * 1024


def test_a_stray_line_on_the_servers_stdout_is_skipped(probe):
    tools = tools_of(probe)
    assert invoke(tools["stray_output"], {}).content == "answered"
    assert invoke(tools["echo"], {"text": "after"}).content == "after"


def test_a_call_past_its_timeout_is_a_timeout_and_the_session_goes_on(probe):
    tools = tools_of(probe)
    started = time.perf_counter()
    outcome = invoke(tools["hang"], {})
    assert outcome.failure == "timeout" and "did not finish within 1 seconds" in outcome.content
    assert time.perf_counter() - started < 3.0
    assert invoke(tools["echo"], {"text": "still here"}).content == "still here"
    # A timed-out call may still land: the episode's close ends this server, the next open starts another.
    first = probe.server_pid
    probe.close()
    assert gone(first)
    probe.open()
    assert probe.server_pid not in (None, first)
    assert invoke(tools["echo"], {"text": "new server"}).content == "new server"


def test_text_that_is_not_unicode_is_refused_before_it_reaches_the_server(probe):
    """A lone surrogate cannot be written on the UTF-8 stream: sent, it made the server die
    (and the episode's state with it). It is refused, naming where it is; the server lives on."""
    tools, pid = tools_of(probe), probe.server_pid
    outcome = invoke(tools["echo"], {"text": "caf\ud800"})
    assert outcome.failure == "error" and outcome.content == (
        "Error: argument 'text' is not valid unicode text (it has a lone surrogate); the MCP server cannot read it")
    with pytest.raises(ToolError, match=r"item 1 of key 'b' of argument 'a' is not valid unicode"):
        probe.call_hidden("echo", {"a": {"b": ["fine", "\udfff"]}})
    with pytest.raises(ToolError, match="the name of argument '\\\\udc80' is not valid unicode"):
        probe.call_hidden("echo", {"\udc80": "x"})
    assert probe.server_pid == pid and invoke(tools["echo"], {"text": "still here"}).content == "still here"


def test_a_server_that_dies_gives_tool_errors_and_the_next_open_replaces_it(probe):
    tools = tools_of(probe)
    dead = probe.server_pid
    crashed = invoke(tools["crash"], {})
    assert crashed.failure == "error" and "went away" in crashed.content
    after = invoke(tools["echo"], {"text": "anyone?"})
    assert after.failure == "error" and "not running" in after.content
    probe.close()
    probe.open()
    assert probe.server_pid != dead and invoke(tools["echo"], {"text": "back"}).content == "back"


# ------------------------------------------------------------------ lifecycle
def test_close_from_another_thread_ends_a_hung_call_and_its_server(resources):
    toolset = MCPToolset(server_command(latency=3600), scope="environment", call_timeout=60)  # every call hangs
    toolset.open()
    pid = toolset.server_pid
    result: dict = {}
    caller = threading.Thread(target=lambda: result.setdefault(
        "outcome", invoke(tools_of(toolset)["list_delivery_days"], {})))
    caller.start()
    deadline = time.monotonic() + 10
    while toolset._connection.calls_in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # the request is on the server
    started = time.perf_counter()
    toolset.close()
    closing = time.perf_counter() - started
    caller.join(5)
    assert not caller.is_alive() and closing < 2.0
    assert result["outcome"].failure == "error" and "went away" in result["outcome"].content
    assert gone(pid, within=0.5)  # close returns once the server is reaped
    toolset.shutdown()
    resources.assert_released()


def test_a_server_outlives_no_host_that_dies():
    host = ("import sys, threading, time\n"
            "from agentgym.tools.invoke import invoke\n"
            "from agentgym.tools.mcp import MCPToolset\n"
            f"toolset = MCPToolset({server_command(latency=3600)!r}, scope='environment', call_timeout=3600)\n"
            "toolset.open()\n"
            "threading.Thread(target=invoke, args=(toolset.tools()[0], {'name': 'Ana'}), daemon=True).start()\n"
            "print(toolset.server_pid, flush=True)\n"
            "time.sleep(3600)\n")
    process = subprocess.Popen([sys.executable, "-c", host], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(process.stdout.readline())
        time.sleep(0.3)  # the call hangs on the server
    finally:
        process.kill()  # SIGKILL: no finalizer, no atexit; the server sees its stdin close
        process.wait()
        process.stdout.close()

    def dead() -> bool:
        return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

    deadline = time.monotonic() + 10
    while not dead() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dead(), "the MCP server outlived its killed host"


def test_episode_scope_gives_each_episode_a_fresh_server(resources):
    world = generate_world(random.Random(0))  # what the server serves at start (--seed 0)
    customer, balance = next((cid, c["balance"]) for cid, c in world["customers"].items())
    sku = next(sku for sku, p in world["products"].items() if 1 <= p["stock"] and p["price"] <= balance)
    toolset = MCPToolset(STORE, scope="episode", hidden=ADMIN_TOOL_NAMES)
    tools = tools_of(toolset)
    toolset.open()
    first = toolset.server_pid
    placed = json.loads(invoke(tools["place_order"], {"customer_id": customer, "items": {sku: 1}}).content)
    assert invoke(tools["get_order"], {"order_id": placed["order_id"]}).ok
    toolset.close()
    assert gone(first, within=0.5) and toolset.server_pid is None
    assert invoke(tools["get_order"], {"order_id": placed["order_id"]}).failure == "error"  # closed between episodes
    toolset.open()
    assert toolset.server_pid != first
    missing = invoke(tools["get_order"], {"order_id": placed["order_id"]})
    assert missing.failure == "error" and "there is no order" in missing.content
    stock = [p for p in json.loads(invoke(tools["search_products"], {}).content) if p["sku"] == sku][0]["stock"]
    assert stock == world["products"][sku]["stock"]
    toolset.close()
    resources.assert_released()


def test_start_up_failures_say_why_and_leave_nothing_behind(resources):
    with pytest.raises(MCPServerError, match="could not be started: FileNotFoundError"):
        MCPToolset(["/no/such/server"]).open()
    noisy = [sys.executable, "-c", "import sys; sys.stderr.write('boom: no configuration file\\n'); sys.exit(3)"]
    with pytest.raises(MCPServerError, match="boom: no configuration file"):
        MCPToolset(noisy).open()
    silent = [sys.executable, "-c", "import time; time.sleep(60)"]  # runs, but never speaks MCP
    started = time.perf_counter()
    with pytest.raises(MCPServerError, match="did not answer within 0.5 s"):
        MCPToolset(silent, startup_timeout=0.5).open()
    assert time.perf_counter() - started < 3.0
    resources.assert_released()


def test_a_dropped_toolset_kills_its_server(resources):
    toolset = MCPToolset(STORE, scope="environment", hidden=ADMIN_TOOL_NAMES)
    toolset.open()
    pid = toolset.server_pid
    del toolset
    gc.collect()
    assert gone(pid)
    resources.assert_released()


def test_prefix_and_include_pick_and_rename_tools():
    toolset = MCPToolset(PROBE, prefix="probe_", include=["echo", "dotted.name"])
    assert [tool.name for tool in toolset.tools()] == ["probe_echo", "probe_dotted_name"]


@pytest.mark.parametrize("kwargs", [
    {"command": []}, {"command": ""}, {"command": [1]}, {"command": ["a\0b"]}, {"command": None},
    {"command": ["x"], "scope": "forever"}, {"command": ["x"], "call_timeout": 0},
    {"command": ["x"], "call_timeout": float("nan")}, {"command": ["x"], "startup_timeout": True},
    {"command": ["x"], "prefix": "my tools"}, {"command": ["x"], "hidden": [1]},
    {"command": ["x"], "env": {"A": 1}},
])
def test_bad_arguments_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        MCPToolset(**kwargs)


def test_without_the_mcp_package_the_error_names_the_extra():
    script = ("import sys; sys.modules['mcp'] = None\n"
              "import agentgym.tools\n"
              "from agentgym.tools.mcp import MCPToolset\n"
              "try:\n    MCPToolset(['server'])\nexcept ImportError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip install 'agentgym[mcp]'" in out.stdout


# ------------------------------------------------------------------ schemas
def test_agent_schema_inlines_references_keeps_property_names_and_closes_the_root():
    schema = {
        "type": "object", "title": "Args",
        "properties": {"title": {"type": "string", "title": "Title"}, "node": {"$ref": "#/$defs/Node"}},
        "required": ["title", 3],
        "$defs": {"Node": {"type": "object", "title": "Node",
                           "properties": {"child": {"$ref": "#/$defs/Node"}, "value": {"type": "integer"}}}},
    }
    converted = agent_schema(schema)
    assert converted["properties"]["title"] == {"type": "string"}  # a property named title survives
    node = converted["properties"]["node"]
    assert node["properties"]["value"] == {"type": "integer"}
    assert node["properties"]["child"] == {}  # recursive: any value
    assert converted["required"] == ["title"] and converted["additionalProperties"] is False
    assert agent_schema({"type": "object"}, strict=False) == {"type": "object", "properties": {}, "required": []}
    assert agent_schema(None)["type"] == "object"


def test_references_that_double_at_every_level_stop_at_the_node_limit():
    """Definition i refers twice to definition i+1, twenty deep: a 2 KB schema whose inlining
    made 2**20 objects (38 s, a 69 MB schema for the prompt). Inlining now stops at
    ``max_nodes`` objects, the deeper references accept any value, and a warning names the tool."""
    depth = 20
    definitions = {f"A{i}": {"type": "object", "properties": {"left": {"$ref": f"#/$defs/A{i + 1}"},
                                                              "right": {"$ref": f"#/$defs/A{i + 1}"}}}
                   for i in range(depth)}
    definitions[f"A{depth}"] = {"type": "string"}
    schema = {"type": "object", "properties": {"tree": {"$ref": "#/$defs/A0"}}, "$defs": definitions}
    with pytest.warns(UserWarning, match="MCP tool 'trees': its input schema grows past 500 objects"):
        converted = agent_schema(schema, name="trees", max_nodes=500)
    assert len(json.dumps(converted)) < 50_000
    assert converted["properties"]["tree"]["properties"]["left"]["type"] == "object"  # the top is inlined
    small = {"type": "object", "properties": {"x": {"$ref": "#/$defs/A18"}}, "$defs": definitions}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a schema within the limit inlines fully, without a warning
        assert agent_schema(small, max_nodes=500)["properties"]["x"]["properties"]["left"]["properties"]["right"] \
            == {"type": "string"}


def test_a_shutdown_while_the_server_starts_fails_that_start_and_leaves_nothing(resources):
    silent = [sys.executable, "-c", "import time; time.sleep(60)"]  # starts, never answers the handshake
    toolset = MCPToolset(silent, scope="environment", startup_timeout=30)
    failure: dict = {}

    def start() -> None:
        try:
            toolset.open()
        except MCPServerError as exc:
            failure["error"] = exc

    starting = threading.Thread(target=start)
    started = time.perf_counter()
    starting.start()
    deadline = time.monotonic() + 60
    while not any(c.pid for c in toolset._starting) and time.monotonic() < deadline:
        time.sleep(0.01)
    pid = next(c.pid for c in toolset._starting)
    started = time.perf_counter()
    toolset.shutdown()
    starting.join(5)
    assert not starting.is_alive() and time.perf_counter() - started < 5
    assert "error" in failure and gone(pid, within=1.0)
    # said as what happened: it was closed, not that the server failed to start (explore14)
    assert "was closed before it started" in str(failure["error"])
    assert "could not be started" not in str(failure["error"])
    resources.assert_released()


def test_include_must_name_tools_the_server_has():
    with pytest.raises(MCPServerError, match="does not have: nope"):
        MCPToolset(PROBE, include=["echo", "nope"]).tools()


def test_the_async_api_awaits_calls_on_the_callers_loop(resources):
    import asyncio

    from agentgym import Feedback, LLMEnv

    class Shop(LLMEnv):
        instructions = "Look a customer up."

        def __init__(self) -> None:
            super().__init__()
            self.server = MCPToolset(STORE, scope="environment", hidden=ADMIN_TOOL_NAMES)
            self.toolsets = (self.server,)

        def new_episode(self, options):
            self.server.call_hidden("admin_load", {"world": generate_world(random.Random(8))})
            return "Who is C-101?"

        async def aplay(self, action):  # an async hook: areset/astep run on the caller's loop
            return Feedback("ok", terminated=True)

        async def aclose(self) -> None:
            await super().aclose()
            self.server.shutdown()

    async def main() -> tuple:
        env = Shop()
        await env.areset(seed=0)
        outcome = await env.acall_tool("get_customer", {"customer_id": "C-101"})
        bad = await env.acall_tool("get_customer", {"customer_id": "C-999"})
        pid = env.server.server_pid
        await env.aclose()
        return outcome, bad, pid

    outcome, bad, pid = asyncio.run(main())
    assert json.loads(outcome.content)["name"] == generate_world(random.Random(8))["customers"]["C-101"]["name"]
    assert bad.failure == "error" and gone(pid)
    resources.assert_released()


def test_render_content_of_every_block_kind():
    import mcp_types as types

    from agentgym.tools.mcp import render_content

    blob = types.BlobResourceContents(uri="file:///a.bin", blob="AAAA", mime_type="application/zip")
    result = types.CallToolResult(content=[
        types.AudioContent(type="audio", data="UklGRg==", mime_type="audio/wav"),
        types.EmbeddedResource(type="resource", resource=blob),
        types.ResourceLink(type="resource_link", uri="https://example.org/x", name="x")])
    assert render_content(result).splitlines() == [
        "[audio (audio/wav, 4 bytes) not shown: this observation is text]",
        "[resource file:///a.bin (application/zip, 3 bytes) not shown]",
        "[resource link: https://example.org/x (x)]"]
    assert render_content(types.CallToolResult(content=[], structured_content={"total": 3})) == '{"total": 3}'
    assert render_content(types.CallToolResult(content=[])) == ""
