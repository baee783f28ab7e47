"""Keep the conversation a chat policy reads, within a context budget."""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal

import gymnasium as gym
import numpy as np

from agentgym.core import ConfigError, check_flag, is_int
from agentgym.tool_calls import ToolCall, message_text, parse_tool_calls
from agentgym.tools.formats import parse_action
from agentgym.wrappers.tool_calling import ToolCalling

DEFAULT_SYSTEM_PROMPT = (
    "You are an agent acting in an interactive environment. Each turn you read the result of "
    "your last action and reply with your next action. Think as much as helps, then give your "
    "action in exactly the format the task asks for."
)

Message = dict[str, Any]
_NOTE_SEPARATOR = "\n\n"  # between the first user message and the dropped-turns note


@dataclass(frozen=True)
class _Entry:
    """A message, its measured size, and its elided form (``None`` when it cannot shrink)."""

    message: Message
    size: int
    elided: _Entry | None = None


class ChatHistory(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Build the chat messages the policy sees, in ``info["messages"]`` and :attr:`messages`.

    The conversation is:

    1. ``{"role": "system", "content": system_prompt}`` (left out when ``system_prompt`` is
       ``None``, for models without a system role);
    2. a user message with ``info["instructions"]`` from ``reset`` and the first observation;
    3. for each step, a *turn*: the action as an assistant message, then the next observation
       as a user message. On a tool step (``info["tool_results"]`` set by
       :class:`ToolCalling`, which must sit inside this wrapper) the assistant message carries
       OpenAI-style ``tool_calls`` and its ``content`` is the action's prose without the
       tool-call markup (``<tool_call>``, or that of the formats the ToolCalling reads:
       ``<sql>``, ``<python>``...); each result becomes a ``{"role": "tool", "tool_call_id",
       "name", "content"}`` message in place of the user message.

    Observations that are ``{"text", "image"}`` dicts become content parts
    ``[{"type": "text", "text": ...}, {"type": "image", "image": <array>}]``. Every
    ``info["messages"]`` (and every read of :attr:`messages`) is a new list of new message dicts:
    later steps never change a list handed out before.

    **Context budget.** Give ``max_context_chars``, or ``max_context_tokens`` with
    ``count_tokens`` (e.g. ``lambda s: len(tokenizer.encode(s))``). A message's size is the
    size of its text (a tool call's name and arguments included; images count 0), summed over
    messages; chat-template tokens are not counted, so leave a margin. While the conversation is
    over budget:

    * ``overflow="elide"`` first shortens observation messages (user and tool messages) of old
      turns, oldest first, to their first and last ``elide_keep_chars // 2`` characters around
      a ``"…[1234 characters elided]…"`` marker, stopping as soon as the conversation fits;
      then, if it still does not, drops turns as below.
    * ``overflow="drop"`` drops the oldest whole turns (an assistant message with the
      observation or tool messages after it) and appends one note,
      ``"[4 earlier turns omitted to fit the context budget]"``, to the end of the first user
      message: where the dropped turns were, without two user messages in a row (which some
      chat templates reject). The note counts against the budget.

    The system message, the first user message and the latest turn are always kept whole. If
    they alone exceed the budget they are returned anyway, with ``info["context_overflow"]``
    ``True``; it is ``False`` otherwise. The full history stays stored, so the view is rebuilt
    from all turns at every step.

    **Raw assistant messages.** With ``raw_assistant=True`` a tool step's assistant message keeps
    the action text as it was written, ``<tool_call>`` markup included, and has no
    ``tool_calls``: rendering the conversation with a chat template then reproduces exactly the
    text the model generated, which token-exact rollouts need. An action that is an assistant
    message dict with native ``tool_calls`` keeps those calls as written (a call without an
    ``id`` gets the one its tool message answers), so the calls stay in the conversation.
    """

    def __init__(
        self,
        env: gym.Env,
        *,
        system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
        max_context_chars: int | None = None,
        max_context_tokens: int | None = None,
        count_tokens: Callable[[str], int] | None = None,
        overflow: Literal["drop", "elide"] = "drop",
        elide_keep_chars: int = 200,
        raw_assistant: bool = False,
    ) -> None:
        if overflow not in ("drop", "elide"):
            raise ValueError(f"overflow must be 'drop' or 'elide', got {overflow!r}")
        if max_context_chars is not None and max_context_tokens is not None:
            raise ValueError("give max_context_chars or max_context_tokens, not both")
        if (max_context_tokens is None) != (count_tokens is None):
            raise ValueError("max_context_tokens and count_tokens go together")
        budget_name = "max_context_chars" if max_context_tokens is None else "max_context_tokens"
        budget = max_context_chars if max_context_tokens is None else max_context_tokens
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, numbers.Real)
                                   or not budget >= 1):
            raise ConfigError(f"ChatHistory: {budget_name} must be a positive number, got {budget!r}")
        if count_tokens is not None and not callable(count_tokens):
            raise ConfigError(f"ChatHistory: count_tokens must be a function of the text, e.g. "
                              f"lambda s: len(tokenizer.encode(s)), got {count_tokens!r}")
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise ConfigError(f"ChatHistory: system_prompt must be text or None, got {system_prompt!r}")
        if not is_int(elide_keep_chars) or elide_keep_chars < 0:
            raise ConfigError(f"ChatHistory: elide_keep_chars must be an integer >= 0, got {elide_keep_chars!r}")
        gym.utils.RecordConstructorArgs.__init__(
            self, _disable_deepcopy=True, system_prompt=system_prompt, max_context_chars=max_context_chars,
            max_context_tokens=max_context_tokens, count_tokens=count_tokens, overflow=overflow,
            elide_keep_chars=elide_keep_chars, raw_assistant=raw_assistant)
        super().__init__(env)
        self.system_prompt = system_prompt
        self.budget = budget
        self.overflow = overflow
        self.elide_keep_chars = elide_keep_chars
        self.raw_assistant = check_flag("ChatHistory", "raw_assistant", raw_assistant)
        self._measure: Callable[[str], int] = len if count_tokens is None else _TokenCount(count_tokens)
        self._head: list[_Entry] = []
        self._turns: list[list[_Entry]] = []
        self._view: list[Message] = []
        self._overflowing = False

    @property
    def messages(self) -> list[Message]:
        """The conversation the policy should read now (a new list each time)."""
        return [dict(message) for message in self._view]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        observation = _as_shown(observation)
        self._head = []
        if self.system_prompt is not None:
            self._head.append(self._entry({"role": "system", "content": self.system_prompt}))
        instructions = info.get("instructions") or ""
        self._head.append(self._entry({"role": "user", "content": _content(observation, instructions)}))
        self._turns = []
        self._refresh(info)
        return observation, info

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = self.env.step(action)
        observation = _as_shown(observation)
        results = info.get("tool_results")
        if results and self.raw_assistant:
            turn = [self._entry(_raw_assistant_message(action, results))]
            turn += [
                self._entry({"role": "tool", "tool_call_id": r["tool_call_id"], "name": r["name"],
                             "content": str(r["content"])}, observation=True)
                for r in results
            ]
        elif results:
            calls = [ToolCall(r["tool_call_id"], r["name"], r["arguments"]).to_openai() for r in results]
            formats = self._tool_call_formats()
            prose = (parse_tool_calls(action) if formats is None else parse_action(action, formats)).text
            turn = [self._entry({"role": "assistant", "content": prose or "", "tool_calls": calls})]
            turn += [
                self._entry({"role": "tool", "tool_call_id": r["tool_call_id"], "name": r["name"],
                             "content": str(r["content"])}, observation=True)
                for r in results
            ]
        else:
            turn = [
                self._entry({"role": "assistant", "content": _action_text(action)}),
                self._entry({"role": "user", "content": _content(observation)}, observation=True),
            ]
        self._turns.append(turn)
        self._refresh(info)
        return observation, reward, terminated, truncated, info

    def _tool_call_formats(self) -> Any:
        """The formats of the :class:`ToolCalling` inside this wrapper (``None``: none found)."""
        layer = self.env
        while isinstance(layer, gym.Wrapper):
            if isinstance(layer, ToolCalling):
                return layer.formats
            layer = layer.env
        return None

    # ------------------------------------------------------------------ budget
    def _refresh(self, info: dict[str, Any]) -> None:
        self._view, self._overflowing = self._fit()
        info["messages"] = self.messages
        info["context_overflow"] = self._overflowing

    def _fit(self) -> tuple[list[Message], bool]:
        """The messages to show, and whether they still exceed the budget."""
        turns = [list(turn) for turn in self._turns]
        total = sum(e.size for e in self._head) + sum(e.size for turn in turns for e in turn)
        if self.budget is None or total <= self.budget:
            return [e.message for e in self._head] + [e.message for t in turns for e in t], False
        old = len(turns) - 1  # every turn but the latest may be shortened or dropped
        if self.overflow == "elide":
            total = self._elide(turns[:old], total)
        dropped, note_size = 0, 0
        while dropped < old and total + note_size > self.budget:
            total -= sum(e.size for e in turns[dropped])
            dropped += 1
            note_size = self._measure(_NOTE_SEPARATOR + _drop_note(dropped))
        head = [e.message for e in self._head]
        if dropped:
            head[-1] = {**head[-1], "content": _append_text(head[-1]["content"], _drop_note(dropped))}
        kept = [e.message for turn in turns[dropped:] for e in turn]
        return head + kept, total + note_size > self.budget

    def _elide(self, old_turns: list[list[_Entry]], total: int) -> int:
        """Swap in elided observations, oldest first, until ``total`` fits; the new total."""
        for turn in old_turns:
            for i, entry in enumerate(turn):
                if total <= self.budget:
                    return total
                if entry.elided is not None:
                    total -= entry.size - entry.elided.size
                    turn[i] = entry.elided
        return total

    def _entry(self, message: Message, *, observation: bool = False) -> _Entry:
        entry = _Entry(message, self._size(message))
        if observation and self.overflow == "elide" and self.budget is not None:
            shorter = _elide_content(message["content"], self.elide_keep_chars)
            if shorter is not None:
                short_message = {**message, "content": shorter}
                entry = _Entry(message, entry.size, _Entry(short_message, self._size(short_message)))
        return entry

    def _size(self, message: Message) -> int:
        text = message_text(message.get("content"))
        for call in message.get("tool_calls", ()):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                text += "".join(value if isinstance(value, str) else str(value)
                                for value in (function.get("name", ""), function.get("arguments", "")))
        return self._measure(text)


@dataclass(frozen=True)
class _TokenCount:
    """``count_tokens``, with a ``TypeError`` that says what it must return when its result is
    no number (``tokenizer.encode`` gives the tokens, not how many). A class, not a closure, so
    that the wrapper pickles whenever ``count_tokens`` does."""

    count_tokens: Callable[[str], Any]

    def __call__(self, text: str) -> Any:
        size = self.count_tokens(text)
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise TypeError(f"ChatHistory: count_tokens must return a number of tokens, got {type(size).__name__} "
                            f"(to count a tokenizer's tokens: lambda s: len(tokenizer.encode(s)))")
        return size


def _content(observation: Any, prefix: str = "") -> Any:
    """Message content for an observation, after ``prefix`` (the instructions) if any."""
    if isinstance(observation, dict):
        text = str(observation.get("text", ""))
        image = observation.get("image")
    else:
        text, image = str(observation), None
    if prefix:
        text = f"{prefix}\n\n{text}"
    if image is None:
        return text
    return [{"type": "text", "text": text}, {"type": "image", "image": image}]


def _as_shown(observation: Any) -> Any:
    """``observation`` with its own copy of its image: an environment may draw on into the array
    it showed (every turn's image, in the messages and the trajectory, was then the last frame).
    The copy is what this wrapper returns and what its messages hold: one copy a turn."""
    if isinstance(observation, dict) and isinstance(observation.get("image"), np.ndarray):
        return {**observation, "image": observation["image"].copy()}
    return observation


def _action_text(action: Any) -> str:
    if isinstance(action, str):
        return action
    if isinstance(action, dict):  # an OpenAI-style message without tool calls
        return message_text(action.get("content"))
    return str(action)


def _raw_assistant_message(action: Any, results: list[dict[str, Any]]) -> Message:
    """A tool step's assistant message as the policy wrote it: its text, and, for a message dict
    with native ``tool_calls``, those calls (copied; a call without an ``id`` gets the id of the
    result at its place, so each tool message answers a call of this message)."""
    message: Message = {"role": "assistant", "content": _action_text(action)}
    written = action.get("tool_calls") if isinstance(action, dict) else None
    if isinstance(written, list) and written:
        calls = []
        for i, call in enumerate(written):
            call = dict(call) if isinstance(call, dict) else call
            if isinstance(call, dict) and not call.get("id") and i < len(results):
                call["id"] = results[i]["tool_call_id"]
            calls.append(call)
        message["tool_calls"] = calls
    return message


def _drop_note(turns: int) -> str:
    return f"[{turns} earlier turn{'s' if turns != 1 else ''} omitted to fit the context budget]"


_DROP_NOTE = re.compile(r"\[(\d+) earlier turns? omitted to fit the context budget\]\Z")


def dropped_turns(messages: list[Message]) -> int:
    """How many turns :class:`ChatHistory` dropped from ``messages`` (0 when none): the number
    in the note that ends its first user message. With the assistant messages still there, it
    says which turn a conversation is at (as a scripted policy needs)."""
    first_user = next((m for m in messages if isinstance(m, dict) and m.get("role") == "user"), None)
    if first_user is None:
        return 0
    match = _DROP_NOTE.search(message_text(first_user.get("content")))
    return int(match.group(1)) if match else 0


def _append_text(content: Any, note: str) -> Any:
    if isinstance(content, list):
        return [*content, {"type": "text", "text": _NOTE_SEPARATOR + note}]
    return content + _NOTE_SEPARATOR + note


def _elide_content(content: Any, keep: int) -> Any:
    """``content`` with long text cut to head + marker + tail, or ``None`` if nothing shrinks."""
    if not isinstance(content, list):
        return _elide_text(str(content), keep)
    parts, shrunk = [], False
    for part in content:
        short = _elide_text(str(part.get("text", "")), keep) if part.get("type") == "text" else None
        parts.append(part if short is None else {**part, "text": short})
        shrunk = shrunk or short is not None
    return parts if shrunk else None


def _elide_text(text: str, keep: int) -> str | None:
    cut = len(text) - keep
    marker = f"…[{cut} characters elided]…"
    if cut <= len(marker):
        return None
    tail = keep // 2
    return f"{text[: keep - tail]}{marker}{text[len(text) - tail :]}"
