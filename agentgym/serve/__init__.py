"""Serving a local policy over an OpenAI-compatible HTTP API (needs ``pip install agentgym[serve]``).

    from agentgym.serve import create_app, serve, running_server

    serve(HFPolicy.from_pretrained("path/to/checkpoint"), port=8000)     # blocks

    with running_server(policy) as base_url:                            # background thread
        client = OpenAIPolicy(base_url, policy.name, tokenizer=policy.tokenizer)

Beyond loopback an ``api_key`` is required (``serve(policy, host="0.0.0.0", api_key=key)``);
clients send it as ``Authorization: Bearer <key>`` (``OpenAIPolicy(..., api_key=key)``).
Request bodies are limited (``max_body_bytes``, 8 MiB by default) and prompts too long for the
model's context are refused before tokenising; see :mod:`agentgym.serve.app`.
"""

from __future__ import annotations

from agentgym.serve.app import create_app
from agentgym.serve.runner import running_server, serve
from agentgym.serve.worker import PolicyWorker

__all__ = ["PolicyWorker", "create_app", "running_server", "serve"]
