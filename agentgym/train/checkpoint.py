"""Checkpoints that resume a run exactly, written atomically.

A checkpoint is a folder ``<out_dir>/checkpoints/step-000010/`` holding

* ``state.pt``: the trainable weights (every weight when fully fine-tuning, the adapters with
  LoRA: the frozen base comes from ``model.path``), the value head, the optimizer and scheduler
  states, the RNG states (Python, NumPy, torch CPU and CUDA), the step and the trainer's own
  state (the entropy band); loadable with ``torch.load(weights_only=True)``;
* ``config.json``: the run's configuration;
* ``history.json``: every step's metrics so far (NaN and infinities written as ``metrics.jsonl``
  writes them, as strings, and read back as floats).

It is written to a fresh staging folder (``step-000010.<random>.tmp``) and renamed into place,
then ``checkpoints/latest`` (the folder's name) is replaced atomically. A step saved again (a run
resumed from an older checkpoint) never leaves ``latest`` naming a missing folder: ``latest``
first names the new staging folder, the old folder goes, a hard-linked copy of the new one is
renamed into its place and ``latest`` names that. So at every instant ``latest`` names a complete
checkpoint, whatever the moment of a crash. Pruning keeps the ``keep_last`` checkpoints of
highest step and always the one ``latest`` names, and clears the staging folders of crashed saves.

:func:`check_run_directory_unused` guards a new run against a directory that holds another.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agentgym.core import check_int
from agentgym.train.logging import float_numbers, json_numbers

LATEST = "latest"
PREFIX = "step-"
_CHECKPOINT_NAME = re.compile(rf"{PREFIX}(\d+)")


class RunDirectoryInUse(ValueError):
    """A new run was pointed at a directory that holds another run's metrics or checkpoints."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read."""

    path: Path
    state: dict[str, Any]
    config: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def step(self) -> int:
        return int(self.state["step"])


def rng_state() -> dict[str, Any]:
    """The process's random generators, in a form ``torch.load(weights_only=True)`` accepts."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), int(position), int(has_gauss), float(gauss)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_tuples(state["python"]))
    kind, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), position, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that train (all of them, or a LoRA model's adapters), on the CPU."""
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy saved trainable parameters back; the names and shapes must be exactly the model's
    (else ``ValueError``, before any parameter is changed)."""
    params = dict(model.named_parameters())
    expected = {name for name, p in params.items() if p.requires_grad}
    if set(state) != expected:
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        raise ValueError(f"the checkpoint does not fit this model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for name, tensor in state.items():
        if tensor.shape != params[name].shape:
            raise ValueError(f"the checkpoint does not fit this model: {name} has shape {list(tensor.shape)} in the "
                             f"checkpoint and {list(params[name].shape)} in the model (another model.path?)")
    with torch.no_grad():
        for name, tensor in state.items():
            params[name].copy_(tensor)


def save_checkpoint(out_dir: str | Path, step: int, state: dict[str, Any], config: dict[str, Any],
                    history: list[dict[str, Any]], *, keep_last: int = 2) -> Path:
    """Write a checkpoint for ``step`` crash-safely (module docstring); returns its folder.
    ``keep_last`` (an integer >= 1, else a ``ValueError`` before anything is written) checkpoints
    are kept."""
    keep_last = check_int("save_checkpoint", "keep_last", keep_last, minimum=1)  # 0 kept all: [-0:]
    root = Path(out_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{step:06d}"
    staging = _new_folder(root, f"{final.name}.")
    torch.save({**state, "step": step}, staging / "state.pt")
    (staging / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (staging / "history.json").write_text(json.dumps([json_numbers(r) for r in history], allow_nan=False),
                                          encoding="utf-8")
    _fsync_dir(staging)
    if final.exists():
        _replace_folder(root, final, staging)
    else:
        os.replace(staging, final)
    _write_atomically(root / LATEST, final.name)
    _prune(root, keep_last)
    return final


def checkpoint_steps(out_dir: str | Path) -> dict[int, Path]:
    """The checkpoint folders of a run directory by step (none: an empty dict)."""
    root = Path(out_dir) / "checkpoints"
    found = {}
    for folder in root.glob(f"{PREFIX}*") if root.is_dir() else ():
        match = _CHECKPOINT_NAME.fullmatch(folder.name)
        if match and folder.is_dir():
            found[int(match.group(1))] = folder
    return dict(sorted(found.items()))


def check_run_directory_unused(out_dir: str | Path) -> None:
    """Raise :class:`RunDirectoryInUse` if ``out_dir`` holds a run (checkpoints, or a non-empty
    ``metrics.jsonl``): a new run there would overwrite its metrics and mix its checkpoints; or
    if it is a file."""
    problem = run_directory_problem(out_dir)
    if problem is None:
        return
    advice = {"file": "choose another --out", "checkpoints": "use --resume to continue it, or choose another --out",
              "metrics": "choose another --out, or delete that directory first"}
    raise RunDirectoryInUse(f"{out_dir} {problem[1]}: {advice[problem[0]]}")


def run_directory_problem(out_dir: str | Path) -> tuple[str, str] | None:
    """Why a new run cannot write into ``out_dir`` (:func:`check_run_directory_unused`), as its
    kind (``"file"``, ``"checkpoints"`` or ``"metrics"``) and a phrase that follows the
    directory's name (``"already holds a run with checkpoints up to step 6"``); ``None`` if it can."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        return "file", "is a file, not a run directory"
    steps = checkpoint_steps(out_dir)
    if steps:
        return "checkpoints", f"already holds a run with checkpoints up to step {max(steps)}"
    metrics = out_dir / "metrics.jsonl"
    if metrics.is_file() and metrics.stat().st_size:
        return "metrics", "already holds a run (metrics.jsonl, but no checkpoint to resume from)"
    return None


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder from a checkpoint folder, a ``checkpoints`` folder or a run folder
    (the latest checkpoint); raises ``FileNotFoundError`` with what was looked for."""
    path = Path(path)
    if (path / "state.pt").is_file():
        return path
    for root in (path, path / "checkpoints"):
        latest = root / LATEST
        if latest.is_file():
            folder = root / latest.read_text(encoding="utf-8").strip()
            if (folder / "state.pt").is_file():
                return folder
    raise FileNotFoundError(f"no checkpoint at {path} (looked for state.pt, {LATEST} and checkpoints/{LATEST})")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """The checkpoint at ``path`` (:func:`resolve_checkpoint`).

    Raises:
        FileNotFoundError: no checkpoint there.
        ValueError: one of its files is missing or cannot be read (cut off, overwritten), in one
            line naming the folder and the file.
    """
    folder = resolve_checkpoint(path)
    try:
        state = torch.load(folder / "state.pt", map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
        # Not torch's text: for a damaged file it advises weights_only=False, a worse idea than no advice.
        raise ValueError(f"cannot read the checkpoint {folder}: state.pt is cut off, damaged or not a "
                         f"checkpoint ({type(exc).__name__})") from None
    config, history = (_read_json(folder, name) for name in ("config.json", "history.json"))
    if not isinstance(state, dict) or "step" not in state:
        raise ValueError(f"cannot read the checkpoint {folder}: state.pt holds no training state")
    if not isinstance(history, list) or not all(isinstance(record, dict) for record in history):
        raise ValueError(f"cannot read the checkpoint {folder}: history.json is not a list of metrics records")
    return Checkpoint(folder, state, config, [float_numbers(record) for record in history])


def checkpoint_config(path: str | Path) -> dict[str, Any]:
    """The configuration a checkpoint recorded (its ``config.json`` alone: ``state.pt`` is not
    read); errors as :func:`load_checkpoint`'s."""
    return _read_json(resolve_checkpoint(path), "config.json")


