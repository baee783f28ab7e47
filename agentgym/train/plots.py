"""Reward and success curves of a training run, as one PNG (matplotlib, imported on use)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence


def plot_curves(history: Sequence[dict[str, Any]], path: str | Path, *, eval_label: str = "eval (held-out)") -> Path:
    """Two panels over the steps: mean reward, and training / evaluation success rate
    (``eval_label`` names the evaluation's curve). A point that no line reaches (the one step of
    a one-step run, a value between two NaN) is drawn as a dot.

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
    if not points:
        return
    steps, values = zip(*points)
    if "marker" not in style:  # a line joins a point to its finite neighbours; one without any shows nothing
        finite = [math.isfinite(value) for value in values]
        alone = [i for i, ok in enumerate(finite)
                 if ok and not (i > 0 and finite[i - 1]) and not (i + 1 < len(finite) and finite[i + 1])]
        if alone:
            style.update(marker="o", markersize=4, markevery=alone)
    axis.plot(steps, values, label=label, **style)
