"""Require the agent to put its move in a fixed format and pass on only the move."""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

import gymnasium as gym
from gymnasium.error import ResetNeeded

from agentgym.core import ConfigError, check_number, own_copy
from agentgym.info import ErrorKind
from agentgym.wrappers._shown import answered_like

# `\boxed{` opens a box; escaped braces (`\{`, `\}`) are LaTeX text and do not nest.
_BOXED_TOKENS = re.compile(r"\\boxed\s*\{|\\[{}]|[{}]")


class AnswerFormat(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Extract the move from the agent's action; reject actions without one.

    Formats:

    * ``"tags"``: the text between ``<answer>`` and ``</answer>`` (tag name set by ``tag``);
      the last complete pair wins, so the agent may think aloud before it answers.
    * ``"boxed"``: the text inside ``\\boxed{...}``, nested braces included; the last box that
      opens and closes wins.
    * a compiled regular expression: group 1 of its last match; or ``"regex"`` with the
      expression as text in ``pattern`` (JSON data, so a :class:`~agentgym.wrappers.WrapperSpec`
      or a training configuration can name it).

    The move is stripped of surrounding whitespace and passed to the inner environment, whose
    ``info`` gains ``format_ok=True``. ``reset`` appends a sentence describing the format, with
    an example, to ``info["instructions"]`` (``instruction``, a non-empty sentence, replaces
    it; a regex needs one).

    When the move is missing or empty, the inner environment is **not** stepped (its state is
    unchanged): the step returns the observation ``"Format error: ..."`` (in a ``{"text",
    "image"}`` environment that text with the image shown last), reward ``-penalty``
    (component ``format``; none when ``penalty`` is 0), ``terminated=False``,
    ``truncated=False`` and ``info`` with ``format_ok=False``, ``error``, ``error_kind=ErrorKind.FORMAT``,
    ``success=False`` and ``reward_components``, as a normal step has. A :class:`TurnLimit` inside this wrapper does
    not see such steps; put one outside if format errors should use up turns.

    A step before ``reset``, or after the episode ended (here, or from outside: a
    :class:`TurnLimit` that truncated it, ``close``), raises ``ResetNeeded``, whatever the action.
    """

    def __init__(
        self,
        env: gym.Env,
        format: str | re.Pattern[str] = "tags",
        *,
        tag: str = "answer",
        penalty: float = 0.1,
        example: str = "your move",
        instruction: str | None = None,
        pattern: str | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, _disable_deepcopy=True, format=format, tag=tag, penalty=penalty,
                                           example=example, instruction=instruction, pattern=pattern)
        super().__init__(env)
        self.penalty = check_number("AnswerFormat", "penalty", penalty)
        if self.penalty < 0:
            raise ConfigError(f"AnswerFormat: penalty must be >= 0 (it is subtracted), got {penalty}")
        if instruction is not None and (not isinstance(instruction, str) or not instruction.strip()):
            raise ConfigError(f"AnswerFormat: instruction must be a sentence telling the agent the format "
                              f"(or None for the default), got {instruction!r:.80}")
        self._extract, shape = self._format(_compiled(format, pattern), tag)
        self._shape = shape
        if instruction is None:
            if shape is None:
                raise ValueError("a regex format needs an `instruction` telling the agent the format")
            instruction = (
                f"Put your move inside {shape % '...'}, for example {shape % example}; "
                f"only the last {shape % '...'} counts."
            )
        self.instruction = instruction
        self.format_error = (
            f"Format error: put your move inside {shape % '...'}." if shape
            else f"Format error: {instruction}"
        )
        self._done = True
        self._last_observation: Any = None

    @staticmethod
    def _format(format: str | re.Pattern[str], tag: str) -> tuple[Callable[[str], str | None], str | None]:
        """The extractor for ``format`` and its ``%s`` template (``None`` for a regex)."""
        if format == "tags":
            if not re.fullmatch(r"[A-Za-z_][\w.-]*", tag):
                raise ValueError(f"tag must be a plain tag name like 'answer', got {tag!r}")
            opening, closing = f"<{tag}>", f"</{tag}>"
            # partials of module functions, not lambdas: the wrapper pickles as environments do
            return functools.partial(_last_tagged, opening=opening, closing=closing), f"{opening}%s{closing}"
        if format == "boxed":
            return _last_boxed, "\\boxed{%s}"
        if isinstance(format, re.Pattern):
            if format.groups < 1:
                raise ValueError("a regex format needs a capturing group around the move")
            return functools.partial(_last_group, pattern=format), None
        raise ValueError(f"format must be 'tags', 'boxed', 'regex' (with `pattern`) or a compiled regex, got {format!r}")

    def write_move(self, move: str) -> str | None:
        """``move`` written as the agent must write it (``<answer>move</answer>``,
        ``\\boxed{move}``), so that a baseline playing the environment's own moves (the oracle's
        and random hints, :class:`~agentgym.wrappers.EnvHints`) passes the format; ``None`` for a
        regex format, which cannot be written from a move."""
        return None if self._shape is None else self._shape % move

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self._done = False
        self._last_observation = own_copy(observation)  # the agent may change its own in place
        instructions = info.get("instructions") or ""
        info["instructions"] = f"{instructions}\n\n{self.instruction}" if instructions else self.instruction
        return observation, info

    def step(self, action: Any):
        if self._done or not getattr(self.env.unwrapped, "episode_active", True):
            self._done = True
            raise ResetNeeded("call reset() before step(): the episode has ended or not started")
        move = self._extract(action) if isinstance(action, str) else None
        if move is not None:
            move = move.strip()
        if not move:
            rewards = {"format": -self.penalty} if self.penalty else {}
            info = {"reward_components": rewards, "error": self.format_error, "error_kind": ErrorKind.FORMAT,
                    "success": False, "format_ok": False}
            observation = answered_like(self._last_observation, self.format_error)
            return observation, float(sum(rewards.values())), False, False, info
        observation, reward, terminated, truncated, info = self.env.step(move)
        self._done = terminated or truncated
        self._last_observation = own_copy(observation)  # the agent may change its own in place
        info["format_ok"] = True
        return observation, reward, terminated, truncated, info


def _compiled(format: str | re.Pattern[str], pattern: str | None) -> str | re.Pattern[str]:
    """``format``, with ``"regex"`` replaced by ``pattern`` compiled; ``ValueError`` for a
    ``pattern`` without ``format="regex"`` (or the other way round) or one that does not compile."""
    if format != "regex":
        if pattern is not None:
            raise ValueError(f"`pattern` is read only with format='regex', not format={format!r}")
        return format
    if not isinstance(pattern, str):
        raise ValueError(f"format='regex' needs the expression as text in `pattern`, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"`pattern` is not a regular expression ({exc}): {pattern!r}") from None


def _last_tagged(text: str, opening: str, closing: str) -> str | None:
    end = text.rfind(closing)
    if end < 0:
        return None
    start = text.rfind(opening, 0, end)
    return None if start < 0 else text[start + len(opening) : end]


def _last_boxed(text: str) -> str | None:
    """Content of the last-opened ``\\boxed{...}`` whose braces close (one linear scan)."""
    if "\\boxed" not in text:
        return None
    open_braces: list[int | None] = []  # content start of each open `\boxed{`; None for `{`
    best_start, best = -1, None
    for token in _BOXED_TOKENS.finditer(text):
        symbol = token.group()
        if symbol.startswith("\\boxed"):
            open_braces.append(token.end())
        elif symbol == "{":
            open_braces.append(None)
        elif symbol == "}" and open_braces:
            start = open_braces.pop()
            if start is not None and start > best_start:
                best_start, best = start, text[start : token.start()]
    return best


def _last_group(text: str, pattern: re.Pattern[str]) -> str | None:
    last = None
    for match in pattern.finditer(text):
        last = match
    return None if last is None else last.group(1)
