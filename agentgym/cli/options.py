"""Parsing ``--option key=value`` pairs into constructor keyword arguments."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_env_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--difficulty", help="difficulty level (see `agentgym info ENV_ID`)")
    parser.add_argument(
        "--option", "-o", action="append", default=[], metavar="KEY=VALUE",
        help="constructor argument, JSON-decoded when possible (repeatable), e.g. -o dense_reward=true",
    )


def env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for pair in args.option:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option expects KEY=VALUE, got {pair!r}")
        try:
            kwargs[key] = json.loads(raw)
        except json.JSONDecodeError:
            kwargs[key] = raw
    if args.difficulty:
        kwargs["difficulty"] = args.difficulty
    return kwargs
