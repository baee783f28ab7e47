"""``agentgym train FILE`` (or ``--config FILE``): train a policy by reinforcement learning.

    agentgym train examples/grpo_guess_the_number.toml
    agentgym train --config examples/grpo_guess_the_number.toml --steps 5 --out runs/try
    agentgym train --config examples/grpo_guess_the_number.toml --set rollout.group_size=4 --set optimizer.lr=1e-5
    agentgym train --resume runs/try                 # continue from its latest checkpoint

A new run refuses a run directory that already holds one (use ``--resume`` or another ``--out``),
and any run refuses one that another process is training into.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
from pathlib import Path
from typing import Any, Callable

from agentgym.cli.options import path_argument, positive_int
from agentgym.train.config import load_config, parse_overrides

_LATEST = "LATEST"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train", help="train a policy with RL (GRPO, Dr.GRPO, RLOO, GiGPO, IGPO, PPO, REINFORCE)",
        description="Train a policy by reinforcement learning as a TOML configuration says (see examples/*.toml; "
                    "every option and its default is documented in agentgym/train/config.py). Writes metrics, "
                    "checkpoints, curves and the final weights to the run directory.")
    parser.add_argument("config_file", nargs="?", type=path_argument, default=None, metavar="CONFIG",
                        help="the TOML configuration (the same as --config)")
    parser.add_argument("--config", type=path_argument, default=None,
                        help="the TOML configuration (optional with --resume DIR: the checkpoint's own is used)")
    parser.add_argument("--resume", nargs="?", const=_LATEST, default=None, metavar="DIR",
                        help="continue from the latest checkpoint of DIR (a run directory or a checkpoint folder); "
                             "without DIR, of the configuration's run directory")
    parser.add_argument("--steps", type=positive_int, default=None, help="total training steps (overrides run.steps)")
    parser.add_argument("--out", type=path_argument, default=None,
                        help="run directory (overrides run.out_dir); a new run refuses one that holds a run")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="override one option, e.g. --set rollout.group_size=4 --set optimizer.lr=1e-5 "
                             "(repeatable; VALUE is a TOML value, else a string; checked as the file is)")


def run(args: argparse.Namespace) -> int:
    joined = _join_process_group()
    finished = False
    try:
        code = _train(args)
        finished = True
        return code
    except BaseException:
        if joined:  # torchrun names rank 0 as the root cause, which only saw its peer go
            _say_which_rank_failed()
        raise
    finally:
        if joined:
            _leave_process_group(wait_for_the_others=finished)


def _say_which_rank_failed() -> None:
    import sys

    from agentgym.train.distributed import rank_and_world

    rank, world = rank_and_world()
    print(f"agentgym train: rank {rank} of {world} stops on the error below", file=sys.stderr)


def _train(args: argparse.Namespace) -> int:
    from agentgym.train.checkpoint import check_run_directory_unused, resolve_checkpoint  # torch: only when training
    from agentgym.train.trainer import Trainer

    args.config = _one_config(args.config_file, args.config)
    overrides = _overrides(args)
    if args.resume is None:
        if args.config is None:
            raise ValueError("give --config FILE (or --resume DIR to continue a run)")
        config = load_config(args.config, overrides)
        check_run_directory_unused(config.run.out_dir)  # before the (slow) model load
        out_dir, make_trainer = Path(config.run.out_dir), functools.partial(Trainer, config)
    else:
        config = load_config(args.config, overrides) if args.config is not None else None
        if args.resume == _LATEST:
            if config is None:
                raise ValueError("--resume without a directory needs --config (its run.out_dir is resumed)")
            folder = Path(config.run.out_dir)
        else:
            folder = Path(args.resume)
        resolve_checkpoint(folder)  # no checkpoint there: say so first, whatever the run directory holds
        out_dir = args.out or (Path(config.run.out_dir) if config is not None else _run_dir(folder))
        if Path(out_dir).resolve() != _run_dir(folder).resolve():  # continuing into another directory
            if args.out is None and config is not None:
                _check_configured_continuation(out_dir, args.resume, _run_dir(folder))
            check_run_directory_unused(out_dir)
        make_trainer = functools.partial(Trainer.resume, folder, config=config,
                                         overrides=None if config else overrides, out_dir=out_dir)
    with _holding(out_dir):  # before the (slow) model load, as the trainer holds it while it trains
        trainer = _start(make_trainer)
        history = trainer.train()
    final = history[-1] if history else {}
    summary = ", ".join(f"{key} {final[key]:.3f}" for key in ("reward/mean", "success/train", "eval/success")
                        if isinstance(final.get(key), float))
    print(f"trained to step {trainer.step} ({summary or 'no metrics'}); run directory: {trainer.out_dir}")
    return 0


def _check_configured_continuation(out_dir: Path, resumed: str, run_dir: Path) -> None:
    """``train CONFIG --resume RUN`` continues into CONFIG's run.out_dir: if that holds a run,
    say so in those terms (the usual advice, 'use --resume', is no help to a user who did)."""
    from agentgym.train.checkpoint import RunDirectoryInUse, run_directory_problem

    problem = run_directory_problem(out_dir)
    if problem is not None:
        raise RunDirectoryInUse(f"--resume {resumed} with a configuration continues into its run.out_dir, {out_dir}, "
                                f"which {problem[1]}: give --out DIR for the continued run, or leave out the "
                                f"configuration to continue {run_dir} itself")


def _holding(out_dir: str | Path) -> contextlib.AbstractContextManager:
    """The run directory's training lock (:mod:`agentgym.train.run_lock`), taken by the
    process that writes it: rank 0 of the process group under ``torchrun``, else this one
    (a ``RANK`` variable without a group of several processes makes no process rank 1)."""
    from agentgym.train.distributed import rank_and_world
    from agentgym.train.run_lock import hold_run_directory

    return hold_run_directory(out_dir) if rank_and_world()[0] == 0 else contextlib.nullcontext()


def _start(make_trainer: Callable[[], Any]) -> Any:
    """The trainer, with a missing checkpoint or a model that cannot be loaded (a hub name
    without network...) as one line (``ValueError``) instead of a traceback."""
    try:
        return make_trainer()
    except FileNotFoundError as exc:
        raise ValueError(str(exc)) from None
    except OSError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"cannot load the model: {first_line}") from None


def _join_process_group() -> bool:
    """Under ``torchrun`` / ``accelerate launch`` (``WORLD_SIZE`` > 1) join the launcher's
    process group, so the ranks split the tasks and average their updates; NCCL carries CUDA
    tensors, gloo the CPU ones. Returns whether this call joined it (and so must leave it)."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return False
    import agentgym.train.distributed  # noqa: F401 - before the group exists (see that module)

    dist.init_process_group(backend="cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    return True


def _leave_process_group(*, wait_for_the_others: bool) -> None:
    """Destroy the process group this command joined, after a barrier when this rank finished
    (a rank that failed leaves at once: the others then fail at their next collective). Rank 0
    hosts the group's rendezvous store: exiting while another rank still talks to it, or leaving
    the group to be torn down at interpreter exit, can abort a rank that finished well
    ("terminate called without an active exception")."""
    from datetime import timedelta

    import torch.distributed as dist
    from torch.distributed.distributed_c10d import _get_default_store

    if not dist.is_initialized():
        return
    if not wait_for_the_others:
        dist.destroy_process_group()
        return
    dist.barrier()
    store, rank, world = _get_default_store(), dist.get_rank(), dist.get_world_size()
    dist.destroy_process_group()
    # Rank 0 hosts the store: it leaves last, once every other rank has let go of the group.
    if rank == 0:
        store.wait([f"agentgym/left/{other}" for other in range(1, world)], timedelta(seconds=60))
    else:
        store.set(f"agentgym/left/{rank}", "1")


def _one_config(positional: Path | None, option: Path | None) -> Path | None:
    """The configuration file, given as ``CONFIG`` or as ``--config`` (the same file twice is
    fine; two different ones are an error)."""
    if positional is not None and option is not None and positional != option:
        raise ValueError(f"two configurations given: {positional} and --config {option}; give one")
    return positional if positional is not None else option


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """``--set`` assignments, with the shortcuts ``--steps`` (run.steps) and ``--out``
    (run.out_dir)."""
    overrides = parse_overrides(args.assignments)
    for flag, key, value in (("--steps", "steps", args.steps), ("--out", "out_dir", args.out)):
        if value is None:
            continue
        if key in overrides.get("run", {}):
            raise ValueError(f"{flag} and --set run.{key} both given; give one")
        overrides.setdefault("run", {})[key] = value if key == "steps" else str(value)
    return overrides


def _run_dir(checkpoint_or_run: Path) -> Path:
    """The run directory of a run directory, of its ``checkpoints`` folder (the one holding
    ``latest``) or of one of its checkpoint folders."""
    from agentgym.train.checkpoint import LATEST

    if checkpoint_or_run.name == "checkpoints" and (checkpoint_or_run / LATEST).is_file():
        return checkpoint_or_run.parent
    if checkpoint_or_run.parent.name == "checkpoints":
        return checkpoint_or_run.parent.parent
    return checkpoint_or_run

