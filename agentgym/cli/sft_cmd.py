"""``agentgym sft``: fine-tune a model on an agent's episodes (behaviour cloning), to warm-start RL.

    agentgym sft --env games/Wordle-v0 --episodes 64 --out runs/wordle-sft          # the oracle's wins
    agentgym sft --env web/MiniWoB-v0 --difficulty easy --out runs/miniwob-sft       # -o KEY=VALUE as in eval
    agentgym sft --trajectories runs/best.jsonl --out runs/clone --epochs 3          # recorded, token-exact
    agentgym train --config examples/grpo_guess_the_number.toml --set model.path=runs/wordle-sft

The model (``--model``: the embedded SmolLM2 by default, a folder or a hub name) is saved to
``--out`` with its tokenizer, beside ``sft_metrics.json`` (the loss per epoch).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

from agentgym.cli.options import (
    add_env_options,
    check_env_arguments,
    env_kwargs,
    non_negative_int,
    path_argument,
    positive_float,
    positive_int,
)
from agentgym.core import ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sft", help="fine-tune a model on an agent's episodes (behaviour cloning, a warm start before RL)",
        description="Supervised fine-tuning on the reply tokens of demonstrations: the oracle's (or a scripted "
                    "agent's) successful episodes of an environment, or recorded token-exact trajectories. "
                    "Saves the model and tokenizer to --out, ready for `agentgym train --set model.path=OUT`.")
    parser.add_argument("--model", default="smollm2-135m", help="the student: the embedded model (default), "
                                                                "a folder or a hub name")
    parser.add_argument("--env", default=None, help="collect demonstrations in this environment (its oracle plays)")
    add_env_options(parser)
    parser.add_argument("--kwargs", default="{}",
                        help="the environment's arguments as one JSON object (-o KEY=VALUE pairs are added to it; default: none)")
    parser.add_argument("--episodes", type=positive_int, default=64,
                        help="demonstration episodes to play (seeds from --first-seed on; default: %(default)s)")
    parser.add_argument("--first-seed", type=non_negative_int, default=0, help="default: %(default)s")
    parser.add_argument("--max-turns", type=positive_int, default=None,
                        help="turn budget (default: the environment's)")
    parser.add_argument("--trajectories", type=path_argument, nargs="*", default=[],
                        help="recorded token-exact trajectories (JSONL) to learn from, with or instead of --env")
    parser.add_argument("--include-failures", action="store_true", help="keep episodes that did not succeed")
    parser.add_argument("--epochs", type=positive_int, default=2, help="passes over the demonstrations (default: %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=1e-5, help="learning rate (default: %(default)s)")
    parser.add_argument("--rows-per-step", type=positive_int, default=16, help="trajectories per optimizer step (default: %(default)s)")
    parser.add_argument("--out", type=path_argument, required=True,
                        help="where the fine-tuned model is saved")


def run(args: argparse.Namespace) -> int:
    if args.env is None and not args.trajectories:
        raise ConfigError("give --env (demonstrations from its oracle) or --trajectories FILE")
    kwargs = _env_kwargs(args)  # before the training stack is imported and the model loads

    from agentgym.train.config_checks import model_path_problem
    from agentgym.train.sft import SFTSettings

    if (problem := model_path_problem(args.model, "--model")) is not None:
        raise ConfigError(problem)
    settings = SFTSettings(epochs=args.epochs, lr=args.lr, rows_per_step=args.rows_per_step)
    recorded = _recorded(args.trajectories, args.include_failures)  # before the (slow) model load
    if args.env is None and not recorded:
        raise ConfigError("nothing to learn from: --trajectories holds no trajectory" if args.include_failures else
                          "nothing to learn from: --trajectories holds no successful trajectory "
                          "(--include-failures keeps the others)")
    with _out_folder(args.out, args.model):  # made before the model loads and trains
        return _clone(args, kwargs, settings, recorded)


def _recorded(paths: list[Path], include_failures: bool) -> list[Any]:
    """The trajectories of ``--trajectories`` files to learn from: the successful ones (all with
    ``--include-failures``); a warning says how many of a file's were left out."""
    from agentgym.trajectory import read_trajectories

    demos = []
    for path in paths:
        trajectories = read_trajectories(path)
        kept = [t for t in trajectories if t.success or include_failures]
        if len(kept) < len(trajectories):
            warnings.warn(f"{path}: {len(trajectories) - len(kept)} of {len(trajectories)} trajectories left out: "
                          "they did not succeed (--include-failures keeps them)", stacklevel=2)
        demos += kept
    return demos


