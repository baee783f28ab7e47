"""The ``agentgym`` command line: list, info, play, eval, report, compare, train, sft,
serve-policy, serve-env, serve-retriever.

Each sub-command lives in its own module and exposes ``add_parser(subparsers)`` and ``run(args)``.

Global option ``--import MODULE`` (repeatable, before or after the command) imports a module —
or a ``.py`` file — before the command runs, so the ``agentgym.register`` /
``agentgym.register_suite`` calls it makes are visible to the command::

    agentgym --import my_envs eval --suite my-suite-v0 --policy random
    agentgym info mine/Parity-v0 --import examples/custom_env.py

Errors a user can fix — an unknown id, a bad option value, a module that cannot be imported, a
missing file, an environment server that cannot open a session, an optional dependency that is
not installed (with the extra that installs it), a browser or a sandbox this machine cannot run
(with what to install), a full disk (of the files it writes, or of its redirected output) —
print one line ``agentgym COMMAND: error: ...`` and exit with code 2. Anything else is a bug
and keeps its traceback. A warning the library itself raises while a command runs (an update
skipped for want of rows, say) prints as one line ``agentgym COMMAND: warning: ...`` instead
of Python's file, line and source; warnings attributed to other code keep Python's form.
"""

from __future__ import annotations

import argparse
import errno
import re
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from agentgym.cli import (compare_cmd, eval_cmd, info_cmd, list_cmd, play_cmd, report_cmd, serve_cmd, serve_env_cmd,
                          serve_retriever_cmd, sft_cmd, train_cmd)
from agentgym.core import ConfigError
from agentgym.eval.tables import terminal_text
from agentgym.registry import import_user_module

COMMANDS = {"list": list_cmd, "info": info_cmd, "play": play_cmd, "eval": eval_cmd, "compare": compare_cmd,
            "serve-policy": serve_cmd, "serve-env": serve_env_cmd, "train": train_cmd, "sft": sft_cmd,
            "report": report_cmd, "serve-retriever": serve_retriever_cmd}

_IMPORT_HELP = ("import MODULE (a module name or a .py file) before the command runs, so that its "
                "agentgym.register / register_suite calls take effect (repeatable)")

