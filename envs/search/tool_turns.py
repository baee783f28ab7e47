"""The tools format of the search environments: the ``search``/``open``/``answer`` tools and
the tool-calling wrapper that makes a tool step a full turn of the environment.

:class:`~agentgym.wrappers.ToolCalling` runs tool calls without stepping the environment, so
on its own a tool step would carry none of the search fields (``retrieved``, ``queries``...)
that reward providers read, and an ``answer`` call could not end the episode.
:class:`SearchToolCalling` closes the environment's turn after every step the environment did
not see itself (tool steps and markup errors): it adds the turn's fields to ``info``, and when
the turn answered or used up the turn budget it ends the episode there (``terminated``, the
``outcome`` reward, ``success``, the episode's summary in ``info["episode"]`` with the tool
statistics under ``"tools"``). Steps the environment saw (replies without a tool call) pass
through unchanged. ``agentgym.make`` adds no second ``ToolCalling`` around it.
"""

from __future__ import annotations

from typing import Any

from agentgym.tools import Toolset, tool
from agentgym.wrappers import ToolCalling


class SearchTools(Toolset):
    """``search``, ``open`` and ``answer``: thin tools over the episode's environment (injected
    as ``env``), which keeps the episode's state."""

    @tool(inject=("env",))
    def search(self, query: str, env: Any) -> str:
        """Search the encyclopedia and return the best matching documents: their ids, titles and
        a passage of each.

        Args:
            query: what to search for, e.g. a name or a few keywords.
        """
        return env.tool_search(query)

    @tool(name="open", inject=("env",))
    def open_document(self, doc_id: str, env: Any) -> str:
        """Read a whole document.

        Args:
            doc_id: the document's id, as a search result shows it in square brackets.
        """
        return env.tool_open(doc_id)

    @tool(inject=("env",))
    def answer(self, text: str, env: Any) -> str:
        """Give the final answer (short, without explanation); this ends the episode.

        Args:
            text: the answer.
        """
        return env.tool_answer(text)


class SearchToolCalling(ToolCalling):
    """:class:`~agentgym.wrappers.ToolCalling` for a search environment in the tools format;
    see the module docstring. Takes ``ToolCalling``'s arguments."""

    @property
    def spec(self) -> Any:
        """The environment's spec: this wrapper is part of the registered entry point
        (:func:`~agentgym.envs.search.env.search_tools_env`), so ``gymnasium.make(env.spec)``
        rebuilds it without listing it as an extra wrapper, and a live object among the
        arguments (a retriever) needs no copy."""
        return self.env.spec

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = super().step(action)
        if "retrieved" in info:  # the environment was stepped and closed its own turn
            return observation, reward, terminated, truncated, info
        env = self.env.unwrapped
        feedback = env.close_tool_turn(observation)
        info.update(feedback.info or {})
        if not feedback.terminated:
            return feedback.observation, reward, terminated, truncated, info
        env.end_episode()
        info["reward_components"] = dict(feedback.rewards)
        info["success"] = feedback.success
        info.setdefault("episode", {})["tools"] = self.tool_stats
        return feedback.observation, float(sum(feedback.rewards.values())), True, False, info

