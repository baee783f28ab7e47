"""``agentgym list``: the registered environments as a table."""

from __future__ import annotations

import argparse

from rich.table import Table

import agentgym
from agentgym.cli.options import console as make_console

#: wide enough for any row: rich draws a table no wider than its contents need
NATURAL_WIDTH = 10_000


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("list", help="list the registered environments")
    parser.add_argument("--family", help="only this family (games, web, search, tools, gui...)")
    parser.add_argument("--tag", action="append", default=[], help="only environments with this tag")
    parser.add_argument("--suites", action="store_true", help="list the benchmark suites instead")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (README's)")


def markdown_env_table(family: str | None = None, *, builtin_only: bool = False) -> str:
    """The environment table of README, generated from the registry (``builtin_only``: the
    environments agentgym itself ships, not those registered by plugins or user code)."""
    lines = ["| id | family | turn budget | tags | description |", "|---|---|---:|---|---|"]
    for env in agentgym.list_envs(family):
        if builtin_only and not str(env.entry_point).startswith("agentgym.envs."):
            continue
        lines.append(f"| `{env.id}` | {env.family} | {env.max_turns or '-'} | "
                     f"{', '.join(env.tags)} | {env.description} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    # Piped output (`agentgym list | grep`, logs) gets the table at its natural width (one
    # environment per line) instead of wrapped.
    console = make_console(piped_width=NATURAL_WIDTH)
    if args.suites:
        table = Table(title="agentgym suites")
        for column in ("suite", "environments", "tasks", "description"):
            table.add_column(column)
        for suite in agentgym.list_suites():
            table.add_row(suite.name, str(len(suite.entries)), str(suite.num_tasks), suite.description)
        console.print(table)
        return 0
    if args.markdown:
        print(markdown_env_table(args.family))
        return 0
    envs = agentgym.list_envs(args.family, args.tag)
    if not envs:
        raise ValueError(f"no environments match (families: {', '.join(agentgym.families())})")
    table = Table(title=f"agentgym environments ({len(envs)})")
    table.add_column("id", no_wrap=True)
    for column in ("family", "turns", "tags", "description"):
        table.add_column(column, overflow="fold")
    for env in envs:
        table.add_row(env.id, env.family, str(env.max_turns or "-"), ", ".join(env.tags), env.description)
    console.print(table)
    return 0