#: Exceptions that carry a message for the user rather than a bug: printed as one line, exit 2.
#: ``ConfigError`` is the library's own (a ``ValueError`` and a ``TypeError``); a bare
#: ``TypeError`` is *not* here, as it is far more often a bug than a user's mistake; nor is
#: ``OSError`` at large, only the file system's answers about a path the user gave (and a
#: read-only file system's, :func:`is_read_only_error`).
USER_ERRORS = (ConfigError, KeyError, ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
               PermissionError, FileExistsError)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``agentgym eval: error: argument --max-turns: must be a
    positive integer, got '0' (see agentgym eval --help)`` instead of the usage block first.
    Sub-command parsers are made of the same class."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="agentgym", description="Train and benchmark LLM agents in multi-turn environments."
    )
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                        help=_IMPORT_HELP)
    parser.add_argument("--version", action="version", version=f"agentgym {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_parser(sub)
        # The same option after the command (`agentgym eval --import m ...`); SUPPRESS keeps
        # the sub-parser from overwriting the imports given before the command.
        sub.choices[name].add_argument("--import", dest="command_imports", action="append",
                                       default=argparse.SUPPRESS, metavar="MODULE", help=_IMPORT_HELP)
    return parser


def is_remote_open_error(exc: BaseException) -> bool:
    """``exc`` is an environment server's refusal to open a session (``RemoteEnvError``: a URL
    nothing answers, a wrong API key, an id the server lacks): a user error. Checked without
    importing :mod:`agentgym.remote` (heavy, and optional): one raised it, so it is loaded."""
    client = sys.modules.get("agentgym.remote.client")
    return client is not None and isinstance(exc, client.RemoteEnvError)


def is_read_only_error(exc: BaseException) -> bool:
    """``exc`` is the file system refusing to write a path because it is mounted read-only
    (``EROFS``, a plain ``OSError``): as much a path the command may not write as a
    ``PermissionError``, and answered as one."""
    return isinstance(exc, OSError) and exc.errno == errno.EROFS and exc.filename is not None


def is_disk_full_error(exc: BaseException) -> bool:
    """``exc`` is a write refused for want of room (``ENOSPC``, or ``EDQUOT``: a quota), of a
    file the command writes or of its standard output redirected to a file: the user's to fix."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


#: The errors, as (module, class), that say what this machine lacks for a command and how to
#: install it: Chromium or Playwright (the browser layer), bubblewrap (the sandbox).
_UNAVAILABLE = (("agentgym.browser.errors", "BrowserUnavailable"), ("agentgym.sandbox.errors", "SandboxUnavailable"))


def is_unavailable_error(exc: BaseException) -> bool:
    """``exc`` says that this machine cannot run a browser or a sandbox (a user error: its
    message says what to install). Checked without importing those modules (heavy, and
    optional): one raised it, so it is loaded."""
    for module_name, class_name in _UNAVAILABLE:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


def _version() -> str:
    from agentgym import __version__

    return __version__


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args(argv)``, except that arguments no parser knows are refused by the
    command's own parser (``agentgym list: error: unrecognized arguments: --nope (see agentgym
    list --help)``), whose help lists the options that do exist."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = parser._subparsers._group_actions[0].choices[args.command]  # type: ignore[union-attr]
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def user_error_message(exc: BaseException) -> str:
    """The message of a user error (a ``KeyError``'s text without its quotes) on one line; a
    message listing several problems (lines starting ``- ``) keeps one line per problem. Its
    control characters (a path's or an environment's) are shown as escapes (``\\x1b``)."""
    if isinstance(exc, KeyError) and exc.args:
        message = str(exc.args[0])
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}"
    else:
        message = str(exc) or type(exc).__name__
    message = terminal_text(message)
    lines = [" ".join(line.split()) for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and all(line.startswith("- ") for line in lines[1:]):
        return "\n".join([lines[0], *(f"  {line}" for line in lines[1:])])
    return " ".join(lines)  # one line, whatever the message's own layout


#: Distributions whose module has another name.
_MODULE_OF_DISTRIBUTION = {"pillow": "PIL"}


def extras_installing(module: str) -> list[str]:
    """The extras of agentgym (read from its installed metadata, in their order; ``dev`` and
    ``bench``, for its developers, left out) that install the top-level module ``module``;
    ``[]`` for any other module, or when agentgym's metadata cannot be read."""
    try:
        requirements = metadata.requires("agentgym") or []
    except metadata.PackageNotFoundError:
        return []
    extras = []
    for requirement in requirements:
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if name is None or extra is None or extra[1] in ("dev", "bench", *extras):
            continue
        distribution = re.sub(r"[-_.]+", "_", name[1]).lower()  # agentgym[hf] in an extra: never agentgym
        if distribution != "agentgym" and _MODULE_OF_DISTRIBUTION.get(distribution, distribution) == module:
            extras.append(extra[1])
    return extras


def missing_dependency_message(exc: ImportError) -> str | None:
    """The line for the user when ``exc`` says an optional dependency is not installed, or
    ``None`` when it is a bug (one of agentgym's own modules, a name a module lacks, a package
    no extra installs): an ``ImportError`` raised on purpose (the import system's own errors
    name their module, ``exc.name``; the library's carry its advice, ``... needs bm25s: pip
    install 'agentgym[search]'``), or a missing package one of agentgym's extras installs, named
    with that extra (``the optional dependency 'torch' is not installed: pip install
    'agentgym[hf]'``)."""
    if exc.name is None:
        return str(exc) or None
    extras = extras_installing(exc.name)
    if not extras:
        return None
    others = f" (or the {', '.join(extras[1:])} extra)" if extras[1:] else ""
    package = next((f" ({d})" for d, m in _MODULE_OF_DISTRIBUTION.items() if m == exc.name), "")
    return (f"the optional dependency {exc.name!r}{package} is not installed: "
            f"pip install 'agentgym[{extras[0]}]'{others}")


#: The folders of agentgym's own code: a warning attributed to a file below one of them is the
#: library speaking to the user, not a place in the user's code.
_LIBRARY_FOLDERS = tuple(Path(__file__).resolve().parents[2] / name for name in ("agentgym", "envs", "policies"))


def warning_printer(command: str, fallback: Callable[..., Any]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints the library's own warnings as one line
    ``agentgym COMMAND: warning: MESSAGE`` on stderr (control characters as escapes) and hands
    every other to ``fallback``."""

    def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        where = Path(filename).resolve()
        if not any(where.is_relative_to(folder) for folder in _LIBRARY_FOLDERS):
            fallback(message, category, filename, lineno, file, line)
            return
        stream = file if file is not None else sys.stderr
        try:
            print(f"agentgym {command}: warning: {' '.join(terminal_text(str(message)).split())}", file=stream)
        except OSError:  # as Python's own printer: a closed or broken stderr loses the warning
            pass

    return show


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit code: 2, after one line on stderr, for every
    user error — including an option argparse itself refuses (an unknown option,
    ``--max-turns 0``), so that ``main([...])`` can be called in-process. ``--help`` still
    exits with ``SystemExit(0)``, as in any argparse program."""
    try:
        args = parse_args(build_parser(), argv)
    except SystemExit as exc:
        if exc.code in (0, None):  # --help
            raise
        return exc.code if isinstance(exc.code, int) else 2  # the error line is already printed
    try:
        with warnings.catch_warnings():  # restores the printer (and the filters) on the way out
            warnings.showwarning = warning_printer(args.command, warnings.showwarning)
            for module in [*args.imports, *getattr(args, "command_imports", [])]:
                import_user_module(module)
            return COMMANDS[args.command].run(args) or 0
    except USER_ERRORS as exc:
        print(f"agentgym {args.command}: error: {user_error_message(exc)}", file=sys.stderr)
        return 2
    except ImportError as exc:
        message = missing_dependency_message(exc)
        if message is None:
            raise
        print(f"agentgym {args.command}: error: {user_error_message(ImportError(message))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `agentgym list | head`
        sys.stderr.close()
        return 0
    except (OSError, RuntimeError) as exc:  # only some of these are the user's to fix
        if not (is_remote_open_error(exc) or is_read_only_error(exc) or is_unavailable_error(exc)
                or is_disk_full_error(exc)):
            raise
        if isinstance(exc, OSError) and is_disk_full_error(exc) and exc.filename is None:
            message = str(exc.strerror)  # a write's own: "No space left on device", without "[Errno 28]"
        else:
            message = user_error_message(exc)
        print(f"agentgym {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
