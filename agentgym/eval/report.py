"""Write an evaluation's run directory.

    runs/quick-v0-oracle-20260101-120000/
        run.json             the settings, written before the first episode
        trajectories.jsonl   every episode, written by the rollout engine while the run goes
        report.md            the results table, the run's settings and sample episodes (the
                             best, the worst, the first error: what the model wrote), in Markdown
        report.html          the same with plots, one self-contained page (inline CSS, PNG plots
                             embedded as base64): it opens in a browser with no network
        results.json         settings, one row per environment, the overall row, engine stats,
                             versions, timestamp (:class:`~agentgym.eval.results.RunResults`);
                             written last, so its presence marks a finished run

Each file is written atomically (a temporary file in the same directory, then ``os.replace``):
a run killed while writing its reports has each file either complete or absent.

The plots need matplotlib (``pip install 'agentgym[eval]'``). Without it the HTML page is still
written, with the tables and a note saying how to get the plots.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from agentgym.eval import plots
from agentgym.eval.results import RESULTS_FILE, SETTING_NAMES, RunResults, setting_text, write_atomic
from agentgym.eval.tables import html_table, markdown_table, markdown_text
from agentgym.eval.transcripts import html_samples, markdown_code, markdown_samples, sample_episodes
from agentgym.trajectory import Trajectory

MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"


@dataclass
class Report:
    """The files written, the plots drawn and notes on the plots that were not (``missing``
    says why none could be: matplotlib is not installed)."""

    results_path: Path
    markdown_path: Path
    html_path: Path
    plots: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: str | None = None


def write_report(run_dir: str | Path, results: RunResults, groups: dict[str, list[Trajectory]]) -> Report:
    """Write ``report.md``, ``report.html`` and, last, ``results.json`` into ``run_dir``, each
    atomically (see the module docstring).

    ``groups`` holds each environment's trajectories (keyed by row label) for the plots and the
    sample episodes.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    report = Report(run_dir / RESULTS_FILE, run_dir / MARKDOWN_FILE, run_dir / HTML_FILE)
    trajectories = [t for group in groups.values() for t in group]
    trajectories.sort(key=lambda t: t.created_at)  # the order the episodes started in
    samples = sample_episodes(trajectories)
    write_atomic(report.markdown_path, markdown_report(results, markdown_samples(samples)))
    try:
        figures, report.notes = draw_plots(results, groups)
    except plots.MissingPlottingDependency as exc:
        figures, report.missing = {}, str(exc)
        report.notes = [report.missing]
    report.plots = list(figures)
    write_atomic(report.html_path, html_report(results, figures, report.notes, html_samples(samples)))
    write_atomic(report.results_path, json.dumps(results.to_dict(), indent=2) + "\n")
    return report


def draw_plots(results: RunResults, groups: dict[str, list[Trajectory]]) -> tuple[dict[str, bytes], list[str]]:
    """The report's plots as PNG bytes by caption, and notes on plots left out: tokens are
    plotted only when recorded (a text-only policy such as the oracle has no token ids); a plot
    matplotlib cannot draw (returns near the largest float: no axis holds them) is left out
    with a note saying why, so the page and ``results.json`` are still written."""
    labels = [m.label for m in results.environments]
    if not labels:
        return {}, ["No plots: no episode finished."]
    figures: dict[str, bytes] = {}
    notes: list[str] = []

    def draw(caption: str, plot: Callable[[], bytes]) -> None:
        try:
            figures[caption] = plot()
        except plots.MissingPlottingDependency:
            raise
        except Exception as exc:  # a run's results outweigh one of its pictures
            notes.append(f"No {caption.lower()} plot: matplotlib could not draw it ({type(exc).__name__}: {exc}).")

    draw("Success rate", lambda: plots.success_plot(results.environments))
    draw("Return per episode", lambda: plots.distribution_plot(
        {label: [t.episode_return for t in groups[label]] for label in labels},
        "return (sum of rewards)", "Return distribution"))
    draw("Turns per episode", lambda: plots.distribution_plot(
        {label: [len(t.turns) for t in groups[label]] for label in labels},
        "turns", "Turns per episode", lower_bound=0, integer=True))
    with_tokens = [label for label in labels if any(t.token_ids is not None for t in groups[label])]
    if with_tokens:
        draw("Generated tokens per episode", lambda: plots.distribution_plot(
            {label: [t.generated_tokens for t in groups[label]] for label in with_tokens},
            "tokens generated by the policy", "Tokens per episode", lower_bound=0, integer=True))
    else:
        notes.append(f"No tokens-per-episode plot: {results.policy} returns text without token ids.")
    return figures, notes


