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
:class:`EnvHints`           what oracle and random policies need, as data in ``info``
:class:`Hinted`             each observation ends with the environment's hint (guidance)
==========================  ==============================================================

Wrappers can also be described as data, so that an environment server or a Ray actor builds
the same stack: :class:`WrapperSpec` (``WrapperSpec("AnswerFormat", {"format": "boxed"})``) names
a wrapper registered with :func:`register_wrapper`; agentgym's own are registered under their
class names (``TrajectoryRecorder``, which writes files, cannot be asked for by a server's client).
Each wrapper but ``TrajectoryRecorder`` also records its arguments as Gymnasium's wrappers do
(``gymnasium.utils.RecordConstructorArgs``), so ``gymnasium.make(env.spec)`` (and ``check_env``)
rebuild a stack made by ``agentgym.make``.

``agentgym.make(id)`` returns ``TurnLimit(env)`` (plus ``EpisodeStatistics`` on top with
``episode_statistics=True``); for an environment that declares tools it puts a ``ToolCalling``
inside the turn budget by itself (``tool_calling=False`` opts out). Wrappers that answer some
actions without stepping the game — ``AnswerFormat``, ``ToolCalling`` — belong *inside* the turn
budget so those actions use up turns: pass them as ``make(id, wrappers=[AnswerFormat,
ToolCalling])`` (innermost first; tool calls are not answers). ``TrajectoryRecorder`` and ``ChatHistory`` go outside, as they must see
the agent's raw action::

    env = agentgym.make("games/GuessTheNumber-v0", wrappers=[AnswerFormat, ToolCalling])
    env = ChatHistory(TrajectoryRecorder(env, "runs.jsonl"))
"""

from agentgym.wrappers.answer_format import AnswerFormat
from agentgym.wrappers.chat_history import ChatHistory
from agentgym.wrappers.env_hints import EnvHints
from agentgym.wrappers.episode_statistics import EpisodeStatistics
from agentgym.wrappers.hinted import Hinted
from agentgym.wrappers.recorder import TrajectoryRecorder
from agentgym.wrappers.specs import WrapperSpec, register_wrapper, registered_wrappers
from agentgym.wrappers.tool_calling import ToolCalling
from agentgym.wrappers.turn_limit import TurnLimit

for _wrapper in (AnswerFormat, ChatHistory, EnvHints, EpisodeStatistics, Hinted, ToolCalling, TurnLimit):
    register_wrapper(_wrapper.__name__, _wrapper)
register_wrapper("TrajectoryRecorder", TrajectoryRecorder, remote_safe=False)
del _wrapper

__all__ = [
    "AnswerFormat",
    "ChatHistory",
    "EnvHints",
    "EpisodeStatistics",
    "Hinted",
    "ToolCalling",
    "TrajectoryRecorder",
    "TurnLimit",
    "WrapperSpec",
    "register_wrapper",
    "registered_wrappers",
]
