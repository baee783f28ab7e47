"""``agentgym play ENV_ID``: a person plays an environment in the terminal.

Everything an environment says (observations, errors, hints, renders) is printed as plain text,
never as rich markup: a page or an echoed action holding ``[/b]`` must print, not crash; its
control characters print as escapes (``\\x1b``: :func:`~agentgym.eval.tables.terminal_text`), so
a page cannot clear the screen or recolour the terminal. An
observation with a screenshot (web and GUI environments) has its image written as a PNG file,
one per turn, into ``--screenshots DIR`` (default: a new temporary folder), and its path shown.

The moves are read from standard input: with it closed (``agentgym play ID <&-``) the command
is refused in one line before the environment is made; at its end (``</dev/null``) the episode
ends, exit code 0. A byte that is not of the input's encoding is read as U+FFFD (a move the
environment refuses), not an error that ends the game.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

import agentgym
from agentgym.cli.options import (ENV_ID_HELP, PipeSafeConsole, add_env_options, env_kwargs, file_in_the_way,
                                    non_negative_int, path_argument)
from agentgym.eval.tables import terminal_text

HELP = "Type your action. Commands: :hint (the oracle's move), :state (render), :help, :quit."
#: The arguments of ``agentgym.make`` that play needs as they are (``:state`` renders text, the
#: verdict counts the turns): an ``-o`` for one of them is refused.
_SET_BY_PLAY = {"render_mode": "ansi", "episode_statistics": True}
#: A line that is one colon-word is meant as a command: an unknown one is answered, never played.
_COMMAND = re.compile(r":[A-Za-z]+")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("play", help="play an environment yourself")
    parser.add_argument("env_id", help=ENV_ID_HELP)
    parser.add_argument("--seed", type=non_negative_int, default=None, help="seed of the episode (default: random)")
    parser.add_argument("--screenshots", type=path_argument, default=None, metavar="DIR",
                        help="where the screenshots of web and GUI environments are written, one PNG per turn "
                             "(default: a new temporary folder, shown at the first one)")
    add_env_options(parser)


class _Screen:
    """Shows an observation: its text, and, when it has an image, the PNG file written for it."""

    def __init__(self, console: Console, folder: Path | None) -> None:
        self.console, self.folder, self.turn = console, folder, 0
        self._folder_ready = False

    def show(self, observation: Any) -> None:
        text = observation["text"] if isinstance(observation, dict) else observation
        # the terminal wraps, rich does not
        self.console.print(f"\n{terminal_text(str(text))}", markup=False, soft_wrap=True)
        image = observation.get("image") if isinstance(observation, dict) else None
        if image is not None:
            from agentgym.images import encode_png

            if not self._folder_ready:  # made at the first screenshot, so text games leave no folder
                if self.folder is None:
                    self.folder = Path(tempfile.mkdtemp(prefix="agentgym-play-"))
                self.folder.mkdir(parents=True, exist_ok=True)
                self._folder_ready = True
            path = self.folder / f"turn-{self.turn:03d}.png"
            path.write_bytes(encode_png(image))
            self.console.print(Text.assemble(("screenshot: ", "dim"), str(path)), soft_wrap=True)
        self.turn += 1


def run(args: argparse.Namespace) -> int:
    read = input  # looked up per call so tests can script it
    console = PipeSafeConsole(highlight=False)
    if sys.stdin is None:  # fd 0 closed: input() would fail at the first move, after a browser started
        raise ValueError("your moves are read from standard input, which is closed: run it in a "
                         "terminal, or give the moves on standard input (one per line)")
    if isinstance(sys.stdin, io.TextIOWrapper):  # strict decoding raises at a stray byte, losing the lines
        sys.stdin.reconfigure(errors="replace")  # read with it: it is a move the game refuses instead
    if args.screenshots is not None and (in_the_way := file_in_the_way(args.screenshots)) is not None:
        problem = "not a folder" if in_the_way == args.screenshots else f"{in_the_way} is a file, not a folder"
        raise ValueError(f"--screenshots {args.screenshots}: {problem}")  # before a browser starts
    kwargs = env_kwargs(args)
    for name in _SET_BY_PLAY:
        if name in kwargs:
            raise ValueError(f"-o {name}: agentgym play sets {name} itself")
    env = agentgym.make(args.env_id, **_SET_BY_PLAY, **kwargs)
    try:  # closed however the episode ends, its first reset included
        return _play(env, args, console, read)
    finally:
        env.close()


def _answer(console: Console, what: str, source: str, call: Any, label: str) -> None:
    """Print what ``call`` returns (``:hint``, ``:state``) after ``label``; if it raises (an
    environment's bug), say so in one line and let the episode go on: a command is not a turn,
    and losing the game to it would punish the player for the environment."""
    try:
        answer = call()
    except NotImplementedError:
        console.print(Text(f"no {what}: {source} is not implemented for this environment", style="yellow"),
                      soft_wrap=True)
        return
    except Exception as exc:  # noqa: BLE001 - any failure of the environment's helper, reported
        console.print(Text(terminal_text(f"no {what}: {source} raised {type(exc).__name__}: {exc}"), style="red"),
                      soft_wrap=True)
        return
    console.print(Text.assemble((label, "yellow"), terminal_text(str(answer))), soft_wrap=True)


def _play(env: Any, args: argparse.Namespace, console: Console, read: Any) -> int:
    """Play one episode of ``env`` with the moves ``read`` returns; 0 when it ends or input does.

    Each observation is shown once, when it arrives: a command (``:hint``, ``:state``,
    ``:help``, and any other line that is a single ``:word``, answered as unknown) prompts
    again, it is not a turn and writes no screenshot."""
    observation, info = env.reset(seed=args.seed)
    console.print(Text.assemble((args.env_id, "bold"),
                                terminal_text(f"  task {info['task_id']}\n{info['instructions']}\n"), (HELP, "dim")))
    screen = _Screen(console, args.screenshots)
    screen.show(observation)
    total = 0.0
    while True:
        try:
            action = read("> ")
        except EOFError:
            console.print("\n(end of input)")
            return 0
        command = action.strip()
        if command == ":quit":
            return 0
        if command == ":state":
            _answer(console, "state", "render", env.render, "")
            continue
        if command == ":hint":
            _answer(console, "hint", "the oracle", env.unwrapped.oracle_action, "hint: ")
            continue
        if command == ":help":
            console.print(HELP, style="dim")
            continue
        if _COMMAND.fullmatch(command):
            console.print(Text(f"unknown command {command!r} (:help lists the commands)", style="yellow"))
            continue
        observation, reward, terminated, truncated, info = env.step(action)
        total += reward
        if info.get("error"):
            console.print(Text.assemble(("invalid: ", "red"), terminal_text(str(info["error"]))))
        if reward:
            console.print(f"[green]reward {reward:+.2f}[/green]")
        screen.show(observation)
        if terminated or truncated:
            verdict = "[green]You won![/green]" if info.get("success") else "[red]Game over.[/red]"
            console.print(f"{verdict} return {total:.2f} in {info['episode']['turns']} turns"
                          + (" (turn limit reached)" if truncated else ""))
            return 0
