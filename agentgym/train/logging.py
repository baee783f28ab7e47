"""Where training metrics go: a live console table, JSONL, TensorBoard, Weights & Biases.

:class:`MetricsLogger` takes one flat dict of numbers per step (``{"step": 3, "reward/mean":
0.5, ...}``) and hands it to each sink that is switched on:

* console: a table of the latest steps (a live, redrawn table on a terminal; one aligned line
  per step otherwise, e.g. in CI logs);
* ``metrics.jsonl``: one JSON object per line (strict JSON: NaN and infinities as strings),
  appended and flushed each step (on resume the file is first replaced, atomically, by one
  written from the checkpoint's history, so it never holds steps the resumed run will redo);
  :func:`read_metrics` reads it back, those strings as floats again, skipping the partial last
  line a killed run may leave;
* TensorBoard (``torch.utils.tensorboard``) under ``tensorboard/``;
* Weights & Biases (``wandb``), with the configuration attached.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

# (metric key, column title, format)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("step", "step", "{:.0f}"),
    ("reward/mean", "reward", "{:.3f}"),
    ("success/train", "success", "{:.0%}"),
    ("eval/success", "eval", "{:.0%}"),
    ("health/zero_variance_group_fraction", "zero-var", "{:.0%}"),
    ("train/entropy", "entropy", "{:.3f}"),
    ("train/kl", "KL", "{:.4f}"),
    ("train/grad_norm", "grad", "{:.3f}"),
    ("train/clip_fraction", "clip", "{:.1%}"),
    ("health/mean_turns", "turns", "{:.2f}"),
    ("health/mean_response_tokens", "tokens", "{:.1f}"),
    ("optimizer/lr", "lr", "{:.1e}"),
    ("time/step_seconds", "s", "{:.1f}"),
)
_LIVE_ROWS = 20
METRICS_FILE = "metrics.jsonl"


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` (or of the run directory holding one), in order, with
    NaN and infinities (written as the strings ``"nan"``, ``"inf"``, ``"-inf"``) back as floats. A
    last line without its newline, cut off by a killed run, is skipped; any other line that is
    not a JSON object raises ``ValueError`` naming the line."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    *complete, _after_last_newline = path.read_text(encoding="utf-8").split("\n")  # "" or a cut-off line
    records = []
    for number, line in enumerate(complete, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number} is not a JSON line: {exc}") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{number} is not a JSON object")
        records.append(float_numbers(record))
    return records


class MetricsLogger:
    """Sends each step's metrics to the sinks switched on (module docstring).

    Args:
        out_dir: the run directory.
        console / jsonl / tensorboard / wandb: which sinks.
        run_name: the run's label (wandb).
        config: the configuration, for wandb.
        wandb_project / wandb_entity: where wandb logs.
        history: metrics of earlier steps (a resumed run): ``metrics.jsonl`` is rewritten from
            them.
        stream: the console's output (default: standard output).

    When a sink fails to start (``wandb.init`` not logged in, a TensorBoard folder that cannot
    be made), those already started (the live table, ``metrics.jsonl``) are stopped before the
    error is raised.
    """

    def __init__(self, out_dir: str | Path, *, console: bool = True, jsonl: bool = True, tensorboard: bool = False,
                 wandb: bool = False, run_name: str = "agentgym-train", config: dict[str, Any] | None = None,
                 wandb_project: str = "agentgym", wandb_entity: str | None = None,
                 history: list[dict[str, Any]] | None = None, stream: Any = None) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._console = self._jsonl = self._tensorboard = self._wandb = None
        try:
            self._console = _ConsoleTable(stream) if console else None
            if jsonl:
                path = self.out_dir / METRICS_FILE
                staging = path.with_name(path.name + ".tmp")
                with open(staging, "w", encoding="utf-8") as file:
                    for record in history or []:
                        file.write(json.dumps(json_numbers(record)) + "\n")
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(staging, path)  # a crash meanwhile leaves the old file whole
                self._jsonl = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held until close()
            if tensorboard:
                from torch.utils.tensorboard import SummaryWriter

                self._tensorboard = SummaryWriter(str(self.out_dir / "tensorboard"))
            if wandb:
                import wandb as wandb_module

                self._wandb = wandb_module.init(project=wandb_project, entity=wandb_entity, name=run_name,
                                                config=config or {}, dir=str(self.out_dir), resume="allow")
        except BaseException:  # a sink that fails to start (wandb not logged in): stop those started
            self.close()
            raise

    @property
    def is_live(self) -> bool:
        """True when the console table redraws in place (then nothing else may draw)."""
        return self._console is not None and self._console.live is not None

    @property
    def console(self) -> Console | None:
        """The rich console the table is drawn on (``None`` without the console sink); other
        displays (the rollout progress) share it, so that rich draws them beneath the table."""
        return self._console.console if self._console is not None else None

    def log(self, metrics: dict[str, float]) -> None:
        step = int(metrics["step"])
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(json_numbers(metrics)) + "\n")
            self._jsonl.flush()
        if self._tensorboard is not None:
            for key, value in metrics.items():
                if key != "step" and _finite(value):
                    self._tensorboard.add_scalar(key, value, step)
            self._tensorboard.flush()
        if self._wandb is not None:
            self._wandb.log({k: v for k, v in metrics.items() if k != "step"}, step=step)
        if self._console is not None:
            self._console.add(metrics)

    def message(self, text: str) -> None:
        """A line of text for the console (above the live table)."""
        if self._console is not None:
            self._console.console.print(text, highlight=False, soft_wrap=True, markup=False)

    def close(self) -> None:
        if self._console is not None:
            self._console.close()
        if self._jsonl is not None:
            self._jsonl.close()
        if self._tensorboard is not None:
            self._tensorboard.close()
        if self._wandb is not None:
            self._wandb.finish()


class _ConsoleTable:
    """The latest steps as a table: live on a terminal, one line per step elsewhere."""

    def __init__(self, stream: Any = None) -> None:
        stream = stream or sys.stdout
        terminal = hasattr(stream, "isatty") and stream.isatty()
        self.console = Console(file=stream, width=None if terminal else 160)
        self.rows: list[dict[str, float]] = []
        self.live = Live(self._table(), console=self.console, auto_refresh=False) if terminal else None
        if self.live is not None:
            self.live.start()
        self._header_printed = False

    def add(self, metrics: dict[str, float]) -> None:
        self.rows = (self.rows + [metrics])[-_LIVE_ROWS:]
        if self.live is not None:
            self.live.update(self._table(), refresh=True)
            return
        if not self._header_printed:
            self.console.print("  ".join(f"{title:>9}" for _, title, _ in COLUMNS), highlight=False)
            self._header_printed = True
        self.console.print("  ".join(f"{_cell(metrics, key, fmt):>9}" for key, _, fmt in COLUMNS), highlight=False)

    def _table(self) -> Table:
        table = Table(title="training", expand=False)
        for _, title, _ in COLUMNS:
            table.add_column(title, justify="right")
        for row in self.rows:
            table.add_row(*(_cell(row, key, fmt) for key, _, fmt in COLUMNS))
        return table

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


def _cell(metrics: dict[str, float], key: str, fmt: str) -> str:
    value = metrics.get(key)
    return fmt.format(value) if _finite(value) else "·"


def _finite(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def json_numbers(metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` with NaN and infinities as the strings ``"nan"``, ``"inf"``, ``"-inf"`` (JSON
    has no literal for them; Python's ``json`` writes bare ``NaN``, which other readers refuse),
    and NumPy's numbers (``np.float32(0.5)``, ``np.int64(3)``, which ``json`` refuses) as Python's."""
    return {k: _json_number(v) for k, v in metrics.items()}


def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else str(value)


def float_numbers(record: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`json_numbers`: ``"nan"``, ``"inf"``, ``"-inf"`` back to floats."""
    return {k: (float(v) if isinstance(v, str) and v in _NON_FINITE else v) for k, v in record.items()}


_NON_FINITE = ("nan", "inf", "-inf")
