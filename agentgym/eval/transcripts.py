"""Sample episodes for the reports: what the model actually wrote, turn by turn.

:func:`sample_episodes` picks up to three episodes of a run — the best (highest return, a
success first), the worst (among episodes that ran to their end, a failure first, then the
lowest return) and the first
that failed with an error — and the renderers show each as its instructions, every turn's
observation, action, reward and error, and the final observation. Long texts are cut to
:data:`MAX_TEXT_CHARS` (an invalid action's error too) and long episodes to their first and
last turns, each cut saying what it left out. HTML is escaped; Markdown goes in code fences
longer than any backtick run inside (an invalid action's error, on the line of its turn, in
inline code: :func:`markdown_code`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from agentgym.eval.tables import markdown_line, markdown_text
from agentgym.trajectory import Trajectory

MAX_TEXT_CHARS = 1500
MAX_TURNS_SHOWN = 12  # the first 8 and the last 4 of a longer episode
_HEAD_TURNS = 8


@dataclass(frozen=True)
class Sample:
    """An episode picked for the report and why (``best``, ``worst``, ``first error``)."""

    title: str
    trajectory: Trajectory


def sample_episodes(trajectories: list[Trajectory]) -> list[Sample]:
    """The best, the worst and the first failed episode (each episode shown once at most)."""
    samples: list[Sample] = []
    finished = [t for t in trajectories if t.error is None]
    if finished:
        # max/min keep the first of equals: the earliest recorded episode is picked
        best = max(finished, key=lambda t: (t.success, t.episode_return))
        worst = min(finished, key=lambda t: (t.success, t.episode_return))
        samples.append(Sample("best", best))
        if worst is not best:
            samples.append(Sample("worst", worst))
    failed = next((t for t in trajectories if t.error is not None), None)
    if failed is not None:
        samples.append(Sample("first error", failed))
    return samples


def truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text``, or its first ``limit`` characters and a note of how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… [truncated: {len(text) - limit} more characters]"


def episode_heading(sample: Sample) -> str:
    t = sample.trajectory
    kwargs = t.metadata.get("env_kwargs") or {}
    label = t.env_id or "unknown environment"
    if kwargs:
        label += "[" + ",".join(str(v) for v in kwargs.values()) + "]"
    outcome = "error" if t.error is not None else ("success" if t.success else "failure")
    rollout = t.metadata.get("rollout_index")
    return (f"{sample.title.capitalize()}: {label}, seed {t.seed}"
            + (f", rollout {rollout}" if rollout else "")
            + f" — {outcome}, return {t.episode_return:.2f}, {len(t.turns)} turn{'s' * (len(t.turns) != 1)}")


def _final_observation(t: Trajectory) -> str | None:
    """The text of the observation that ended the episode (the last message, when the
    environment's); of a text-and-image observation (content parts), its text parts."""
    if t.messages and t.messages[-1].get("role") not in ("assistant", "system") and t.turns:
        content = t.messages[-1].get("content")
        if isinstance(content, list):
            texts = [part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)]
            return "\n".join(texts) if texts else None
        return content if isinstance(content, str) else None
    return None


def _shown_turns(t: Trajectory) -> tuple[list, int]:
    """The turns to show and how many were left out after the first :data:`_HEAD_TURNS`."""
    if len(t.turns) <= MAX_TURNS_SHOWN:
        return list(t.turns), 0
    tail = MAX_TURNS_SHOWN - _HEAD_TURNS
    return t.turns[:_HEAD_TURNS] + t.turns[-tail:], len(t.turns) - MAX_TURNS_SHOWN


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def markdown_code(text: str) -> str:
    """``text`` as Markdown inline code on one line, shown as written: an error holding an HTML
    page, ``*``, ``_`` or ``[..](..)`` is neither HTML nor styled, and no line of it starts a
    heading or a block (its line breaks are spaces); the fence is longer than any backtick run
    inside."""
    text = markdown_line(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if not text or text.startswith("`") or text.endswith("`") else ""  # Markdown strips one each side
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_samples(samples: list[Sample]) -> list[str]:
    """The ``## Sample episodes`` section of ``report.md`` (empty without samples)."""
    if not samples:
        return []
    lines = ["## Sample episodes", ""]
    for sample in samples:
        t = sample.trajectory
        lines += [f"### {markdown_text(episode_heading(sample))}", ""]
        if t.error is not None:
            lines += ["**error**:", "", _fence(truncate(t.error)), ""]
        if t.instructions:
            lines += ["**instructions**:", "", _fence(truncate(t.instructions)), ""]
        turns, left_out = _shown_turns(t)
        for position, turn in enumerate(turns):
            if left_out and position == _HEAD_TURNS:
                lines += [f"*… {left_out} turns left out …*", ""]
            extra = f", invalid action: {markdown_code(truncate(turn.error))}" if turn.error else ""
            lines += [f"**turn {turn.index + 1}** (reward {turn.reward:g}{extra})", "", "observation:", "",
                      _fence(truncate(turn.observation)), "", "action:", "", _fence(truncate(turn.action)), ""]
        final = _final_observation(t)
        if final is not None:
            lines += ["**final observation**:", "", _fence(truncate(final)), ""]
    return lines


def html_samples(samples: list[Sample]) -> list[str]:
    """The sample-episodes section of ``report.html``: one ``<details>`` per episode."""
    if not samples:
        return []
    parts = ["<h2>Sample episodes</h2>"]
    for number, sample in enumerate(samples):
        t = sample.trajectory
        parts.append(f"<details class=\"episode\"{' open' if number == 0 else ''}>"
                     f"<summary>{html.escape(episode_heading(sample))}</summary>")
        if t.error is not None:
            parts.append(f"<p class=\"error\"><b>error</b></p><pre>{html.escape(truncate(t.error))}</pre>")
        if t.instructions:
            parts.append(f"<p><b>instructions</b></p><pre>{html.escape(truncate(t.instructions))}</pre>")
        turns, left_out = _shown_turns(t)
        for position, turn in enumerate(turns):
            if left_out and position == _HEAD_TURNS:
                parts.append(f"<p class=\"note\">… {left_out} turns left out …</p>")
            extra = f", invalid action: {truncate(turn.error)}" if turn.error else ""
            parts.append(f"<p><b>turn {turn.index + 1}</b> (reward {turn.reward:g}{html.escape(extra)})</p>"
                         f"<div class=\"turn\"><pre class=\"observation\">{html.escape(truncate(turn.observation))}"
                         f"</pre><pre class=\"action\">{html.escape(truncate(turn.action))}</pre></div>")
        final = _final_observation(t)
        if final is not None:
            parts.append(f"<p><b>final observation</b></p><pre>{html.escape(truncate(final))}</pre>")
        parts.append("</details>")
    return parts
