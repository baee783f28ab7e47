"""Environments over the network: the environment server and its Gymnasium client.

- :func:`~agentgym.remote.server.env_app`: the FastAPI app (``agentgym serve-env``);
- :func:`~agentgym.remote.runner.serve_env` / :func:`~agentgym.remote.runner.running_env_server`:
  run it with uvicorn, in the foreground or on a background thread;
- :class:`~agentgym.remote.client.RemoteEnv`: a Gymnasium env stepping a server's session (HTTP);
- :class:`~agentgym.remote.aclient.AsyncRemoteEnv`: its asyncio twin (``areset``/``astep``/``aclose``)
  over the server's WebSocket, with heartbeats and session resumption.

Needs the ``serve`` extra (FastAPI, uvicorn, httpx, websockets).
"""

from agentgym.remote.aclient import AsyncRemoteEnv
from agentgym.remote.client import RemoteEnv, RemoteEnvError
from agentgym.remote.runner import running_env_server, serve_env
from agentgym.remote.server import env_app

__all__ = ["AsyncRemoteEnv", "RemoteEnv", "RemoteEnvError", "env_app", "running_env_server", "serve_env"]
