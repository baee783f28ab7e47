"""Result tables — one row per suite entry plus an overall row — for the terminal, Markdown and
HTML. Every cell is formatted here, so the three agree; an undefined value shows as ``—``.

A label is any text (an environment's constructor arguments are part of it): a terminal table
shows its control characters as escapes (:func:`terminal_text`), Markdown keeps it on one line
with its ``<`` and its inline syntax escaped (:func:`markdown_text`; in a table cell with its pipes escaped too,
:func:`markdown_cell`), HTML escapes it."""

from __future__ import annotations

import html
import re
from typing import Callable

from rich import box
from rich.table import Table
from rich.text import Text

from agentgym.eval.metrics import Metrics

MISSING = "—"


def percent(value: float | None) -> str:
    """``value`` (a rate from 0 to 1) in whole percents; one that rounds to ``0%`` or ``100%``
    without being it is ``<1%`` or ``>99%`` (200 successes of 201 episodes are not all of them,
    one invalid action in 201 turns is not none)."""
    if value is None:
        return MISSING
    text = f"{value:.0%}"
    if text == "0%" and value > 0:
        return "<1%"
    if text == "100%" and value < 1:
        return ">99%"
    return text


def success_with_ci(m: Metrics) -> str:
    """``70% [40–89]``: the success rate (as :func:`percent` writes it) and its 95% Wilson
    interval, in percent."""
    if m.success_rate is None:
        return MISSING
    low, high = m.success_ci
    return f"{percent(m.success_rate)} [{low * 100:.0f}–{high * 100:.0f}]"


def return_with_stderr(m: Metrics) -> str:
    if m.mean_return is None:
        return MISSING
    return f"{m.mean_return:.2f}" + ("" if m.return_stderr is None else f" ± {m.return_stderr:.2f}")


def number(value: float | None, digits: int = 1) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


# (header, right-aligned, cell) for every column of the evaluation table. pass@k / avg@k
# headers are filled in with the run's k.
COLUMNS: list[tuple[str, bool, Callable[[Metrics], str]]] = [
    ("environment", False, lambda m: m.label),
    ("episodes", True, lambda m: str(m.episodes)),
    ("success [95% CI]", True, success_with_ci),
    ("return ± se", True, return_with_stderr),
    ("pass@{k}", True, lambda m: percent(m.pass_at_k)),
    ("avg@{k}", True, lambda m: percent(m.avg_at_k)),
    ("turns", True, lambda m: number(m.mean_turns)),
    ("tokens", True, lambda m: number(m.mean_generated_tokens, 0)),
    ("invalid", True, lambda m: percent(m.invalid_rate)),
    ("errors", True, lambda m: str(m.errors)),
    ("s/episode", True, lambda m: number(m.mean_seconds, 2)),
]


def _headers(k: int) -> list[str]:
    return [header.format(k=k) for header, _, _ in COLUMNS]


def _cells(m: Metrics) -> list[str]:
    return [cell(m) for _, _, cell in COLUMNS]


def rich_table(rows: list[Metrics], overall: Metrics, title: str = "") -> Table:
    """The table for the terminal (no vertical rules, to fit every column in ~120 characters).
    A label too long for the room the numbers leave wraps onto more lines (:func:`label_column`)."""
    table = Table(title=terminal_cell(title) if title else None, box=box.SIMPLE_HEAD)
    for header, (_, right, _) in zip(_headers(overall.k), COLUMNS):
        if right:
            table.add_column(header, justify="right", no_wrap=True)
        else:
            label_column(table, header)
    for m in rows:
        table.add_row(*map(terminal_cell, _cells(m)))
    table.add_section()
    table.add_row(*map(terminal_cell, _cells(overall)), style="bold")
    return table


def label_column(table: Table, header: str) -> None:
    """Add the column of the row labels to a terminal table: a label longer than the room the
    other columns leave wraps onto more lines (folded anywhere: it may hold no space), where it
    took its whole width and the numbers were cut to an ellipsis ('10…'), and labels that differ
    at their end were cut alike."""
    table.add_column(header, overflow="fold")


