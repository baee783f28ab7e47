"""Reward providers: per-turn reward components computed from finished trajectories.

Each provider writes one named component into every turn's ``reward_components`` and keeps
``turn.reward`` their sum; :class:`CombinedReward` weighs several (see :mod:`.base`)::

    rewards = CombinedReward([(InformationGainReward(model, tokenizer), 1.0),
                              (FormatPenalty(0.1), 1.0), (ToolCallCost(0.01), 1.0)])
    rewards(result.trajectories)

:class:`InformationGainReward` needs torch and transformers; it is imported on first use, so
the rest works with the core install.
"""

from __future__ import annotations

from agentgym.lazy import lazy_exports
from agentgym.rewards.base import CombinedReward, RewardProvider, component_means, write_component
from agentgym.rewards.cost import ToolCallCost
from agentgym.rewards.gui import (
    GuiActionReward,
    GuiActionTypeReward,
    GuiBoxIoUReward,
    GuiClickReward,
    GuiFormatReward,
    GuiG1Reward,
    GuiGaussianCoverageReward,
    GuiGaussianPointReward,
    GuiTextReward,
    GuiTieredDistanceReward,
)
from agentgym.rewards.judge import Criterion, ParsedScores, RubricJudge, parse_scores
from agentgym.rewards.redundancy import RedundancyPenalty, normalize_query, tool_call_keys
from agentgym.rewards.shaping import FormatPenalty, ToolUseShaping, action_error_kind, tool_results
from agentgym.rewards.search import (
    AnswerMatchReward,
    RetrievalRedundancyPenalty,
    SearchCost,
    SearchFormatReward,
    StepInformationGain,
    exact_match,
    normalise_answer,
    token_f1,
)
from agentgym.rewards.shapley import (
    ShapleyInformationGain,
    shapley_brute_force,
    shapley_monte_carlo,
    shapley_values,
)
from agentgym.rewards.toolrl import ToolRLReward

_LAZY_EXPORTS = {
    "InformationGainReward": "agentgym.rewards.info_gain",
    "UnscorableTrajectory": "agentgym.rewards.info_gain",
    "brute_force_values": "agentgym.rewards.info_gain",
}


__getattr__ = lazy_exports(__name__, _LAZY_EXPORTS)


__all__ = [
    "GuiActionReward",
    "GuiActionTypeReward",
    "GuiBoxIoUReward",
    "GuiClickReward",
    "GuiFormatReward",
    "GuiG1Reward",
    "GuiGaussianCoverageReward",
    "GuiGaussianPointReward",
    "GuiTextReward",
    "GuiTieredDistanceReward",
    "AnswerMatchReward",
    "RetrievalRedundancyPenalty",
    "SearchCost",
    "SearchFormatReward",
    "StepInformationGain",
    "exact_match",
    "normalise_answer",
    "token_f1",
    "CombinedReward",
    "Criterion",
    "FormatPenalty",
    "InformationGainReward",
    "ParsedScores",
    "RedundancyPenalty",
    "RewardProvider",
    "RubricJudge",
    "ShapleyInformationGain",
    "ToolCallCost",
    "ToolRLReward",
    "ToolUseShaping",
    "UnscorableTrajectory",
    "action_error_kind",
    "brute_force_values",
    "component_means",
    "normalize_query",
    "parse_scores",
    "shapley_brute_force",
    "shapley_monte_carlo",
    "shapley_values",
    "tool_call_keys",
    "tool_results",
    "write_component",
]
