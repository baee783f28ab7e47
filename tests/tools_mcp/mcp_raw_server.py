"""A bare MCP server over stdio, without the mcp package (it starts in a few tens of
milliseconds), that writes every byte of its answers itself: for the MCPToolset tests of what a
careless server written in any language may send.

Run: ``python tests/tools_mcp/mcp_raw_server.py MODE``; its one tool ``t`` takes the input
schema in the ``SCHEMA`` environment variable (JSON; an empty object schema by default) and
answers a call as MODE says:

- ``echo``: the arguments it received, as JSON text;
- ``latin1``: a text block whose bytes are not UTF-8 (``caf\\xe9``, Latin-1);
- ``helper``: the process id of a helper it started at start-up and never ends (as a server that
  drives a browser or a language server may leave one behind);
- ``deep``: structured content nested 300 lists deep (deeper than the client's JSON reader
  goes), then ``echo`` at the next call;
- ``malformed``: a result whose content block is an image without its data and type;
- ``forked``: as ``echo``, from a child it forks at start-up (the process started exits at once,
  as a launcher may); when its stdin closes it takes 0.3 s, then writes ``closed`` to the file
  ``MARKER`` names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def send(data: bytes) -> None:
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.buffer.flush()


def answer(message_id: object, result: dict) -> None:
    send(json.dumps({"jsonrpc": "2.0", "id": message_id, "result": result}).encode())


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "echo"
    schema = json.loads(os.environ.get("SCHEMA") or '{"type": "object"}')
    if mode == "forked" and os.fork() > 0:
        os._exit(0)
    helper = None
    answered_deep = False
    if mode == "helper":
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    for line in sys.stdin.buffer:
        message = json.loads(line)
        message_id, method = message.get("id"), message.get("method")
        if method == "initialize":
            answer(message_id, {"protocolVersion": message["params"]["protocolVersion"],
                                "capabilities": {"tools": {}}, "serverInfo": {"name": "raw", "version": "1"}})
        elif method == "tools/list":
            answer(message_id, {"tools": [{"name": "t", "description": "The raw server's tool.",
                                           "inputSchema": schema}]})
        elif method == "tools/call":
            arguments = message["params"].get("arguments")
            if helper is not None:
                answer(message_id, {"content": [{"type": "text", "text": str(helper.pid)}]})
            elif mode == "deep" and not answered_deep:
                answered_deep = True
                answer(message_id, {"content": [], "structuredContent": {"tree": json.loads("[" * 300 + "]" * 300)}})
            elif mode == "malformed":
                answer(message_id, {"content": [{"type": "image"}]})
            elif mode == "latin1":
                text = json.dumps({"jsonrpc": "2.0", "id": message_id,
                                   "result": {"content": [{"type": "text", "text": "caf@"}]}}).encode()
                send(text.replace(b"caf@", b"caf\xe9"))
            else:
                answer(message_id, {"content": [{"type": "text", "text": json.dumps(arguments)}]})
        elif method == "ping" and message_id is not None:
            answer(message_id, {})
    if mode == "forked":
        time.sleep(0.3)  # saving its state takes a moment
        with open(os.environ["MARKER"], "w") as marker:
            marker.write("closed")


if __name__ == "__main__":
    main()
