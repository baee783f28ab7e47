"""``agentgym serve-policy``: serve a local model over an OpenAI-compatible HTTP API."""

from __future__ import annotations

import argparse
from pathlib import Path

EMBEDDED = ("embedded", "smollm2")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve-policy", help="serve a local model over an OpenAI-compatible HTTP API",
        description="Serve a model with /v1/models, /v1/chat/completions and /v1/completions; answers carry "
                    "token ids and log-probs (vLLM's fields) for token-exact rollouts through OpenAIPolicy.")
    parser.add_argument("--model", default="embedded",
                        help="a Hugging Face checkpoint folder or cached hub name, or 'embedded' "
                             "(SmolLM2-135M-Instruct, the default)")
    parser.add_argument("--name", default=None, help="the model name clients use (default: the model's own)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument("--max-batch-size", type=int, default=8,
                        help="the most concurrent requests generated as one batch")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {args.port}")
    if args.max_batch_size < 1:
        raise ValueError(f"--max-batch-size must be at least 1, got {args.max_batch_size}")
    try:
        from agentgym.serve import serve
    except ImportError as exc:
        raise ValueError(f"serve-policy needs FastAPI and uvicorn: pip install 'agentgym[serve]' ({exc})") from None
    from agentgym.policies.specs import make_policy

    folder = Path(args.model)
    if args.model not in EMBEDDED and folder.is_dir() and not (folder / "config.json").is_file():
        raise ValueError(f"{args.model} is not a Hugging Face checkpoint folder: it has no config.json")
    try:
        policy = make_policy("embedded" if args.model in EMBEDDED else f"hf:{args.model}")
    except OSError as exc:  # no such folder, or not a model
        raise ValueError(f"cannot load the model {args.model!r}: {exc}") from None
    serve(policy, host=args.host, port=args.port, model_name=args.name, max_batch_size=args.max_batch_size)
    return 0
