"""``agentgym train --config FILE``: train a policy by reinforcement learning.

    agentgym train --config examples/grpo_guess_the_number.toml
    agentgym train --config examples/grpo_guess_the_number.toml --steps 5 --out runs/try
    agentgym train --resume runs/try                 # continue from its latest checkpoint
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agentgym.train.config import load_config

_LATEST = "LATEST"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train", help="train a policy with RL (GRPO, Dr.GRPO, RLOO, GiGPO, IGPO, PPO, REINFORCE)",
        description="Train a policy by reinforcement learning as a TOML configuration says (see examples/*.toml; "
                    "every option and its default is documented in agentgym/train/config.py). Writes metrics, "
                    "checkpoints, curves and the final weights to the run directory.")
    parser.add_argument("--config", type=Path, default=None,
                        help="the TOML configuration (optional with --resume DIR: the checkpoint's own is used)")
    parser.add_argument("--resume", nargs="?", const=_LATEST, default=None, metavar="DIR",
                        help="continue from the latest checkpoint of DIR (a run directory or a checkpoint folder); "
                             "without DIR, of the configuration's run directory")
    parser.add_argument("--steps", type=int, default=None, help="total training steps (overrides run.steps)")
    parser.add_argument("--out", type=Path, default=None, help="run directory (overrides run.out_dir)")


def run(args: argparse.Namespace) -> int:
    from agentgym.train.trainer import Trainer

    _join_process_group()
    overrides = _overrides(args)
    if args.resume is None:
        if args.config is None:
            raise ValueError("give --config FILE (or --resume DIR to continue a run)")
        trainer = Trainer(load_config(args.config, overrides))
    else:
        config = load_config(args.config, overrides) if args.config is not None else None
        if args.resume == _LATEST:
            if config is None:
                raise ValueError("--resume without a directory needs --config (its run.out_dir is resumed)")
            folder = Path(config.run.out_dir)
        else:
            folder = Path(args.resume)
        out_dir = args.out or (Path(config.run.out_dir) if config is not None else _run_dir(folder))
        try:
            trainer = Trainer.resume(folder, config=config, overrides=None if config else overrides, out_dir=out_dir)
        except FileNotFoundError as exc:
            raise ValueError(str(exc)) from None
    history = trainer.train()
    final = history[-1] if history else {}
    summary = ", ".join(f"{key} {final[key]:.3f}" for key in ("reward/mean", "success/train", "eval/success")
                        if isinstance(final.get(key), float))
    print(f"trained to step {trainer.step} ({summary or 'no metrics'}); run directory: {trainer.out_dir}")
    return 0


def _join_process_group() -> None:
    """Under ``torchrun`` / ``accelerate launch`` (``WORLD_SIZE`` > 1) join the launcher's
    process group, so the ranks split the tasks and average their updates; NCCL carries CUDA
    tensors, gloo the CPU ones."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    run: dict[str, Any] = {}
    if args.steps is not None:
        run["steps"] = args.steps
    if args.out is not None:
        run["out_dir"] = str(args.out)
    return {"run": run} if run else {}


def _run_dir(checkpoint_or_run: Path) -> Path:
    """The run directory of a run directory or of one of its checkpoint folders."""
    if checkpoint_or_run.parent.name == "checkpoints":
        return checkpoint_or_run.parent.parent
    return checkpoint_or_run

