"""Shared command-line helpers: ``--option key=value`` constructor arguments, argparse types
that name the option in their error, and the console every table is printed on.

The argparse types (:func:`positive_int`, :func:`non_negative_int`, :func:`positive_float`,
:func:`probability`, :func:`path_argument`) make argparse itself refuse a bad value with the
option's name, e.g. ``agentgym eval: error: argument --max-turns: must be a positive integer,
got '0'`` and exit code 2, before any work starts. Use them as
``parser.add_argument("--x", type=positive_int)``.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

#: The width tables are printed at when stdout is not a terminal (a pipe, a file, CI logs):
#: wide enough that a table keeps its natural width instead of being squeezed to 80 columns.
PIPED_WIDTH = 200


class PipeSafeConsole(Console):
    """rich's ``Console``, except that a reader who has gone (``agentgym info ID | head -1``)
    raises ``BrokenPipeError``, which :func:`agentgym.cli.main` ends with exit code 0, instead of
    rich's own ``SystemExit(1)``. Standard output is pointed at ``/dev/null`` first (as rich does),
    so the interpreter's last flush does not fail again. Every command prints through one.

    Emoji codes are text (``emoji=False`` unless given): rich replaces them even in a string
    printed with ``markup=False``, so a page saying ``:x: failed`` printed as ``❌ failed``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("emoji", False)
        super().__init__(*args, **kwargs)

    def on_broken_pipe(self) -> None:
        try:
            super().on_broken_pipe()
        except SystemExit:
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)) from None


def console(piped_width: int = PIPED_WIDTH) -> Console:
    """A rich console: the terminal's width on a TTY, ``piped_width`` columns when piped. With
    standard output closed (``sys.stdout`` is ``None``: ``agentgym eval ... >&-``) what it
    prints is dropped, as ``print`` drops it."""
    tty = sys.stdout is not None and sys.stdout.isatty()
    return PipeSafeConsole() if tty else PipeSafeConsole(width=piped_width)


def _int_type(minimum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = what.replace(" ", "_")
    return parse


#: argparse type: an integer >= 1 (``--max-turns``, ``--concurrency``, ``--tasks``, ``-n``).
positive_int = _int_type(1, "a positive integer")
#: argparse type: an integer >= 0 (``--seed``, ``--port``).
non_negative_int = _int_type(0, "a non-negative integer")


def path_argument(text: str) -> Path:
    """argparse type: a path, refused when empty (``Path("")`` is the current folder: ``--out
    "$RUN"`` with ``RUN`` unset would write a run into it, ``report ""`` would read it)."""
    if not text:
        raise argparse.ArgumentTypeError("must be a path, got an empty one")
    return Path(text)


def file_in_the_way(folder: Path) -> Path | None:
    """The file that stands at ``folder`` or at one of the folders above it (so that it cannot
    be made: ``mkdir`` would say only 'File exists' or 'Not a directory'), else ``None``."""
    existing = next((path for path in (folder, *folder.parents) if path.exists()), None)
    return existing if existing is not None and not existing.is_dir() else None


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (``--temperature``)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def probability(text: str) -> float:
    """argparse type: a number in (0, 1] (``--top-p``)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}")
    return value


def check_port_free(host: str, port: int) -> None:
    """Refuse a ``port`` that cannot be listened on at ``host`` (another server holds it, or a
    port below 1024 without the right to it), by binding it once as the server will (with
    ``SO_REUSEADDR``: a port left in ``TIME_WAIT`` is free), before a model loads or an index
    is built: uvicorn would log the error and exit with status 3. Port 0 (any free one) passes.

    Raises:
        ValueError: ``--port N: cannot listen on HOST: REASON``, or a host that does not resolve.
    """
    import socket

    if port == 0:
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ValueError(f"--host {host}: cannot be resolved ({exc.strerror})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ValueError(f"--port {port}: cannot listen on {host}: {exc.strerror}") from None


#: The help of the ``env_id`` argument of the commands that make one environment.
ENV_ID_HELP = "a registered environment id, e.g. games/Wordle-v0 (`agentgym list` shows them)"


def add_env_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--difficulty",
                        help="difficulty level (see `agentgym info ENV_ID`; default: the environment's own)")
    parser.add_argument(
        "--option", "-o", action="append", default=[], metavar="KEY=VALUE",
        help="constructor argument, JSON-decoded when possible (repeatable), e.g. -o dense_reward=true",
    )


def env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The constructor keyword arguments of ``--difficulty`` and ``-o KEY=VALUE`` pairs.

    Values are JSON-decoded when they can be (``true``, ``0.5``, ``"hard"``) and kept as text
    otherwise; the environment's constructor checks their types and names the argument.

    Raises:
        ValueError: a pair that is not ``KEY=VALUE``, a key given twice, ``id`` (the id is the
            command's argument), or a difficulty given both as ``--difficulty`` and
            ``-o difficulty=...`` (never one silently dropped).
    """
    kwargs: dict[str, Any] = {}
    for pair in args.option:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--option expects KEY=VALUE, got {pair!r}")
        if not key.isidentifier():
            raise ValueError(f"--option {pair!r}: {key!r} is not an argument name")
        if key in kwargs:
            raise ValueError(f"--option {key!r} is given twice")
        if key == "id":  # agentgym.make's own first argument: it cannot reach a constructor
            raise ValueError("-o id: the environment id is the command's argument, not an option")
        try:
            kwargs[key] = json.loads(raw)
        except json.JSONDecodeError:
            kwargs[key] = raw
    if args.difficulty is not None:  # an empty one too: the constructor refuses it by name
        if "difficulty" in kwargs:
            raise ValueError("--difficulty and -o difficulty=... both given; give one")
        kwargs["difficulty"] = args.difficulty
    return kwargs


def check_env_arguments(env_id: str, kwargs: dict[str, Any]) -> None:
    """Build ``env_id`` once with ``kwargs`` and close it (no episode: nothing starts a browser or
    a sandbox), so that its constructor checks the values of the arguments the user gave:
    ``--difficulty impossible`` is one line and exit code 2, not a run of failed episodes.

    Raises:
        ConfigError: the constructor refused its arguments or failed (its message, after the id;
            the type of an error other than ``ValueError``/``TypeError`` too).
    """
    import agentgym
    from agentgym.core import ConfigError

    try:
        agentgym.make(env_id, **kwargs).close()
    except Exception as exc:  # noqa: BLE001 - a constructor's every refusal, in one line
        message = str(exc) if isinstance(exc, (ValueError, TypeError)) else f"{type(exc).__name__}: {exc}"
        raise ConfigError(message if env_id in message else f"{env_id}: {message}") from None


def env_runtime(text: str) -> str:
    """argparse type: where environments run (``thread``, ``process``, ``ray`` or a server URL)."""
    from agentgym.runtime.runtimes import as_runtime

    try:
        as_runtime(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
