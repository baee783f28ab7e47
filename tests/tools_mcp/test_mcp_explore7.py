"""Exploratory tests (round 7) of MCPToolset and the tools environments: what a careless MCP
server sends (bytes that are not UTF-8), odd input schemas, values JSON cannot carry."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from agentgym.tools.mcp import MCPToolset

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

