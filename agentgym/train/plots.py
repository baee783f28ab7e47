"""Reward and success curves of a training run, as one PNG (matplotlib, imported on use)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


def plot_curves(history: Sequence[dict[str, Any]], path: str | Path, *, eval_label: str = "eval (held-out)") -> Path:
    """Two panels over the steps: mean reward, and training / evaluation success rate
    (``eval_label`` names the evaluation's curve).

    Raises ``ModuleNotFoundError`` without matplotlib.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    path = Path(path)
    figure, (reward_axis, success_axis) = plt.subplots(1, 2, figsize=(11, 4))
    _curve(reward_axis, history, "reward/mean", "reward (mean return)")
    _curve(success_axis, history, "success/train", "train (sampled)")
    _curve(success_axis, history, "eval/success", eval_label, marker="o")
    reward_axis.set_title("reward")
    success_axis.set_title("success rate")
    success_axis.set_ylim(-0.02, 1.02)
    for axis in (reward_axis, success_axis):
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    success_axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _curve(axis: Any, history: Sequence[dict[str, Any]], key: str, label: str, **style: Any) -> None:
    points = [(record["step"], record[key]) for record in history if isinstance(record.get(key), (int, float))]
    if points:
        steps, values = zip(*points)
        axis.plot(steps, values, label=label, **style)
