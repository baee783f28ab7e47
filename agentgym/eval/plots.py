"""The report's plots, rendered to PNG bytes with matplotlib's Agg (file-only) backend.

matplotlib (>= 3.10) is an optional dependency (``pip install 'agentgym[eval]'``): it is
imported only when a plot is drawn, and :class:`MissingPlottingDependency` says how to install
it. Figures are built directly on an Agg canvas, never through ``pyplot``, so no global backend
or figure state is touched (safe in servers, notebooks and threads).
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import numpy as np

from agentgym.eval.metrics import Metrics
from agentgym.eval.tables import percent, terminal_text

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


#: A UTF-16 surrogate on its own (text a model or a file wrote that is not valid unicode).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: The longest label a plot draws: a longer one keeps its start and its end around an ellipsis
#: (wider than the figure, it left no room for the bars; the tables show it whole).
MAX_LABEL_CHARS = 60


def _plain(label: str) -> str:
    """``label`` as a plot draws it: on one line, lone surrogates, which no font can draw
    (matplotlib raised ``TypeError``), as U+FFFD, other control characters as their escapes
    (``\\x1b``, as the tables show them; drawn, they were missing-glyph boxes and a warning per
    plot), at most :data:`MAX_LABEL_CHARS` characters.
    Every label is also drawn with ``parse_math=False``: an environment label or a run name
    holding ``$`` is text, never mathtext (``$_^$`` made matplotlib raise ``ValueError``,
    ``$a$`` drew an italic a)."""
    label = terminal_text(" ".join(_LONE_SURROGATE.sub("\ufffd", label).split()))
    if len(label) <= MAX_LABEL_CHARS:
        return label
    head = (MAX_LABEL_CHARS - 1) // 2
    return f"{label[:head]}…{label[len(label) - (MAX_LABEL_CHARS - 1 - head):]}"


def _label_rows(axes: Any, positions: Any, labels: list[str]) -> None:
    """Label the rows at ``positions`` of ``axes`` with ``labels``, as written (:func:`_plain`)."""
    axes.set_yticks(positions, [_plain(label) for label in labels], parse_math=False)


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _rate_bars(axes: Any, positions: Any, rows: list[Metrics], *, height: float, colour: str, marker_colour: str,
               label: str | None = None) -> list[float]:
    """Horizontal bars of the rows' success rates at ``positions``, each with its 95% Wilson
    interval as an error bar and a diamond at its value (so a 0% bar is visible); the rates."""
    rates = [m.success_rate or 0.0 for m in rows]
    below = [max(0.0, rate - m.success_ci[0]) for rate, m in zip(rates, rows)]
    above = [max(0.0, m.success_ci[1] - rate) for rate, m in zip(rates, rows)]
    axes.barh(positions, rates, height=height, color=colour, label=label)
    axes.errorbar(rates, positions, xerr=[below, above], fmt="none", ecolor="black", capsize=3, linewidth=1)
    axes.plot(rates, positions, linestyle="none", marker="D", markersize=5, color=marker_colour,
              markeredgecolor="black", zorder=3, clip_on=False)
    return rates


def success_plot(rows: list[Metrics]) -> bytes:
    """Success rate per environment, as bars with their 95% Wilson intervals as error bars."""
    return _png(success_figure(rows))


def success_figure(rows: list[Metrics]) -> Any:
    """The figure of :func:`success_plot`. The axis always spans 0–100%, and every rate has a
    marker at its value, so a 0% environment is visible (a bar of length 0 is not)."""
    figure = _new_figure(len(rows))
    axes = figure.add_subplot()
    positions = np.arange(len(rows))[::-1]  # the first environment on top
    rates = _rate_bars(axes, positions, rows, height=0.6, colour=_BAR_COLOUR, marker_colour=_POINT_COLOUR)
    for position, rate, m in zip(positions, rates, rows):
        axes.text(1.02, position, f"{percent(rate)} ({m.successes}/{m.episodes})", va="center", fontsize=9,
                  transform=axes.get_yaxis_transform())
    _label_rows(axes, positions, [m.label for m in rows])
    axes.set_ylim(-0.6, len(rows) - 0.4)  # no empty bands above and below the bars
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("success rate (error bars: 95% Wilson interval)")
    axes.set_title("Success rate per environment")
    axes.grid(axis="x", alpha=0.3)
    return figure


#: One colour per run in a comparison (matplotlib's tab10, in its order); runs past ten reuse them.
_RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf")


def comparison_plot(rows: list[tuple[str, list[Metrics | None]]], run_names: list[str]) -> bytes:
    """Success per environment for several runs: a band per environment, a bar per run."""
    return _png(comparison_figure(rows, run_names))


def comparison_figure(rows: list[tuple[str, list[Metrics | None]]], run_names: list[str]) -> Any:
    """The figure of :func:`comparison_plot`. ``rows`` are ``(environment, [its metrics in
    each run, or None where the run did not play it])`` (see
    :func:`~agentgym.eval.compare.comparison_rows`); ``run_names`` label the runs, in order.
    Each bar carries its 95% Wilson interval and a marker at its value (a 0% bar stays visible);
    a run that did not play an environment has no bar there (its slot is left empty)."""
    runs = len(run_names)
    if any(len(cells) != runs for _, cells in rows):
        raise ValueError(f"every row needs one entry per run ({runs})")
    run_names = [_plain(name) for name in run_names]
    columns = _legend_columns(run_names)
    # + a band per two lines of the legend under the axes
    figure = _new_figure(round(len(rows) * (0.3 + 0.45 * runs)) + math.ceil(math.ceil(runs / columns) / 2))
    axes = figure.add_subplot()
    band = 0.8 / max(1, runs)  # the height of one run's bar inside an environment's band
    centres = np.arange(len(rows))[::-1]  # the first environment on top
    for index, name in enumerate(run_names):
        colour = _RUN_COLOURS[index % len(_RUN_COLOURS)]
        offset = 0.4 - band * (index + 0.5)  # the first run at the top of each band
        played = [(centre + offset, m) for centre, (_, cells) in zip(centres, rows)
                  if (m := cells[index]) is not None and m.episodes]
        if not played:
            axes.barh([], [], color=colour, label=name)
            continue
        _rate_bars(axes, [p for p, _ in played], [m for _, m in played], height=band * 0.9, colour=colour,
                   marker_colour=colour, label=name)
    for boundary in centres[:-1] - 0.5:  # a thin line between environments
        axes.axhline(boundary, color="grey", linewidth=0.5, alpha=0.5)
    _label_rows(axes, centres, [label for label, _ in rows])
    axes.set_ylim(-0.6, len(rows) - 0.4)
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("success rate (error bars: 95% Wilson interval)")
    axes.set_title("Success rate per environment, run by run")
    axes.grid(axis="x", alpha=0.3)
    legend = figure.legend(loc="outside lower center", ncols=columns, fontsize=8, frameon=False)
    for text in legend.get_texts():  # run names as written (see _plain)
        text.set_parse_math(False)
    return figure


def _legend_columns(names: list[str]) -> int:
    """Columns of the comparison's legend: up to three, fewer for long run names, so that the
    legend fits the figure's width (three names of 60 characters ran off both edges)."""
    longest = max((len(name) for name in names), default=0)
    return max(1, min(len(names), 3, 120 // (longest + 8)))


def value_range(values: list[float], lower_bound: float | None = None) -> tuple[float, float] | None:
    """Axis limits for ``values`` when they are all equal (``None`` otherwise: let matplotlib
    choose): one unit (or half the value) either side, never below ``lower_bound`` but with a
    small margin so points at the bound stay whole. Without it matplotlib spans ±5% of the
    value — for all-zero returns an axis from -0.05 to 0.05 with meaningless ticks."""
    if not values or min(values) != max(values):
        return None
    value = float(values[0])
    span = max(1.0, abs(value) * 0.5)
    low, high = value - span, value + span
    if lower_bound is not None and low < lower_bound:
        low = lower_bound - 0.05 * (high - lower_bound)
    return low, high


def distribution_plot(values: dict[str, list[float]], xlabel: str, title: str, *,
                      lower_bound: float | None = None, integer: bool = False) -> bytes:
    """One box plot per environment with every episode drawn as a point over it.

    ``lower_bound``: the values cannot be smaller (0 for turns and tokens); ``integer``: whole
    numbers only, so only whole ticks are drawn."""
    return _png(distribution_figure(values, xlabel, title, lower_bound=lower_bound, integer=integer))


def distribution_figure(values: dict[str, list[float]], xlabel: str, title: str, *,
                        lower_bound: float | None = None, integer: bool = False) -> Any:
    """The figure of :func:`distribution_plot`. A value that is not a finite number (a NaN or
    infinite reward in a return) has no place on the axis and is left out of the plot (the
    table shows such an environment's mean return as undefined)."""
    labels = list(values)
    figure = _new_figure(len(labels))  # first: it says how to install matplotlib if it is missing
    from matplotlib.ticker import MaxNLocator

    axes = figure.add_subplot()
    positions = np.arange(len(labels))[::-1]
    data = [points[np.isfinite(points)] for points in (np.asarray(values[label], dtype=float) for label in labels)]
    axes.boxplot(data, positions=positions, orientation="horizontal", widths=0.5, showfliers=False,
                 medianprops={"color": "black"})
    # Spread the points vertically so equal values (e.g. the same number of turns) stay visible;
    # a fixed generator keeps the picture identical from run to run.
    jitter = np.random.default_rng(0)
    for position, points in zip(positions, data):
        axes.scatter(points, position + jitter.uniform(-0.18, 0.18, len(points)), s=12, alpha=0.6,
                     color=_POINT_COLOUR, zorder=3)
    _label_rows(axes, positions, labels)
    limits = value_range([v for points in data for v in points], lower_bound)
    if limits is not None:
        axes.set_xlim(*limits)
    elif lower_bound is not None:
        axes.set_xlim(left=max(axes.get_xlim()[0], lower_bound - 0.05 * (axes.get_xlim()[1] - lower_bound)))
    if integer:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    return figure
