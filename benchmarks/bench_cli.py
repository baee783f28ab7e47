"""What the benchmark scripts' command lines share: a ``--help`` that names every option's
default; argument types that refuse, in one line and before anything is measured, what no run
can use -- a count below one, a duration of zero, an environment id nobody registered, an
output folder that cannot be made or written (found only after a run of minutes otherwise) --
and the machine a report was measured on.

The scripts import it as a top-level module (``from bench_cli import ...``): ``python
benchmarks/X.py`` puts this folder first on ``sys.path``. An :class:`argparse.ArgumentTypeError`
raised here becomes ``X.py: error: argument --rounds: expected ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
from pathlib import Path
from typing import Any, Callable


class ShowDefaults(argparse.HelpFormatter):
    """``--help`` with each option's default after its text, options without a help text included
    (:class:`argparse.ArgumentDefaultsHelpFormatter` skips those). A default of ``None``,
    ``False``, ``""`` or an empty list is no value the option takes, and is not shown."""

    def _format_action(self, action: argparse.Action) -> str:
        default = action.default
        unset = default is None or default is False or default is argparse.SUPPRESS or default in ("", [])
        if (action.option_strings and not unset and "%(default)" not in (action.help or "")
                and action.help != argparse.SUPPRESS):
            action = copy.copy(action)
            action.help = f"{action.help} (default: %(default)s)" if action.help else "(default: %(default)s)"
        return super()._format_action(action)


def positive_int(text: str) -> int:
    """An integer of at least 1: rounds, episodes, sessions, environments, steps."""
    return _checked(text, int, lambda value: value >= 1, "an integer of at least 1")


def non_negative_int(text: str) -> int:
    """An integer of at least 0, for the options whose 0 means none or skip."""
    return _checked(text, int, lambda value: value >= 0, "an integer of at least 0")


def positive_float(text: str) -> float:
    """A finite number above 0: seconds of a measurement, a delay, a timeout."""
    return _checked(text, float, lambda value: value > 0, "a number above 0")


def non_negative_float(text: str) -> float:
    """A finite number of at least 0, for the options whose 0 means none."""
    return _checked(text, float, lambda value: value >= 0, "a number of at least 0")


def integer_between(low: int, high: int) -> Callable[[str], int]:
    """An argument type: an integer from ``low`` to ``high``, both included (a corpus size the
    search world can have, say)."""
    def integer(text: str) -> int:
        return _checked(text, int, lambda value: low <= value <= high, f"an integer from {low} to {high}")

    return integer


def _checked(text: str, kind: Callable[[str], Any], ok: Callable[[Any], bool], wanted: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
    if not math.isfinite(value) or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
    return value


def output_folder(text: str) -> Path:
    """A folder the report can be written to, made now (with its parents) if it is missing, so
    that a path no report can go to is refused before the run instead of after it."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    _make_writable_folder(path, text)
    return path


def output_file(text: str) -> Path:
    """A file the report can be written to: not a folder, its folder made now as
    :func:`output_folder` makes one."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    _make_writable_folder(path.parent, text)
    return path


def _make_writable_folder(folder: Path, text: str) -> None:
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: {existing} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot write {text}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: no write permission in {folder}")


def registered_env(text: str) -> str:
    """An environment id that ``agentgym.make`` knows (the registry's message when it does not)."""
    import agentgym

    try:
        agentgym.env_info(text)
    except KeyError as exc:
        raise argparse.ArgumentTypeError(exc.args[0]) from None
    return text


def torch_device(text: str) -> str:
    """A torch device this machine has ('cpu', 'cuda', 'cuda:1', ...): a CUDA device without
    CUDA or past the last GPU, or a name torch does not know, is refused before any model is
    built. CUDA is asked without a context being made (this process would hold its memory)."""
    import torch

    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"expected a torch device such as cpu or cuda:0, got {text!r}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            have = f"{count} GPU(s)" if count else f"no CUDA (torch {torch.__version__})"
            raise argparse.ArgumentTypeError(f"{text} is not usable here: this machine has {have}")
        return text
    try:
        torch.empty(0, device=device)
    except (AssertionError, RuntimeError) as exc:  # torch raises both for a device it cannot use
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise argparse.ArgumentTypeError(f"{text} is not usable here: {reason}") from None
    return text


def cpus_and_load() -> dict[str, Any]:
    """The CPU count and the 1-, 5- and 15-minute load averages now: other jobs on the cores
    move every figure, so a report says what it was measured under."""
    return {"cpus": os.cpu_count(), "load_average": [round(load, 2) for load in os.getloadavg()]}


def machine() -> dict[str, Any]:
    """The machine a run measures: Python's version, the processor, and :func:`cpus_and_load`."""
    return {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
            **cpus_and_load()}
