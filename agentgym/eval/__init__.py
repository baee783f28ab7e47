"""Evaluation of agents on suites of environments."""

from agentgym.eval.runner import EnvResult, evaluate
from agentgym.eval.table import results_table

__all__ = ["EnvResult", "evaluate", "results_table"]