def _clone(args: argparse.Namespace, kwargs: dict, settings: Any, demos: list[Any]) -> int:
    """Collect the demonstrations (after the ``demos`` recorded ones), fine-tune, save to
    ``args.out`` (which exists)."""
    from agentgym.policies.hf import quiet_transformers
    from agentgym.train.sft import demonstrations, fine_tune
    from agentgym.train.model_setup import load_model

    try:
        model, tokenizer = load_model(SimpleNamespace(path=args.model, revision=None))
    except OSError as exc:  # a missing file, a hub name that cannot be fetched
        text = str(exc).strip()
        raise ConfigError(f"cannot load the model {args.model}: {text.splitlines()[0] if text else type(exc).__name__}"
                          ) from None
    demos = list(demos)
    if args.env is not None:
        seeds = range(args.first_seed, args.first_seed + args.episodes)
        played = demonstrations(tokenizer, args.env, seeds, env_kwargs=kwargs, max_turns=args.max_turns,
                                only_successful=not args.include_failures, progress=True)
        print(f"demonstrations: {len(played)} of {args.episodes} episodes of {args.env}"
              + ("" if args.include_failures else " succeeded"))
        demos += played
    history = fine_tune(model, demos, settings,
                        on_epoch=lambda r: print(f"epoch {int(r['epoch'])}: nll {r['nll']:.4f} "
                                                 f"({int(r['rows'])} trajectories)"))
    with quiet_transformers():  # no "Writing model shards" bar
        model.save_pretrained(args.out)
        tokenizer.save_pretrained(args.out)
    (args.out / "sft_metrics.json").write_text(json.dumps({"settings": vars(settings), "history": history}, indent=2))
    print(f"saved to {args.out}: agentgym train --config ... --set model.path={args.out}")
    return 0


@contextlib.contextmanager
def _out_folder(out: Path, model: str) -> Iterator[None]:
    """Make the folder the model will be saved to, so that one that cannot be made (a file, a
    read-only place) fails before the training, not after it; a folder made here is removed
    again if the command fails while it is still empty. A folder that holds something other
    than an earlier ``sft``'s output (a run, another model), or the ``--model`` folder itself,
    is refused: the model's files would be written over it."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder for the model")
    if out.is_dir() and Path(model).expanduser().is_dir() and out.resolve() == Path(model).expanduser().resolve():
        raise ConfigError(f"--out {out} is the --model folder: the fine-tuned model would be written over the one "
                          "it starts from; give another folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "sft_metrics.json").is_file():
        raise ConfigError(f"--out {out} is not empty and holds no earlier sft output: give a new folder (the "
                          "model's files would be written over what it holds)")
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if empty: never what was written to it
        raise


def _env_kwargs(args: argparse.Namespace) -> dict:
    """The environment's constructor arguments: ``--kwargs`` (a JSON object) with ``--difficulty``
    and ``-o KEY=VALUE`` over it, checked before the model loads, as ``agentgym eval`` checks
    them: their names against the constructor, their values by building the environment once
    (a typo or ``--difficulty extreme`` is one line, not a run of failed demonstrations)."""
    from agentgym.registry import check_env_kwargs

    try:
        kwargs = json.loads(args.kwargs)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--kwargs is not JSON: {exc}") from None
    if not isinstance(kwargs, dict):
        raise ConfigError(f"--kwargs must be a JSON object, got {args.kwargs!r}")
    kwargs.update(env_kwargs(args))
    if args.env is not None:
        check_env_kwargs(args.env, kwargs)
        if kwargs:
            check_env_arguments(args.env, kwargs)
    elif kwargs:
        raise ConfigError("environment arguments (--kwargs, -o, --difficulty) need --env")
    return kwargs
