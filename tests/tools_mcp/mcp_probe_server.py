"""A third-party-style MCP server for the MCPToolset tests, written with the mcp package's
high-level ``MCPServer`` (pydantic schemas with ``$defs``/``$ref``, structured output): tools
that return images, embedded resources and resource links, one whose name needs cleaning, one
that hangs until cancelled, one that crashes the process, one that floods stderr, one that writes
a stray line on stdout.

Run: ``python tests/tools_mcp/mcp_probe_server.py``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys

from pydantic import BaseModel, Field

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import EmbeddedResource, ImageContent, ResourceLink, TextContent, TextResourceContents

app = MCPServer("probe", log_level="ERROR")


class Point(BaseModel):
    x: int = Field(description="horizontal")
    y: int


class Shape(BaseModel):
    name: str
    corners: list[Point]


@app.tool()
def area(shape: Shape, scale: float = 1.0) -> dict:
    """Area of a polygon (shoelace formula), times scale."""
    pts = shape.corners
    twice = sum(a.x * b.y - b.x * a.y for a, b in zip(pts, pts[1:] + pts[:1]))
    return {"name": shape.name, "area": abs(twice) / 2 * scale}


@app.tool()
def echo(text: str) -> str:
    """Say text back."""
    return text


@app.tool()
def refuse(reason: str) -> str:
    """Always fails with the reason."""
    raise ToolError(reason)


@app.tool()
def picture() -> list:
    """A one-pixel PNG, a text resource and a link."""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 60).decode()
    return [TextContent(type="text", text="here it is"),
            ImageContent(type="image", data=png, mime_type="image/png"),
            EmbeddedResource(type="resource", resource=TextResourceContents(uri="file:///notes.txt", text="line one")),
            ResourceLink(type="resource_link", uri="file:///big.bin", name="big.bin")]


@app.tool(name="dotted.name")
def dotted() -> str:
    """A tool whose name has a dot."""
    return "dotted"


@app.tool()
async def hang() -> str:
    """Never answers (until cancelled)."""
    await asyncio.sleep(3600)
    return "late"


@app.tool()
def crash() -> str:
    """Ends the server process at once."""
    os._exit(7)


@app.tool()
def stray_output() -> str:
    """Writes a line that is not JSON-RPC on stdout (a careless print), then answers."""
    os.write(1, b"debug: this is not a JSON-RPC message\n")
    return "answered"


@app.tool()
def chatter(lines: int) -> str:
    """Writes lines to standard error."""
    for index in range(lines):
        print(f"log line {index}", file=sys.stderr)
    return "done"


if __name__ == "__main__":
    app.run()
