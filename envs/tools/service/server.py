"""The store service as an MCP server over stdio (the ``mcp`` package's low-level ``Server``).

Run it::

    python -m agentgym.envs.tools.service.server [--seed N] [--admin] [--latency SECONDS]

It serves the tools of :data:`~agentgym.envs.tools.service.api.AGENT_TOOLS` on one world,
generated from ``--seed`` at start. ``--admin`` also serves ``admin_load`` (replace the world)
and ``admin_state`` (read it whole), which the environment uses to start and grade episodes;
without the flag they do not exist, so the server is safe to hand to any MCP client.
``--latency`` delays every agent tool call (a slow back end, for timeout tests and for agents
that must cope with one); the delay is an ``await``, so a cancelled call stops at once.

Each result is one text block holding JSON; a refused call is an ``isError`` result whose text
says why, and the world is unchanged. One process holds one world: an environment gets its own
server and loads a fresh world at every episode (:mod:`~agentgym.envs.tools.service.env`).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
from typing import Any, Sequence

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from agentgym.envs.tools.service.api import ADMIN_TOOLS, AGENT_TOOLS, ToolSpec
from agentgym.envs.tools.service.store import Refused, Store, generate_world

logger = logging.getLogger("agentgym.service")
INSTRUCTIONS = ("A small store: customers with store credit, a product catalogue with stock, orders paid from "
                "store credit, and a delivery calendar with a few slots a day. Look customers and products up "
                "before acting on them; every result is JSON.")


def build_server(store: Store, *, admin: bool = False, latency: float = 0.0) -> Server[Any]:
    """The MCP server serving ``store`` (see the module docstring)."""
    specs: dict[str, ToolSpec] = {spec.name: spec for spec in AGENT_TOOLS + (ADMIN_TOOLS if admin else ())}
    listing = [types.Tool(name=spec.name, description=spec.description, input_schema=spec.parameters)
               for spec in specs.values()]
    admin_names = {spec.name for spec in ADMIN_TOOLS}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listing)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        spec = specs.get(params.name)
        if spec is None:
            return _error(f"unknown tool {params.name[:80]!r}; the tools are: {', '.join(specs)}")
        if latency and spec.name not in admin_names:
            await anyio.sleep(latency)
        try:
            value = spec.run(store, params.arguments)
        except Refused as exc:
            return _error(str(exc))
        except Exception:  # noqa: BLE001 - a bug of ours must not end the session
            logger.exception("tool %s failed", spec.name)
            return _error(f"{spec.name} failed with an internal error")
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(value))])

    return Server("agentgym-store", version="1", instructions=INSTRUCTIONS,
                  on_list_tools=list_tools, on_call_tool=call_tool)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


async def serve(store: Store, *, admin: bool = False, latency: float = 0.0) -> None:
    """Serve ``store`` on this process's stdin/stdout until the client closes stdin."""
    server = build_server(store, admin=admin, latency=latency)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The agentgym store service, an MCP server over stdio.")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world served at start")
    parser.add_argument("--admin", action="store_true", help="also serve admin_load and admin_state")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every agent tool call waits first")
    args = parser.parse_args(argv)
    if not 0 <= args.latency < math.inf:  # NaN fails too: every call would fail, or (inf) never answer
        parser.error(f"--latency must be a finite number of seconds >= 0, got {args.latency}")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    store = Store(generate_world(random.Random(args.seed)))
    anyio.run(lambda: serve(store, admin=args.admin, latency=args.latency))


if __name__ == "__main__":
    main()