_SETTING_LABELS = {"rollouts_per_task": "rollouts per task (k)", "tasks_per_entry": "tasks per environment",
                   "max_turns": "max turns", "max_tokens": "max tokens", "top_p": "top p",
                   "system_prompt": "system prompt", "step_timeout": "step timeout (s)",
                   "episode_timeout": "episode timeout (s)", "agentgym_version": "agentgym version",
                   "started_at": "started"}


def run_status(results: RunResults) -> str | None:
    """A warning line for a run summarised after it stopped early; ``None`` for a finished run."""
    if results.complete:
        return None
    expected = "an unknown number of" if results.expected_episodes is None else str(results.expected_episodes)
    return (f"Incomplete run: {results.overall.episodes} of {expected} episodes finished (the run was "
            f"interrupted or crashed); the numbers cover the finished episodes only.")


def run_info(results: RunResults, quote: Callable[[str], str] = str,
             text: Callable[[str], str] = str) -> list[tuple[str, str]]:
    """The run's settings and engine statistics, as (name, value) lines for both reports; the
    first error (text an environment or a policy wrote) is written as ``quote`` renders it,
    every other value as ``text`` does."""
    stats = results.stats
    sampling = ", ".join(f"{k}={v}" for k, v in results.sampling.items())
    settings = {"suite": results.suite, "policy": results.policy, "rollouts_per_task": results.rollouts_per_task,
                "tasks_per_entry": results.tasks_per_entry, **results.settings}
    info = [(_SETTING_LABELS.get(name, name.replace("_", " ")), setting_text(name, settings.get(name)))
            for name in SETTING_NAMES if name in settings]
    episodes = str(results.overall.episodes)
    if not results.complete:
        episodes += f" of {results.expected_episodes if results.expected_episodes is not None else '?'} (incomplete)"
    info += [("episodes", episodes), ("sampling", sampling)]
    if "wall_seconds" in stats:
        info.append(("wall time", f"{stats['wall_seconds']:.1f} s"))
    if stats.get("generated_tokens"):
        speed = stats.get("tokens_per_second", 0.0)
        info.append(("generated tokens", f"{stats['generated_tokens']} ({speed:.0f} tok/s)"))
    if "errors" in stats:
        kinds = ", ".join(f"{k}: {v}" for k, v in stats.get("error_kinds", {}).items())
        info.append(("errors", f"{stats['errors']}" + (f" ({kinds})" if kinds else "")))
    if "token_mismatches" in stats:
        info.append(("token mismatches", str(stats["token_mismatches"])))
    info = [(name, text(value)) for name, value in info]
    if stats.get("first_error"):
        info.append(("first error", f"{quote(stats['first_error'])} ({stats.get('first_error_episodes', 1)} episodes)"))
    info.append(("date", text(results.created_at)))
    info.append(("versions", text(", ".join(f"{k} {v}" for k, v in results.versions.items()))))
    info.append(("trajectories", text(results.trajectories)))
    return info


_LEGEND = ("success: share of episodes won, with its 95% Wilson score interval; return: mean ± standard "
           "error; pass@k: chance that at least one of k rollouts of a task succeeds (unbiased "
           "estimator); avg@k: mean success over a task's k rollouts; turns, tokens: means per "
           "episode; invalid: share of turns with an invalid action; errors: episodes cut short "
           "(timeouts, environment or policy errors, counted as failures); s/episode: seconds per "
           "episode spent stepping the environment and generating (queueing for a batch included).")


