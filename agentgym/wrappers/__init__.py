"""Wrappers: each one behaviour, composable in any order that makes sense.

==========================  ==============================================================
:class:`TurnLimit`          truncate after ``max_turns`` actions
:class:`EpisodeStatistics`  ``info["episode"]`` summary when an episode ends
:class:`AnswerFormat`       the move must sit in ``<answer>`` tags, ``\\boxed{}`` or a regex;
                            only the move reaches the environment, a missing one is penalised
:class:`ToolCalling`        run Hermes/Qwen or OpenAI-style tool calls against the
                            environment's tools; other actions go to the environment
:class:`ChatHistory`        the chat messages the policy reads (``info["messages"]``), tool
                            messages included, kept within a context budget
:class:`TrajectoryRecorder` record each episode as a ``Trajectory`` (memory and JSONL)
==========================  ==============================================================

``agentgym.make(id)`` returns ``EpisodeStatistics(TurnLimit(env))``; stack the others on top,
innermost first: ``AnswerFormat``, then ``ToolCalling`` (tool calls are not answers), then
``TrajectoryRecorder`` and ``ChatHistory`` (both must see the agent's raw action)::

    env = agentgym.make("games/GuessTheNumber-v0")
    env = ChatHistory(TrajectoryRecorder(ToolCalling(AnswerFormat(env)), "runs.jsonl"))

``AnswerFormat`` and ``ToolCalling`` answer some actions without stepping the environment
below them, so a ``TurnLimit`` inside them does not count those actions; wrap the stack in a
``TurnLimit`` of its own when they should use up turns.
"""

from agentgym.wrappers.answer_format import AnswerFormat
from agentgym.wrappers.chat_history import ChatHistory
from agentgym.wrappers.episode_statistics import EpisodeStatistics
from agentgym.wrappers.recorder import TrajectoryRecorder
from agentgym.wrappers.tool_calling import ToolCalling
from agentgym.wrappers.turn_limit import TurnLimit

__all__ = [
    "AnswerFormat",
    "ChatHistory",
    "EpisodeStatistics",
    "ToolCalling",
    "TrajectoryRecorder",
    "TurnLimit",
]
