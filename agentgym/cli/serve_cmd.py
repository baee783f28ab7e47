"""``agentgym serve-policy``: serve a local model over an OpenAI-compatible HTTP API.

Beyond loopback the server needs an API key (``--api-key`` or ``AGENTGYM_API_KEY``); clients
send it as ``Authorization: Bearer <key>`` (``OpenAIPolicy(..., api_key=...)``, OpenAI clients'
``api_key``). Request bodies are limited (``--max-body-mb``), and over-long prompts are refused
before they are tokenised.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from agentgym.cli.options import check_port_free, positive_float
from agentgym.policies.specs import EMBEDDED_ALIASES, EMBEDDED_SPEC

# Nothing from agentgym.serve is imported here: the CLI must load without FastAPI installed.
API_KEY_ENV = "AGENTGYM_API_KEY"
DEFAULT_MAX_BODY_MB = 8.0

EMBEDDED = (EMBEDDED_SPEC, *EMBEDDED_ALIASES)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve-policy", help="serve a local model over an OpenAI-compatible HTTP API",
        description="Serve a model with /v1/models, /v1/chat/completions and /v1/completions; answers carry "
                    "token ids and log-probs (vLLM's fields) for token-exact rollouts through OpenAIPolicy.")
    parser.add_argument("--model", default=EMBEDDED_SPEC,
                        help=f"a Hugging Face checkpoint folder or cached hub name, or '{EMBEDDED_SPEC}' "
                             "(the embedded SmolLM2-135M-Instruct, the default; aliases: embedded, smollm2)")
    parser.add_argument("--name", default=None, help="the model name clients use (default: the model's own)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: loopback only); any other (0.0.0.0, a LAN address) "
                             "needs an API key")
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s; 0 picks a free one)")
    parser.add_argument("--max-batch-size", type=int, default=8,
                        help="the most concurrent requests generated as one batch (default: %(default)s)")
    parser.add_argument("--api-key", default=None,
                        help=f"require 'Authorization: Bearer <key>' on every request (default: the {API_KEY_ENV} "
                             "environment variable, which keeps the key out of the process list); needed to "
                             "listen beyond loopback")
    parser.add_argument("--max-body-mb", type=positive_float, default=DEFAULT_MAX_BODY_MB,
                        help="the largest request body accepted, in MiB (default: %(default)g); bigger ones get 413 "
                             "before they are read")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {args.port}")
    if not args.model:  # Path("") is the current folder: never served for an unset variable
        raise ValueError(f"--model is empty: give a Hugging Face checkpoint folder, a cached hub name or "
                         f"'{EMBEDDED_SPEC}' (the embedded model)")
    if args.max_batch_size < 1:
        raise ValueError(f"--max-batch-size must be at least 1, got {args.max_batch_size}")
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    if args.api_key is not None and not args.api_key:
        raise ValueError("--api-key is empty: give a non-empty key")
    try:
        from agentgym.serve import serve
        from agentgym.serve.guards import check_exposure
    except ImportError as exc:
        raise ValueError(f"serve-policy needs FastAPI and uvicorn: pip install 'agentgym[serve]' ({exc})") from None
    check_exposure(args.host, api_key, how_to_give_a_key=f"--api-key or the {API_KEY_ENV} environment variable")
    check_port_free(args.host, args.port)  # before the model loads
    from agentgym.policies.specs import is_checkpoint_folder, make_policy

    folder = Path(args.model)
    if args.model not in EMBEDDED and folder.is_dir() and not is_checkpoint_folder(folder):
        raise ValueError(f"{args.model} is not a Hugging Face checkpoint folder: it has no config.json "
                         "(nor a LoRA adapter's adapter_config.json)")
    try:
        policy = make_policy(EMBEDDED_SPEC if args.model in EMBEDDED else f"hf:{args.model}")
    except OSError as exc:  # no such folder, or not a model
        raise ValueError(f"cannot load the model {args.model!r}: {exc}") from None
    serve(policy, host=args.host, port=args.port, model_name=args.name, max_batch_size=args.max_batch_size,
          api_key=api_key, max_body_bytes=int(args.max_body_mb * 2**20))
    return 0
