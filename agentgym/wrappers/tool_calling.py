"""Run the tool calls in an agent's action against the environment's tools."""

from __future__ import annotations

from typing import Any, Sequence

import gymnasium as gym
from gymnasium.error import ResetNeeded

from agentgym.core import is_int, own_copy
from agentgym.info import ErrorKind
from agentgym.tools.calls import ParsedAction, ToolCall, clip
from agentgym.tools.formats import DEFAULT_FORMATS, parse_action, resolve_formats
from agentgym.tools.invoke import ToolOutcome, invoke, unknown_tool
from agentgym.tools.stats import ToolStats
from agentgym.wrappers._shown import answered_like


class ToolCalling(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Carry out the agent's tool calls; pass every other action to the environment.

    ``agentgym.make`` adds this wrapper (inside the turn budget) to every environment that has
    tools, unless the caller added one or passed ``tool_calling=False``.

    The action is read with the environment's ``tool_call_formats`` (or ``formats`` given
    here; names or objects of :mod:`agentgym.tools.formats`; default: Hermes/Qwen
    ``<tool_call>`` blocks and OpenAI assistant messages, as a dict or its JSON text):

    * **Tool calls** run, in order, through ``env.unwrapped.call_tool`` (every tool of
      ``all_tools()``: static tools, the environment's ``@tool`` methods, its toolsets'); the
      inner environment is *not* stepped. The observation holds one
      ``<tool_response>...</tool_response>`` block per call, the reward is 0, and ``info``
      carries ``tool_results`` (one ``{"tool_call_id", "name", "arguments", "content", "ok"}``
      per call), ``tool_calls`` (how many calls this step), ``reward_components`` ``{}``,
      ``success`` ``False`` and ``error`` (the first failed call's message, or ``None``;
      ``error_kind`` is then ``ErrorKind.TOOL``). A call fails, without ever raising, when the
      tool is unknown (the message lists the available ones), its arguments do not fit the
      schema (the message names the argument and what it must be), the tool raises
      (:class:`~agentgym.tools.ToolError` or anything else) or runs past its timeout, its
      toolset is closed, or the episode has used up ``max_calls_per_episode``. Results longer
      than ``max_result_chars`` are cut with a visible marker. Calls without an id are named
      ``call_0``, ``call_1``... counting through the episode.
    * **Bounded output**: at most ``max_calls_per_action`` calls of one action run; the rest
      are refused together, as one extra failed result (named after the first refused call)
      saying how many were not run, and ``info["tool_calls_refused"]`` counts them. Names and
      argument lists an error message echoes are cut to 100 characters with an ellipsis and
      their full length. The results' contents together hold at most
      ``max_observation_chars`` characters (later ones are cut with a marker), so the
      observation is at most that plus a few dozen characters of markup per call.
    * **Malformed markup** (invalid JSON, a call without a name, an unclosed or stray tag, an
      empty block, two formats mixed in one action) runs nothing and does not step the
      environment: the observation says what is wrong and shows how a call is written
      (``Tool call error: ... Write each call as ...``), with ``info["error"]`` set,
      ``info["error_kind"]`` ``ErrorKind.FORMAT`` and reward 0.
    * **No tool call**: the text (a message's ``content``, for a message) goes to the inner
      environment's ``step``.

    In a ``{"text", "image"}`` environment the observations of tool steps and of malformed
    markup are that text with the image shown last (a copy), so they stay in its space.

    **Statistics**: every step's ``info["tool_stats"]`` holds the episode's tool use so far
    (calls, errors and seconds by tool; see :class:`~agentgym.tools.stats.ToolStats`) and
    ``info["tool_calls_in_episode"]`` the number of calls. On the step where this wrapper sees
    the episode end (the environment terminates or an inner wrapper truncates) the same summary
    is also ``info["episode"]["tools"]`` (``info["episode"]`` is created if no inner
    :class:`EpisodeStatistics` made it, and an inner one's ``tool_calls`` is completed), so it
    reaches the last turn of a trajectory. A step truncated by a ``TurnLimit`` *outside* this
    wrapper carries the totals in ``info["tool_stats"]``.

    Stacking: tool steps do not reach the inner environment, so a :class:`TurnLimit` inside
    this wrapper does not count them; bound tool use with ``max_calls_per_episode`` or put a
    ``TurnLimit`` outside (as ``agentgym.make`` does). Put :class:`ChatHistory` outside this
    wrapper so it sees the calls and their results. A step after the environment's episode
    ended — even from outside, e.g. ``close`` from another thread — raises ``ResetNeeded``.
    """

    def __init__(
        self,
        env: gym.Env,
        *,
        max_calls_per_episode: int | None = None,
        max_result_chars: int = 10_000,
        max_calls_per_action: int = 16,
        max_observation_chars: int = 50_000,
        formats: Sequence[Any] | None = None,
    ) -> None:
        if max_calls_per_episode is not None and (not is_int(max_calls_per_episode) or max_calls_per_episode < 0):
            raise ValueError(f"max_calls_per_episode must be an integer >= 0 or None, got {max_calls_per_episode!r}")
        for name, value in (("max_result_chars", max_result_chars), ("max_calls_per_action", max_calls_per_action),
                            ("max_observation_chars", max_observation_chars)):
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        gym.utils.RecordConstructorArgs.__init__(
            self, _disable_deepcopy=True, max_calls_per_episode=max_calls_per_episode,
            max_result_chars=max_result_chars, max_calls_per_action=max_calls_per_action,
            max_observation_chars=max_observation_chars, formats=formats)
        super().__init__(env)
        base = env.unwrapped
        declared = getattr(base, "tool_call_formats", DEFAULT_FORMATS) if formats is None else formats
        self.formats = resolve_formats(declared, owner="ToolCalling formats" if formats is not None
                                       else f"{type(base).__name__}.tool_call_formats")
        self.max_calls_per_episode = max_calls_per_episode
        self.max_result_chars = max_result_chars
        self.max_calls_per_action = max_calls_per_action
        self.max_observation_chars = max_observation_chars
        self.calls_this_episode = 0
        self._stats = ToolStats()
        self._done = True
        self._last_observation: Any = None
        self._check_format_tools()

    @property
    def tool_stats(self) -> dict[str, Any]:
        """The current episode's tool statistics (a fresh dict)."""
        return self._stats.summary()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self.calls_this_episode = 0
        self._stats = ToolStats()
        self._done = False
        self._last_observation = own_copy(observation)  # the agent may change its own in place
        return observation, info

    def step(self, action: Any):
        if self._done or not getattr(self.env.unwrapped, "episode_active", True):
            self._done = True
            raise ResetNeeded("call reset() before step(): the episode has ended or not started")
        parsed = parse_action(action, self.formats, first_index=self.calls_this_episode)
        if parsed.error is not None:
            return self._markup_error(parsed)
        if parsed.calls:
            return self._run_calls(parsed.calls)
        observation, reward, terminated, truncated, info = self.env.step(
            action if parsed.text is None else parsed.text
        )
        self._done = terminated or truncated
        self._last_observation = own_copy(observation)  # the agent may change its own in place
        info["tool_calls_in_episode"] = self.calls_this_episode
        info["tool_stats"] = stats = self._stats.summary()
        if self._done:
            episode = info.get("episode")
            if isinstance(episode, dict):
                episode["tool_calls"] = episode.get("tool_calls", 0) + self.calls_this_episode
            else:
                episode = info["episode"] = {}
            episode["tools"] = stats
        return observation, reward, terminated, truncated, info

    # ------------------------------------------------------------------ tool steps
    def _run_calls(self, calls: tuple[ToolCall, ...]):
        names = self._tool_names()
        run, refused = calls[: self.max_calls_per_action], calls[self.max_calls_per_action:]
        results = []
        budget = self.max_observation_chars
        for call in run:
            outcome = self._execute(call)
            self.calls_this_episode += 1
            content, budget = _fit(self._truncate(outcome.content), budget)
            results.append({"tool_call_id": call.id, "name": call.name if call.name in names else clip(call.name),
                            "arguments": call.arguments, "content": content, "ok": outcome.ok})
        if refused:
            self._stats.refused_calls += len(refused)
            note = (f"Error: {len(refused)} more tool call{'s were' if len(refused) > 1 else ' was'} not run: "
                    f"at most {self.max_calls_per_action} tool calls run per action. Make fewer calls at once.")
            first = refused[0]
            results.append({"tool_call_id": first.id, "name": clip(first.name), "arguments": {},
                            "content": _fit(note, max(budget, len(note)))[0], "ok": False})
        observation = answered_like(self._last_observation, "\n".join(
            f"<tool_response>\n{r['content']}\n</tool_response>" for r in results))
        first_failure = next((r["content"] for r in results if not r["ok"]), None)
        info = {"reward_components": {}, "error": first_failure, "success": False,
                "tool_results": results, "tool_calls": len(run), "tool_calls_refused": len(refused),
                "tool_calls_in_episode": self.calls_this_episode, "tool_stats": self._stats.summary()}
        if first_failure is not None:
            info["error_kind"] = ErrorKind.TOOL
        return observation, 0.0, False, False, info

    def _execute(self, call: ToolCall) -> ToolOutcome:
        limit = self.max_calls_per_episode
        if limit is not None and self.calls_this_episode >= limit:
            self._stats.refused_calls += 1
            return ToolOutcome(f"Error: call refused: the limit of {limit} tool calls per episode is used up.",
                               False, 0.0, "refused")
        base = self.env.unwrapped
        call_tool = getattr(base, "call_tool", None)
        if call_tool is not None:
            outcome = call_tool(call.name, call.arguments)
        else:  # a Gymnasium environment with a plain ``tools`` list
            tools = {tool.name: tool for tool in getattr(base, "tools", ())}
            tool = tools.get(call.name)
            outcome = unknown_tool(call.name, list(tools)) if tool is None else invoke(tool, call.arguments)
        self._stats.record(call.name, outcome)
        return outcome

    def _tool_names(self) -> Any:
        base = self.env.unwrapped
        index = getattr(base, "_tool_index", None)
        return index() if index is not None else [tool.name for tool in getattr(base, "tools", ())]

    def _check_format_tools(self) -> None:
        names = list(self._tool_names())
        for fmt in self.formats:
            target = getattr(fmt, "tool", None)
            if target is not None and target not in names:
                from agentgym.core import ConfigError

                raise ConfigError(
                    f"ToolCalling: the {fmt.name!r} call format calls the tool {target!r}, which "
                    f"{type(self.env.unwrapped).__name__} does not have (its tools: {', '.join(names) or 'none'})")

    def _truncate(self, text: str) -> str:
        excess = len(text) - self.max_result_chars
        if excess <= 0:
            return text
        return f"{text[: self.max_result_chars]}\n…[truncated {excess} characters]"

    def _markup_error(self, parsed: ParsedAction):
        self._stats.malformed_actions += 1
        shown = [f for f in self.formats if f.name == parsed.format] or list(self.formats)
        observation = answered_like(self._last_observation, f"Tool call error: {parsed.error}. "
                                    f"Write each call as {' or as '.join(f.example for f in shown)}.")
        info = {"reward_components": {}, "error": parsed.error, "error_kind": ErrorKind.FORMAT, "success": False,
                "tool_calls": 0, "tool_calls_in_episode": self.calls_this_episode,
                "tool_stats": self._stats.summary()}
        return observation, 0.0, False, False, info


def _fit(content: str, budget: int) -> tuple[str, int]:
    """``content`` cut to the ``budget`` of characters left for this step's results, and the
    budget left after it."""
    if len(content) <= budget:
        return content, budget - len(content)
    cut = f"{content[:budget]}\n…[cut {len(content) - budget} characters: this step's tool output is full]"
    return cut, 0
