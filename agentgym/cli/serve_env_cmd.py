"""``agentgym serve-env``: serve every registered environment over HTTP (sessions for
:class:`~agentgym.remote.RemoteEnv` clients; endpoints in :mod:`agentgym.remote.server`).

Beyond loopback the server needs an API key (``--api-key`` or ``AGENTGYM_API_KEY``); clients
send it as ``Authorization: Bearer <key>`` (``RemoteEnv(..., api_key=...)``). WebSocket clients
(:class:`~agentgym.remote.AsyncRemoteEnv`) use ``/v1/ws``, with heartbeats and resumable sessions. ``--import``
makes a module's own environments servable too (``agentgym --import my_envs serve-env``).
"""

from __future__ import annotations

import argparse
import os

from agentgym.cli.options import check_port_free, positive_float

# Nothing from agentgym.remote is imported here: the CLI must load without FastAPI installed.
API_KEY_ENV = "AGENTGYM_API_KEY"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve-env", help="serve registered environments over HTTP to RemoteEnv clients",
        description="Serve every registered environment: each client opens a session (POST /v1/sessions), resets "
                    "and steps it; /health and /metrics report the server's state.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: loopback only); any other (0.0.0.0, a LAN address) "
                             "needs an API key")
    parser.add_argument("--port", type=int, default=8001, help="port (default: %(default)s; 0 picks a free one)")
    parser.add_argument("--api-key", default=None,
                        help=f"require 'Authorization: Bearer <key>' on every request (default: the {API_KEY_ENV} "
                             "environment variable, which keeps the key out of the process list); needed to "
                             "listen beyond loopback")
    parser.add_argument("--max-sessions", type=int, default=256,
                        help="the most sessions open at once; one more is refused with 503 and Retry-After "
                             "(default: %(default)s)")
    parser.add_argument("--idle-timeout", type=float, default=300.0,
                        help="seconds after which an unused session is closed (default: %(default)g)")
    parser.add_argument("--resume-grace", type=float, default=30.0,
                        help="seconds a resumable WebSocket session outlives its dropped connection "
                             "(default: %(default)g)")
    parser.add_argument("--heartbeat-interval", type=float, default=10.0,
                        help="seconds between the server's WebSocket pings (default: %(default)g)")
    parser.add_argument("--heartbeat-timeout", type=float, default=20.0,
                        help="seconds of silence past a ping after which a WebSocket client is taken for gone and "
                             "its session freed (default: %(default)g)")
    parser.add_argument("--max-body-mb", type=positive_float, default=1.0,
                        help="the largest request body accepted, in MiB (default: %(default)g)")
    parser.add_argument("--allow-host-arguments", action="store_true",
                        help="let clients set the arguments an environment declares as reaching this machine "
                             "(files it reads, servers it asks, its sandbox's isolation); refused by default")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {args.port}")
    if args.max_sessions < 1:
        raise ValueError(f"--max-sessions must be at least 1, got {args.max_sessions}")
    if not args.idle_timeout > 0:
        raise ValueError(f"--idle-timeout must be positive, got {args.idle_timeout}")
    for flag in ("resume_grace", "heartbeat_interval", "heartbeat_timeout"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"--{flag.replace('_', '-')} must be positive, got {getattr(args, flag)}")
    if args.api_key is not None and not args.api_key:
        raise ValueError("--api-key is empty: give a non-empty key")
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    how_to_give_a_key = f"--api-key or the {API_KEY_ENV} environment variable"
    try:
        from agentgym.remote.runner import serve_env
        from agentgym.serve.guards import check_exposure
    except ImportError as exc:
        raise ValueError(f"serve-env needs FastAPI and uvicorn: pip install 'agentgym[serve]' ({exc})") from None
    check_exposure(args.host, api_key, how_to_give_a_key=how_to_give_a_key)
    check_port_free(args.host, args.port)
    serve_env(host=args.host, port=args.port, api_key=api_key, max_sessions=args.max_sessions,
              idle_timeout=args.idle_timeout, resume_grace=args.resume_grace,
              heartbeat_interval=args.heartbeat_interval, heartbeat_timeout=args.heartbeat_timeout,
              max_body_bytes=int(args.max_body_mb * 2**20), allow_host_arguments=args.allow_host_arguments,
              how_to_give_a_key=how_to_give_a_key)
    return 0
