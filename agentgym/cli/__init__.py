"""The ``agentgym`` command line: list, info, play, eval.

Each sub-command lives in its own module and exposes ``add_parser(subparsers)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import sys

from agentgym.cli import compare_cmd, eval_cmd, info_cmd, list_cmd, play_cmd, serve_cmd, train_cmd

COMMANDS = {"list": list_cmd, "info": info_cmd, "play": play_cmd, "eval": eval_cmd, "compare": compare_cmd,
            "serve-policy": serve_cmd, "train": train_cmd}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentgym", description="Train and benchmark LLM agents in multi-turn environments."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command].run(args) or 0
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        print(f"agentgym {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `agentgym list | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
