"""The tools format of the clinical interview: ``ask``, ``order_test`` and ``diagnose``, and the
tool-calling wrapper that makes a tool step a full turn of the interview.

:class:`~agentgym.wrappers.ToolCalling` runs tool calls without stepping the environment, so
on its own a tool step would carry none of the interview's fields (``revealed``,
``responder``, the ``test_cost`` reward) and a ``diagnose`` call could not end the episode.
:class:`ClinicalToolCalling` closes the environment's turn after every step the environment
did not see itself (tool steps and markup errors): it adds the turn's fields to ``info``, sets
the reward from the turn's components, and when the turn diagnosed or used up the turn budget
it ends the episode there (``terminated``, ``outcome``, ``success``, the tool statistics under
``info["episode"]["tools"]``). One clinical action per turn: a second call of these tools in the
same step is refused (a failed result) and uses nothing. Steps the environment saw (replies
without a tool call: a format error) pass through unchanged. ``agentgym.make`` adds no second
``ToolCalling`` around it.
"""

from __future__ import annotations

from typing import Any

from agentgym.tools import Toolset, tool
from agentgym.wrappers import ToolCalling


class ClinicalTools(Toolset):
    """``ask``, ``order_test`` and ``diagnose``: thin tools over the episode's environment
    (injected as ``env``), which keeps the episode's state."""

    @tool(inject=("env",))
    def ask(self, question: str, env: Any) -> str:
        """Ask the patient a question about their symptoms or history, or examine them (for
        example "Do you have a fever?" or "May I look at your throat?"). Uses one turn.

        Args:
            question: the question, in plain words.
        """
        return env.tool_ask(question)

    @tool(inject=("env",))
    def order_test(self, name: str, env: Any) -> str:
        """Order a test and read its result; its cost is subtracted from the reward. Uses one turn.

        Args:
            name: the test's name, e.g. "blood count" or "chest x-ray".
        """
        return env.tool_order_test(name)

    @tool(inject=("env",))
    def diagnose(self, condition: str, env: Any) -> str:
        """Give the final diagnosis; this ends the visit.

        Args:
            condition: the condition's name, e.g. "influenza".
        """
        return env.tool_diagnose(condition)


class ClinicalToolCalling(ToolCalling):
    """:class:`~agentgym.wrappers.ToolCalling` for the clinical interview in the tools format;
    see the module docstring. Takes ``ToolCalling``'s arguments."""

    @property
    def spec(self) -> Any:
        """The environment's spec: this wrapper is part of the registered entry point
        (:func:`~agentgym.envs.dialogue.clinical.env.clinical_tools_env`), so
        ``gymnasium.make(env.spec)`` rebuilds it without listing it as an extra wrapper."""
        return self.env.spec

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = super().step(action)
        if "revealed" in info:  # the environment was stepped and closed its own turn
            return observation, reward, terminated, truncated, info
        env = self.env.unwrapped
        feedback = env.close_tool_turn()
        info.update(feedback.info or {})
        if feedback.rewards:
            info["reward_components"] = dict(feedback.rewards)
            reward = float(sum(feedback.rewards.values()))
        if not feedback.terminated:
            return observation, reward, terminated, truncated, info
        env.end_episode()
        info["success"] = feedback.success
        info.setdefault("episode", {})["tools"] = self.tool_stats
        return observation, reward, True, False, info
