"""OpenAIPolicy sends its API key as UTF-8 bytes: agentgym's servers read the bearer key as
UTF-8, and a str header beyond ASCII is refused by httpx (every generation was an error)."""

from __future__ import annotations

import http.server
import json
import threading

from agentgym.policies.base import Request, SamplingParams
from policies.openai_compat import OpenAIPolicy


def test_an_api_key_beyond_ascii_reaches_the_server_as_utf8():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server name
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers.get("Authorization").encode("latin-1"))  # the raw header bytes
            body = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                            "finish_reason": "stop"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        policy = OpenAIPolicy(f"http://127.0.0.1:{server.server_address[1]}/v1", "m", api_key="clé-ключ")
        (generation,) = policy.generate([Request(messages=[{"role": "user", "content": "hello"}])],
                                        SamplingParams(max_tokens=4))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert generation.error is None and generation.text == "hi"
    assert seen == ["Bearer clé-ключ".encode()]
