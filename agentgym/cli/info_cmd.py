"""``agentgym info ENV_ID``: everything about one environment, with an example observation."""

from __future__ import annotations

import argparse
import inspect
import textwrap
from typing import Any

from rich.panel import Panel
from rich.text import Text

import agentgym
from agentgym.cli.options import ENV_ID_HELP, PipeSafeConsole, add_env_options, env_kwargs, non_negative_int
from agentgym.eval.tables import terminal_text
from agentgym.registry import constructor_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("info", help="describe an environment")
    parser.add_argument("env_id", help=ENV_ID_HELP)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the example episode (default: 0)")
    add_env_options(parser)


def constructor_options(entry_point: Any) -> list[str] | None:
    """``name=default`` for each keyword ``agentgym.make`` passes to the environment's entry
    point: a class and its bases' constructors, or a factory's own (``search/Corpus-v0``'s
    factory takes ``tasks=`` and ``corpus=``, not the class's ``size=``); ``None`` when they
    cannot be known (a factory taking ``**kwargs`` only)."""
    parameters = constructor_arguments(entry_point)
    if parameters is None:
        return None
    return [f"{name}={'required' if p.default is p.empty else repr(p.default)}" for name, p in parameters.items()]


def run(args: argparse.Namespace) -> int:
    record = agentgym.env_info(args.env_id)
    env = agentgym.make(args.env_id, **env_kwargs(args))
    try:  # closed however the example episode ends: a failed reset must not leak a browser or sandbox
        _describe(args, record, env)
    finally:
        env.close()
    return 0


def _options(entry_point: Any, env_class: type) -> list[str]:
    """The options of the registered entry point, else (a factory taking ``**kwargs`` only)
    those of the class it made."""
    options = constructor_options(entry_point)
    return options if options is not None else constructor_options(env_class) or []


def _describe(args: argparse.Namespace, record: Any, env: Any) -> None:
    core = env.unwrapped
    observation, info = env.reset(seed=args.seed)
    out = PipeSafeConsole()
    out.print(Text.assemble((record.id, "bold"), terminal_text(f"  ({record.family})  {record.description}")))
    doc = inspect.getdoc(type(core)) or ""
    if doc:
        out.print(doc, soft_wrap=True, highlight=False, markup=False)
    rows = [
        ("class", f"{type(core).__module__}.{type(core).__qualname__}"),
        ("difficulties", f"{', '.join(core.difficulties)} (the example: {getattr(core, 'difficulty', '?')})"),
        ("turn budget", str(record.max_turns or "none")),
        ("tags", ", ".join(record.tags) or "-"),
        ("observation space", repr(core.observation_space)),
        ("action space", repr(core.action_space)),
        ("options", ", ".join(_options(record.entry_point, type(core)))),
        ("tools", ", ".join(t["function"]["name"] for t in info["tools"]) or "none"),
        ("hidden answer", "yes" if core.reference_answer is not None else "no"),
    ]
    # A long value (the options) wraps under itself, not under the keys; values are plain text,
    # never markup (a default such as "[1, 2]" must print as written).
    key_width = 18
    indent = " " * (2 + key_width + 1)
    for key, value in rows:  # tags, tools and spaces are the environment's text: control characters escaped
        lines = textwrap.wrap(terminal_text(value), width=max(40, out.width - len(indent)), break_on_hyphens=False) or ["-"]
        line = Text.assemble(("  " + key.ljust(key_width), "cyan"), " ", "\n".join(
            [lines[0]] + [indent + more for more in lines[1:]]))
        out.print(line, highlight=False, soft_wrap=True)
    # what the environment wrote: its control characters as escapes, never sent to the terminal
    out.print(Panel(Text(terminal_text(info["instructions"] or "-")), title="instructions"))
    text = observation["text"] if isinstance(observation, dict) else observation
    out.print(Panel(Text(terminal_text(str(text))), title=f"example observation (seed {args.seed})"))
