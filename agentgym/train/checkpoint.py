"""Checkpoints that resume a run exactly, written atomically.

A checkpoint is a folder ``<out_dir>/checkpoints/step-000010/`` holding

* ``state.pt``: the trainable weights (every weight when fully fine-tuning, the adapters with
  LoRA: the frozen base comes from ``model.path``), the value head, the optimizer and scheduler
  states, the RNG states (Python, NumPy, torch CPU and CUDA), the step and the trainer's own
  state (the entropy band); loadable with ``torch.load(weights_only=True)``;
* ``config.json``: the run's configuration;
* ``history.json``: every step's metrics so far.

It is written to ``step-000010.tmp`` and renamed into place, then ``checkpoints/latest`` (the
folder's name) is replaced atomically, so a crash at any moment leaves either the previous
checkpoint or the new one, never half of one. Only the ``keep_last`` newest are kept.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

LATEST = "latest"
PREFIX = "step-"


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
    """Copy saved trainable parameters back; the names must be exactly the model's."""
    params = dict(model.named_parameters())
    expected = {name for name, p in params.items() if p.requires_grad}
    if set(state) != expected:
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        raise ValueError(f"the checkpoint does not fit this model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    with torch.no_grad():
        for name, tensor in state.items():
            params[name].copy_(tensor)


def save_checkpoint(out_dir: str | Path, step: int, state: dict[str, Any], config: dict[str, Any],
                    history: list[dict[str, Any]], *, keep_last: int = 2) -> Path:
    """Write a checkpoint for ``step`` atomically (module docstring); returns its folder."""
    root = Path(out_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{step:06d}"
    staging = root / f"{final.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    torch.save({**state, "step": step}, staging / "state.pt")
    (staging / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (staging / "history.json").write_text(json.dumps(history), encoding="utf-8")
    _fsync_dir(staging)
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    _write_atomically(root / LATEST, final.name)
    for old in sorted(root.glob(f"{PREFIX}*[0-9]"))[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    return final


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
    folder = resolve_checkpoint(path)
    state = torch.load(folder / "state.pt", map_location=map_location, weights_only=True)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    history = json.loads((folder / "history.json").read_text(encoding="utf-8"))
    return Checkpoint(folder, state, config, history)


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
