"""Rollouts: many environments against one policy, recorded as token-exact trajectories."""

from agentgym.rollout.engine import RolloutConfig, RolloutResult, Task, arollout, rollout
from agentgym.rollout.transcript import Span, TokenTranscript

__all__ = ["RolloutConfig", "RolloutResult", "Span", "Task", "TokenTranscript", "arollout", "rollout"]
