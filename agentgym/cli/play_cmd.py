"""``agentgym play ENV_ID``: a person plays an environment in the terminal."""

from __future__ import annotations

import argparse

from rich.console import Console

import agentgym
from agentgym.cli.options import add_env_options, env_kwargs, non_negative_int

HELP = "Type your action. Commands: :hint (the oracle's move), :state (render), :quit."


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("play", help="play an environment yourself")
    parser.add_argument("env_id")
    parser.add_argument("--seed", type=non_negative_int, default=None, help="seed of the episode (default: random)")
    add_env_options(parser)


def run(args: argparse.Namespace) -> int:
    read = input  # looked up per call so tests can script it
    console = Console(highlight=False)
    env = agentgym.make(args.env_id, render_mode="ansi", episode_statistics=True, **env_kwargs(args))
    observation, info = env.reset(seed=args.seed)
    console.print(f"[bold]{args.env_id}[/bold]  task {info['task_id']}\n{info['instructions']}\n[dim]{HELP}[/dim]")
    total = 0.0
    try:
        while True:
            console.print(f"\n{observation['text'] if isinstance(observation, dict) else observation}")
            try:
                action = read("> ")
            except EOFError:
                console.print("\n(end of input)")
                return 0
            command = action.strip()
            if command == ":quit":
                return 0
            if command == ":state":
                console.print(env.render())
                continue
            if command == ":hint":
                try:
                    console.print(f"[yellow]hint:[/yellow] {env.unwrapped.oracle_action()}")
                except NotImplementedError:
                    console.print("[yellow]no oracle for this environment[/yellow]")
                continue
            observation, reward, terminated, truncated, info = env.step(action)
            total += reward
            if info.get("error"):
                console.print(f"[red]invalid:[/red] {info['error']}")
            if reward:
                console.print(f"[green]reward {reward:+.2f}[/green]")
            if terminated or truncated:
                console.print(f"\n{observation['text'] if isinstance(observation, dict) else observation}")
                verdict = "[green]You won![/green]" if info.get("success") else "[red]Game over.[/red]"
                console.print(f"{verdict} return {total:.2f} in {info['episode']['turns']} turns"
                              + (" (turn limit reached)" if truncated else ""))
                return 0
    finally:
        env.close()
