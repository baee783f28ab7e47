"""Benchmarking policies on suites of environments.

:func:`evaluate` rolls a policy out on a suite and writes a run directory (trajectories,
``results.json``, Markdown and HTML reports); :mod:`~agentgym.eval.metrics` holds the metrics
(success with Wilson intervals, pass@k, avg@k...); :mod:`~agentgym.eval.compare` puts runs side
by side; :func:`summarise_run` (re)writes a run's results and reports from its trajectories,
also for a run that was interrupted. matplotlib, for the plots, is imported only when a report is drawn.
"""

from agentgym.eval.compare import load_runs, markdown_comparison, rich_comparison
from agentgym.eval.evaluate import Evaluation, evaluate, suite_tasks, summarise_run
from agentgym.eval.metrics import Metrics, pass_at_k, summarize, wilson_interval
from agentgym.eval.report import Report, write_report
from agentgym.eval.results import RunResults, load_results

__all__ = [
    "Evaluation",
    "Metrics",
    "Report",
    "RunResults",
    "evaluate",
    "load_results",
    "load_runs",
    "markdown_comparison",
    "pass_at_k",
    "rich_comparison",
    "suite_tasks",
    "summarise_run",
    "summarize",
    "wilson_interval",
    "write_report",
]
