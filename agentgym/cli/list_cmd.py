"""``agentgym list``: the registered environments as a table."""

from __future__ import annotations

import argparse
import fnmatch
import re
from typing import Any

from rich.table import Table

import agentgym
from agentgym.cli.options import console as make_console
from agentgym.eval.tables import terminal_cell

#: wide enough for any row: rich draws a table no wider than its contents need
NATURAL_WIDTH = 10_000


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("list", help="list the registered environments")
    parser.add_argument("pattern", nargs="?", default=None,
                        help="only ids that match this shell-style pattern, e.g. 'web/miniwob.click-*' "
                             "(the patterns `agentgym eval --env` takes); with --suites, suite names, e.g. 'web-*'")
    parser.add_argument("--family", help="only this family (games, web, search, tools, gui...)")
    parser.add_argument("--tag", action="append", default=[],
                        help="only environments with this tag (repeatable: with every tag given)")
    parser.add_argument("--suites", action="store_true",
                        help="list the benchmark suites instead (--family and --tag do not apply)")
    parser.add_argument("--markdown", action="store_true",
                        help="print a Markdown table (README's) of the environments the filters keep, "
                             "or of the suites")


#: Ids ``<family>/<group>.<variant>-v<n>``: a family of variants of one environment class.
_VARIANT_ID = re.compile(r"^(?P<group>[^/]+/[^/.]+)\.(?P<variant>[^/]+)-v(?P<version>\d+)$")
#: Groups at least this large are one row of the README table.
_MIN_GROUP = 5


def markdown_env_table(family: str | None = None, *, builtin_only: bool = False,
                       envs: list[Any] | None = None) -> str:
    """The environment table of README, generated from the registry (``builtin_only``: the
    environments agentgym itself ships, not those registered by plugins or user code), or of
    the given ``envs`` (records of :func:`agentgym.list_envs`; ``family`` then does not apply).

    Variants of one class named ``<family>/<group>.<variant>-v<n>`` (e.g. the 130
    ``web/miniwob.<task>-v0``) share one row when there are at least five of them; ``agentgym
    list`` shows each."""
    lines = ["| id | family | turn budget | tags | description |", "|---|---|---:|---|---|"]
    envs = [env for env in (agentgym.list_envs(family) if envs is None else envs)
            if not builtin_only or str(env.entry_point).startswith("agentgym.")]
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for env in envs:
        match = _VARIANT_ID.match(env.id)
        if match:
            groups.setdefault((match["group"], match["version"], str(env.entry_point)), []).append(env)
    grouped = {id(env): key for key, members in groups.items() if len(members) >= _MIN_GROUP for env in members}
    shown: set[tuple[str, str, str]] = set()
    for env in envs:
        key = grouped.get(id(env))
        if key is None:
            lines.append(f"| `{env.id}` | {env.family} | {env.max_turns or '-'} | "
                         f"{_cell(', '.join(env.tags))} | {_cell(env.description)} |")
        elif key not in shown:
            shown.add(key)
            lines.append(_group_row(key, groups[key]))
    return "\n".join(lines)


def _cell(text: str) -> str:
    """``text`` as one Markdown table cell: its pipes escaped, its lines joined."""
    return " ".join(text.split()).replace("|", "\\|")


def _group_row(key: tuple[str, str, str], members: list[Any]) -> str:
    group, version, _ = key
    budgets = sorted({env.max_turns for env in members if env.max_turns})
    budget = "-" if not budgets else (str(budgets[0]) if len(budgets) == 1 else f"{budgets[0]}-{budgets[-1]}")
    tags = list(dict.fromkeys(tag for env in members for tag in env.tags))
    return (f"| `{group}.<variant>-v{version}` | {members[0].family} | {budget} | {_cell(', '.join(tags))} | "
            f"{len(members)} variants of one environment (`agentgym list --family {members[0].family}` lists "
            f"each), e.g. {_cell(members[0].description)} |")


def run(args: argparse.Namespace) -> int:
    """Print the table of the environments (or, with ``--suites``, the suites) the filters keep.

    Raises:
        ValueError: nothing matches, or ``--family``/``--tag`` given with ``--suites``.
    """
    # Piped output (`agentgym list | grep`, logs) gets the table at its natural width (one
    # environment per line) instead of wrapped.
    console = make_console(piped_width=NATURAL_WIDTH)
    if args.suites:
        suites = _matching_suites(args)
        if args.markdown:
            print(markdown_suite_table(suites))
        else:
            console.print(_suite_table(suites))
        return 0
    envs = _matching_envs(args)
    if args.markdown:
        print(markdown_env_table(envs=envs))
        return 0
    table = Table(title=f"agentgym environments ({len(envs)})")
    table.add_column("id", no_wrap=True)
    for column in ("family", "turns", "tags", "description"):
        table.add_column(column, overflow="fold")
    for env in envs:
        # A user's description or tag is printed as written, never read as markup, its control
        # characters as escapes.
        table.add_row(*map(terminal_cell, (env.id, env.family, str(env.max_turns or "-"), ", ".join(env.tags),
                                           env.description)))
    console.print(table)
    return 0


def _matching_envs(args: argparse.Namespace) -> list[Any]:
    """The registered environments of ``--family``, every ``--tag`` and the pattern; at least one."""
    envs = agentgym.list_envs(args.family, args.tag)
    if args.pattern is not None:
        envs = [env for env in envs if fnmatch.fnmatchcase(env.id, args.pattern)]
    if not envs:
        given = ([repr(args.pattern)] if args.pattern is not None else []) + \
            ([f"--family {_shown(args.family)}"] if args.family is not None else []) + \
            [f"--tag {_shown(tag)}" for tag in args.tag]
        if not given:
            raise ValueError("no environments are registered")
        raise ValueError(f"no environments match {' '.join(given)} (families: {', '.join(agentgym.families())})")
    return envs


def _shown(text: str) -> str:
    """``text`` as typed when it is printable, else its repr (no escape sequence reaches the
    terminal; an empty one shows as ``''``)."""
    return text if text.isprintable() and text else repr(text)


def _matching_suites(args: argparse.Namespace) -> list[Any]:
    """The registered suites whose name matches the pattern; at least one. ``--family`` and
    ``--tag`` describe environments, not suites: refused rather than silently ignored."""
    for option, given in (("--family", args.family is not None), ("--tag", bool(args.tag))):  # '' given too
        if given:
            raise ValueError(f"{option} filters environments; with --suites give a pattern over suite names "
                             f"instead, e.g. 'web-*'")
    suites = agentgym.list_suites()
    if args.pattern is not None:
        suites = [suite for suite in suites if fnmatch.fnmatchcase(suite.name, args.pattern)]
    if not suites:
        raise ValueError("no suites are registered" if args.pattern is None else
                         f"no suites match {args.pattern!r} (`agentgym list --suites` shows them all)")
    return suites


def markdown_suite_table(suites: list[Any]) -> str:
    """The suites as a Markdown table: name, number of environments and of tasks, description."""
    lines = ["| suite | environments | tasks | description |", "|---|---:|---:|---|"]
    lines += [f"| `{suite.name}` | {len(suite.entries)} | {suite.num_tasks} | {_cell(suite.description)} |"
              for suite in suites]
    return "\n".join(lines)


def _suite_table(suites: list[Any]) -> Table:
    table = Table(title="agentgym suites")
    for column in ("suite", "environments", "tasks", "description"):
        table.add_column(column)
    for suite in suites:
        table.add_row(*map(terminal_cell, (suite.name, str(len(suite.entries)), str(suite.num_tasks),
                                           suite.description)))
    return table