def markdown_table(rows: list[Metrics], overall: Metrics) -> str:
    """The table as GitHub Markdown; the overall row is in bold."""
    lines = ["| " + " | ".join(_headers(overall.k)) + " |",
             "|" + "|".join("---:" if right else "---" for _, right, _ in COLUMNS) + "|"]
    for m in rows:
        lines.append("| " + " | ".join(markdown_cell(c) for c in _cells(m)) + " |")
    lines.append("| " + " | ".join(f"**{markdown_cell(c)}**" for c in _cells(overall)) + " |")
    return "\n".join(lines)


def html_table(rows: list[Metrics], overall: Metrics) -> str:
    """The table as an HTML ``<table>``; the overall row has class ``overall``."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _headers(overall.k))
    body = ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(m)) + "</tr>" for m in rows]
    body.append('<tr class="overall">' + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(overall)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def markdown_line(text: str) -> str:
    """``text`` on one line, its line breaks (and runs of spaces) as one space: a line break
    would end the Markdown heading, list item or table row it is written in. Any other control
    character is shown as its escape (``\\x1b``, as :func:`terminal_text` shows it): no viewer
    shows it, and a terminal printing the Markdown (``agentgym compare --markdown``) acted on it."""
    return terminal_text(" ".join(text.split()))


#: An ``&`` that Markdown would read as the start of a character reference (``&lt;``, ``&#60;``).
_ENTITY_START = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


#: Markdown's inline syntax: a backslash (it escapes the punctuation after it), emphasis and
#: strikethrough (``*``, ``~``), code (a backtick), a link's ``](``, and an ``_`` that is not
#: between two letters or digits (one there is never emphasis: ``max_turns`` stays as it is).
_INLINE_SYNTAX = re.compile(r"[\\*~`]|\](?=\()|(?<![^\W_])_|_(?![^\W_])")


def markdown_text(text: str) -> str:
    """``text`` as Markdown shows it as written, on one line (:func:`markdown_line`): its ``<``
    as ``&lt;`` (``<answer>`` in a system prompt, a label or a policy name was read as an HTML
    tag, which a viewer hides, and ``<https://...>`` as a link), an ``&`` that would start a
    character reference as ``&amp;``, and its inline syntax escaped with a backslash (a regex
    argument's ``\\.`` lost its backslash; ``**only**``, ``_x_``, a backtick pair, ``~~x~~`` and
    ``[text](url)`` in a system prompt were bold, italic, code, struck through and a link). For
    text outside code only: code shows ``&lt;`` as it is
    (:func:`~agentgym.eval.transcripts.markdown_code` writes text in code unescaped)."""
    # escaped before markdown_line: the escape it writes for a control character (``\\x1b``) has
    # no punctuation after its backslash, so it shows as it is
    text = markdown_line(_INLINE_SYNTAX.sub(lambda match: "\\" + match.group(), text))
    return _ENTITY_START.sub("&amp;", text).replace("<", "&lt;")


def markdown_cell(text: str) -> str:
    """``text`` as one cell of a Markdown table row: as written (:func:`markdown_text`) and its
    pipes escaped (a pipe starts the next cell)."""
    return markdown_text(text).replace("|", "\\|")


#: What a terminal acts on instead of showing (C0 controls but newline and tab, DEL, C1 controls),
#: and lone surrogates, which no terminal encoding can hold.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: every control character but newline and tab (an
    escape sequence's ESC, a carriage return, a bell) is shown as its escape (``\\x1b``), so
    text an environment, a model or a configuration wrote cannot recolour, move the cursor or
    clear the screen (rich strips a carriage return, but prints ESC as it is); a lone surrogate
    is shown as its escape (``\\ud800``) too, where printing it raised ``UnicodeEncodeError``.
    A Windows line end (``\\r\\n``, an HTTP error page's) is a plain line break."""
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text.replace("\r\n", "\n"))


def terminal_cell(text: str) -> Text:
    """``text`` as a rich table cell or title: plain text (``Wordle-v0[easy]`` is not markup)
    with its control characters escaped (:func:`terminal_text`), a tab too (``\\t``: rich
    measured it as no width but drew it wider, so a label holding one was cut with an ellipsis)."""
    return Text(terminal_text(text).replace("\t", "\\t"))
