"""The report's plots, rendered to PNG bytes with matplotlib's Agg (file-only) backend.

matplotlib (>= 3.10) is an optional dependency (``pip install 'agentgym[eval]'``): it is
imported only when a plot is drawn, and :class:`MissingPlottingDependency` says how to install
it. Figures are built directly on an Agg canvas, never through ``pyplot``, so no global backend
or figure state is touched (safe in servers, notebooks and threads).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from agentgym.eval.metrics import Metrics

INSTALL_HINT = "plots need matplotlib: pip install 'agentgym[eval]'"
_BAR_COLOUR = "#4878a8"
_POINT_COLOUR = "#d0743c"


class MissingPlottingDependency(ImportError):
    """matplotlib is not installed."""


def _new_figure(rows: int) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingPlottingDependency(INSTALL_HINT) from None
    # One horizontal band per environment keeps long labels readable at any suite size.
    figure = Figure(figsize=(8, max(2.5, 1.4 + 0.42 * rows)), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def success_plot(rows: list[Metrics]) -> bytes:
    """Success rate per environment, as bars with their 95% Wilson intervals as error bars."""
    figure = _new_figure(len(rows))
    axes = figure.add_subplot()
    positions = np.arange(len(rows))[::-1]  # the first environment on top
    rates = [m.success_rate or 0.0 for m in rows]
    below = [max(0.0, rate - m.success_ci[0]) for rate, m in zip(rates, rows)]
    above = [max(0.0, m.success_ci[1] - rate) for rate, m in zip(rates, rows)]
    axes.barh(positions, rates, color=_BAR_COLOUR, height=0.6)
    axes.errorbar(rates, positions, xerr=[below, above], fmt="none", ecolor="black", capsize=4, linewidth=1)
    for position, rate, m in zip(positions, rates, rows):
        axes.text(1.02, position, f"{rate:.0%} ({m.successes}/{m.episodes})", va="center", fontsize=9,
                  transform=axes.get_yaxis_transform())
    axes.set_yticks(positions, [m.label for m in rows])
    axes.set_ylim(-0.6, len(rows) - 0.4)  # no empty bands above and below the bars
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("success rate (error bars: 95% Wilson interval)")
    axes.set_title("Success rate per environment")
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)


def distribution_plot(values: dict[str, list[float]], xlabel: str, title: str) -> bytes:
    """One box plot per environment with every episode drawn as a point over it."""
    labels = list(values)
    figure = _new_figure(len(labels))
    axes = figure.add_subplot()
    positions = np.arange(len(labels))[::-1]
    data = [np.asarray(values[label], dtype=float) for label in labels]
    axes.boxplot(data, positions=positions, orientation="horizontal", widths=0.5, showfliers=False,
                 medianprops={"color": "black"})
    # Spread the points vertically so equal values (e.g. the same number of turns) stay visible;
    # a fixed generator keeps the picture identical from run to run.
    jitter = np.random.default_rng(0)
    for position, points in zip(positions, data):
        axes.scatter(points, position + jitter.uniform(-0.18, 0.18, len(points)), s=12, alpha=0.6,
                     color=_POINT_COLOUR, zorder=3)
    axes.set_yticks(positions, labels)
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)