def _read_json(folder: Path, name: str) -> Any:
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"cannot read the checkpoint {folder}: it has no {name}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the checkpoint {folder}: {name} is damaged ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _replace_folder(root: Path, final: Path, staging: Path) -> None:
    """Put the complete checkpoint ``staging`` in the place of ``final`` while ``latest``, which
    may name ``final``, names a complete folder throughout: ``staging`` while ``final`` is
    deleted and a hard-linked copy of ``staging`` is renamed into its place."""
    _write_atomically(root / LATEST, staging.name)
    shutil.rmtree(final)
    copy = _new_folder(root, f"{final.name}.")
    shutil.copytree(staging, copy, copy_function=_link_or_copy, dirs_exist_ok=True)
    _fsync_dir(copy)
    os.replace(copy, final)


def _prune(root: Path, keep_last: int) -> None:
    """Delete all but the ``keep_last`` checkpoints of highest step, never the one ``latest``
    names, and the staging folders that crashed saves left behind."""
    latest = (root / LATEST).read_text(encoding="utf-8").strip() if (root / LATEST).is_file() else None
    checkpoints = list(checkpoint_steps(root.parent).values())
    keep = {folder.name for folder in checkpoints[-keep_last:]} | {latest}
    for folder in [*checkpoints[:-keep_last], *root.glob("*.tmp")]:
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def _new_folder(root: Path, prefix: str) -> Path:
    """A new folder ``<prefix><random>.tmp`` in ``root`` with the mode ``mkdir`` gives (0o777 less
    the umask: a checkpoint is as readable as the run directory around it; ``tempfile.mkdtemp``
    would make it owner-only)."""
    for _ in range(100):
        candidate = root / f"{prefix}{secrets.token_hex(4)}.tmp"
        try:
            candidate.mkdir(0o777)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused staging name {prefix}*.tmp in {root}")


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


def _write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(path.name + ".tmp")
    with open(staging, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(staging, path)


def _fsync_dir(folder: Path) -> None:
    for item in folder.iterdir():
        with open(item, "rb") as file:
            os.fsync(file.fileno())


def _tuples(value: Any) -> Any:
    """``random.setstate`` needs tuples where a JSON-ish round trip may have made lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
