"""Wrappers: each one behaviour, composable in any order that makes sense.

======================  ==============================================================
:class:`TurnLimit`      truncate after ``max_turns`` actions
:class:`EpisodeStatistics`  ``info["episode"]`` summary when an episode ends
======================  ==============================================================
"""

from agentgym.wrappers.episode_statistics import EpisodeStatistics
from agentgym.wrappers.turn_limit import TurnLimit

__all__ = ["EpisodeStatistics", "TurnLimit"]
