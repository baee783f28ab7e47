"""Environments over the network: the environment server and its Gymnasium client.

- :func:`~agentgym.remote.server.env_app`: the FastAPI app (``agentgym serve-env``);
- :func:`~agentgym.remote.runner.serve_env` / :func:`~agentgym.remote.runner.running_env_server`:
  run it with uvicorn, in the foreground or on a background thread;
- :class:`~agentgym.remote.client.RemoteEnv`: a Gymnasium env stepping a server's session (HTTP);
- :class:`~agentgym.remote.aclient.AsyncRemoteEnv`: its asyncio twin (``areset``/``astep``/``aclose``)
  over the server's WebSocket, with heartbeats and session resumption;
- :func:`~agentgym.remote.launcher.launch_env_servers` / :class:`~agentgym.remote.launcher.ServerPool`:
  N servers as child processes, health-checked and restarted when one crashes.

Needs the ``serve`` extra (FastAPI, uvicorn, httpx, websockets).
"""

from agentgym.remote.aclient import AsyncRemoteEnv
from agentgym.remote.client import RemoteEnv, RemoteEnvError
from agentgym.remote.launcher import LauncherError, ServerPool, launch_env_servers
from agentgym.remote.runner import running_env_server, serve_env
from agentgym.remote.server import env_app

__all__ = ["AsyncRemoteEnv", "LauncherError", "RemoteEnv", "RemoteEnvError", "ServerPool", "env_app",
           "launch_env_servers", "running_env_server", "serve_env"]