def _warnings(results: RunResults, quote: Callable[[str], str] = str) -> list[str]:
    """Lines a reader must see above the table: an incomplete run, episodes that failed (the
    first error written as ``quote`` renders it)."""
    warnings = [status] if (status := run_status(results)) else []
    stats = results.stats
    if stats.get("first_error"):
        failed, episodes = results.overall.errors, results.overall.episodes
        head = f"Every episode failed ({failed} of {episodes})" if failed == episodes else \
            f"{failed} of {episodes} episodes failed with an error"
        shared = "" if failed == 1 else f"; the first error, shared by {stats.get('first_error_episodes', 1)}"
        warnings.append(f"{head}{shared}: {quote(stats['first_error'])}")
    return warnings


def markdown_report(results: RunResults, samples: list[str] = ()) -> str:
    """``report.md``: warnings, the table, the legend, the run's settings, sample episodes. The
    first error is quoted as inline code (:func:`markdown_code`); the title and every setting are
    on one line and shown as written (:func:`~agentgym.eval.tables.markdown_text`: a suite's name
    holds its arguments, a system prompt may hold ``<answer>``)."""
    lines = [f"# {markdown_text(f'{results.policy} on {results.suite}')}", ""]
    lines += [line for warning in _warnings(results, markdown_code) for line in (f"> **warning**: {warning}", "")]
    lines += [markdown_table(results.environments, results.overall), "", _LEGEND, "", "## Run", ""]
    lines += [f"- **{name}**: {value}" for name, value in run_info(results, markdown_code, markdown_text)]
    if samples:
        lines += ["", *samples]
    return "\n".join(lines).rstrip("\n") + "\n"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f6f8; } tr.overall td { font-weight: bold; border-top: 2px solid #999; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; font-size: 0.9rem; }
dt { font-weight: bold; } dd { margin: 0; }
.legend, .note { font-size: 0.85rem; color: #555; max-width: 60rem; }
.note { background: #fff6e0; padding: 0.5rem; border-left: 3px solid #e0a000; }
figure { margin: 1rem 0; } img { max-width: 100%; } .wide { overflow-x: auto; }
details.episode { margin: 0.8rem 0; } summary { cursor: pointer; font-weight: bold; }
pre { background: #f6f8fa; padding: 0.4rem 0.6rem; white-space: pre-wrap; overflow-wrap: anywhere;
      font-size: 0.85rem; margin: 0.2rem 0; }
pre.action { background: #eef4fb; border-left: 3px solid #4878a8; } .error { color: #a00; }
"""


def html_report(results: RunResults, figures: dict[str, bytes], notes: list[str] = (),
                samples: list[str] = ()) -> str:
    """A self-contained page: inline CSS, the plots as base64 PNG ``data:`` URIs; ``samples`` is
    the sample-episodes section (:func:`~agentgym.eval.transcripts.html_samples`)."""
    title = html.escape(f"{results.policy} on {results.suite}")
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
             f"<style>{_CSS}</style></head><body>", f"<h1>{title}</h1>"]
    parts += [f"<p class=\"note\"><b>warning</b>: {html.escape(warning)}</p>" for warning in _warnings(results)]
    parts += ["<h2>Results</h2>", f"<div class=\"wide\">{html_table(results.environments, results.overall)}</div>",
             f"<p class=\"legend\">{html.escape(_LEGEND)}</p>", "<h2>Plots</h2>"]
    parts += [f"<p class=\"note\">{html.escape(note)}</p>" for note in notes]
    for caption, png in figures.items():
        data = base64.b64encode(png).decode("ascii")
        # each plot carries its own title: the caption is the image's alternative text only
        parts.append(f"<figure><img alt=\"{html.escape(caption)}\" src=\"data:image/png;base64,{data}\"></figure>")
    parts.append("<h2>Run</h2><dl>")
    parts += [f"<dt>{html.escape(name)}</dt><dd>{html.escape(value)}</dd>" for name, value in run_info(results)]
    parts.append("</dl>")
    parts += samples
    parts.append("</body></html>\n")
    return "\n".join(parts)
