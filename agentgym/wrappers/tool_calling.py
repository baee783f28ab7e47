"""Run the tool calls in an agent's action against the environment's tools."""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
from gymnasium.error import ResetNeeded

from agentgym.info import ErrorKind
from agentgym.tool_calls import OPEN_TAG, ToolCall, echo, parse_tool_calls
from agentgym.tools import Tool, ToolError


class ToolCalling(gym.Wrapper):
    """Carry out the agent's tool calls; pass every other action to the environment.

    The action is parsed with :func:`agentgym.tool_calls.parse_tool_calls` (Hermes/Qwen
    ``<tool_call>`` blocks, or an OpenAI assistant message as a dict or its JSON text):

    * **Tool calls** run, in order, against ``env.unwrapped.tools``; the inner environment is
      *not* stepped. The observation holds one ``<tool_response>...</tool_response>`` block per
      call, the reward is 0, and ``info`` carries ``tool_results`` (one
      ``{"tool_call_id", "name", "arguments", "content", "ok"}`` per call), ``tool_calls`` (how
      many calls this step), ``reward_components`` ``{}``, ``success`` ``False`` and ``error``
      (the first failed call's message, or ``None``; ``error_kind`` is then
      ``ErrorKind.TOOL``). A call fails, without ever raising, when
      the tool is unknown (the message lists the available ones), its arguments do not fit
      :meth:`Tool.check_arguments`, the tool raises (:class:`ToolError` or anything else), or the
      episode has used up ``max_calls_per_episode``. Results longer than ``max_result_chars``
      are cut with a visible marker. Calls without an id are named ``call_0``, ``call_1``...
      counting through the episode.
    * **Bounded output**: at most ``max_calls_per_action`` calls of one action run; the rest
      are refused together, as one extra failed result (named after the first refused call)
      saying how many were not run, and ``info["tool_calls_refused"]`` counts them. Names and
      argument lists an error message echoes are cut to 100 characters with an ellipsis and
      their full length. The results' contents together hold at most
      ``max_observation_chars`` characters (later ones are cut with a marker), so the
      observation is at most that plus a few dozen characters of markup per call.
    * **Malformed markup** (invalid JSON, a call without a name, an unclosed tag) runs nothing
      and does not step the environment: an error observation explains the format, with
      ``info["error"]`` set, ``info["error_kind"]`` ``ErrorKind.FORMAT`` and reward 0.
    * **No tool call**: the text (a message's ``content``, for a message) goes to the inner
      environment's ``step``.

    Stacking: tool steps do not reach the inner environment, so a :class:`TurnLimit` inside
    this wrapper does not count them; bound tool use with ``max_calls_per_episode`` or put a
    ``TurnLimit`` outside. When an inner :class:`EpisodeStatistics` summarises the episode,
    this wrapper adds its calls to ``info["episode"]["tool_calls"]``. Put :class:`ChatHistory`
    outside this wrapper so it sees the calls and their results.
    """

    def __init__(
        self,
        env: gym.Env,
        *,
        max_calls_per_episode: int | None = None,
        max_result_chars: int = 10_000,
        max_calls_per_action: int = 16,
        max_observation_chars: int = 50_000,
    ) -> None:
        if max_calls_per_episode is not None and (not _is_int(max_calls_per_episode) or max_calls_per_episode < 0):
            raise ValueError(f"max_calls_per_episode must be an integer >= 0 or None, got {max_calls_per_episode!r}")
        for name, value in (("max_result_chars", max_result_chars), ("max_calls_per_action", max_calls_per_action),
                            ("max_observation_chars", max_observation_chars)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        super().__init__(env)
        self.max_calls_per_episode = max_calls_per_episode
        self.max_result_chars = max_result_chars
        self.max_calls_per_action = max_calls_per_action
        self.max_observation_chars = max_observation_chars
        self.calls_this_episode = 0
        self._done = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self.calls_this_episode = 0
        self._done = False
        return observation, info

    def step(self, action: Any):
        if self._done:
            raise ResetNeeded("call reset() before step(): the episode has ended or not started")
        parsed = parse_tool_calls(action, first_index=self.calls_this_episode)
        if parsed.error is not None:
            return self._markup_error(parsed.error)
        if parsed.calls:
            return self._run_calls(parsed.calls)
        observation, reward, terminated, truncated, info = self.env.step(
            action if parsed.text is None else parsed.text
        )
        self._done = terminated or truncated
        info["tool_calls_in_episode"] = self.calls_this_episode
        if isinstance(info.get("episode"), dict):
            info["episode"]["tool_calls"] = info["episode"].get("tool_calls", 0) + self.calls_this_episode
        return observation, reward, terminated, truncated, info

    # ------------------------------------------------------------------ tool steps
    def _run_calls(self, calls: tuple[ToolCall, ...]):
        tools = {tool.name: tool for tool in self.env.unwrapped.tools}
        run, refused = calls[: self.max_calls_per_action], calls[self.max_calls_per_action:]
        results = []
        budget = self.max_observation_chars
        for call in run:
            content, ok = self._execute(call, tools)
            self.calls_this_episode += 1
            content, budget = _fit(content, budget)
            known = call.name in tools
            results.append({"tool_call_id": call.id, "name": call.name if known else _clip(call.name),
                            "arguments": call.arguments, "content": content, "ok": ok})
        if refused:
            note = (f"Error: {len(refused)} more tool call{'s were' if len(refused) > 1 else ' was'} not run: "
                    f"at most {self.max_calls_per_action} tool calls run per action. Make fewer calls at once.")
            first = refused[0]
            results.append({"tool_call_id": first.id, "name": _clip(first.name), "arguments": {},
                            "content": _fit(note, max(budget, len(note)))[0], "ok": False})
        observation = "\n".join(f"<tool_response>\n{r['content']}\n</tool_response>" for r in results)
        first_failure = next((r["content"] for r in results if not r["ok"]), None)
        info = {"reward_components": {}, "error": first_failure, "success": False,
                "tool_results": results, "tool_calls": len(run), "tool_calls_refused": len(refused),
                "tool_calls_in_episode": self.calls_this_episode}
        if first_failure is not None:
            info["error_kind"] = ErrorKind.TOOL
        return observation, 0.0, False, False, info

    def _execute(self, call: ToolCall, tools: dict[str, Tool]) -> tuple[str, bool]:
        limit = self.max_calls_per_episode
        if limit is not None and self.calls_this_episode >= limit:
            return f"Error: call refused: the limit of {limit} tool calls per episode is used up.", False
        tool = tools.get(call.name)
        if tool is None:
            available = ", ".join(sorted(tools)) or "none (this environment has no tools)"
            return f"Error: unknown tool {echo(call.name)}. Available tools: {available}.", False
        problem = tool.check_arguments(call.arguments)
        if problem is not None:  # it may list the agent's argument names: keep it short
            return f"Error: {_clip(problem, 4 * ECHO_LIMIT)}.", False
        try:
            value = tool.fn(**call.arguments)
        except ToolError as exc:
            return self._truncate(f"Error: {exc}"), False
        except Exception as exc:  # noqa: BLE001 - a broken tool is the agent's news, not a crash
            return self._truncate(f"Error: {call.name} failed: {type(exc).__name__}: {exc}"), False
        return self._truncate(_render(value)), True

    def _truncate(self, text: str) -> str:
        excess = len(text) - self.max_result_chars
        if excess <= 0:
            return text
        return f"{text[: self.max_result_chars]}\n…[truncated {excess} characters]"

    def _markup_error(self, error: str):
        observation = (
            f"Tool call error: {error}. Write each call as "
            f'{OPEN_TAG}{{"name": "tool_name", "arguments": {{...}}}}</tool_call>.'
        )
        info = {"reward_components": {}, "error": error, "error_kind": ErrorKind.FORMAT, "success": False,
                "tool_calls": 0}
        return observation, 0.0, False, False, info


ECHO_LIMIT = 100


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis and its full length."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _fit(content: str, budget: int) -> tuple[str, int]:
    """``content`` cut to the ``budget`` of characters left for this step's results, and the
    budget left after it."""
    if len(content) <= budget:
        return content, budget - len(content)
    cut = f"{content[:budget]}\n…[cut {len(content) - budget} characters: this step's tool output is full]"
    return cut, 0


def _render(value: Any) -> str:
    """A tool's return value as text: JSON for containers (models read it best), else ``str``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):  # circular structures
            pass
    return str(value)
