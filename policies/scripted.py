"""Scripted agents: an environment's oracle, or a fixed list of actions."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import gymnasium as gym

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.policies.random import play_hint
from agentgym.wrappers.chat_history import dropped_turns


class OracleAgent:
    """Plays ``env.unwrapped.oracle_action()``: the environment's own solver, an upper bound."""

    name = "oracle"

    def __call__(self, env: gym.Env, observation: Any) -> str:
        return env.unwrapped.oracle_action()


def script(kind: str, replies: Iterable[str], then: str) -> list[str]:
    """``replies`` as a list of texts, checked: a lone string is refused (it is iterable, and
    would be played one character a turn), and so is a reply or ``then`` that is not a string.

    Raises:
        TypeError: naming what is wrong and where.
    """
    if isinstance(replies, (str, bytes)):
        raise TypeError(f"{kind} takes a list of replies, got one {type(replies).__name__} ({replies[:40]!r}): "
                        f"write [{replies[:40]!r}]")
    replies = list(replies)
    for index, reply in enumerate(replies):
        if not isinstance(reply, str):
            raise TypeError(f"{kind}: reply {index} must be a string, got {type(reply).__name__} ({reply!r:.40})")
    if not isinstance(then, str):
        raise TypeError(f"{kind}: then must be a string, got {type(then).__name__} ({then!r:.40})")
    return replies


class ScriptedAgent:
    """Plays the given actions in order, then keeps repeating ``then`` (default: empty).

    Raises:
        TypeError: ``actions`` is one string rather than a list of them, or holds a non-string.
    """

    name = "scripted"

    def __init__(self, actions: Iterable[str], then: str = "") -> None:
        self._actions = iter(script("ScriptedAgent", actions, then))
        self._then = then

    def __call__(self, env: gym.Env, observation: Any) -> str:
        return next(self._actions, self._then)


class OraclePolicy(Policy):
    """The environment's oracle behind the :class:`~agentgym.policies.base.Policy` interface:
    it plays the ``oracle_action`` hint the environment gives for each turn (``Request.hints``)."""

    name = "oracle"
    env_hints = ("oracle_action",)
    batch_invariant = True

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return [play_hint(self.name, "oracle_action", request) for request in requests]


class ScriptedPolicy(Policy):
    """Replies with the given texts in order (the same script for every conversation), then
    ``then``; useful to test environments and wrappers through the rollout engine. A turn is
    the number of assistant messages plus the turns a context budget dropped
    (:func:`~agentgym.wrappers.chat_history.dropped_turns`).

    Raises:
        TypeError: ``replies`` is one string rather than a list of them, or holds a non-string.
    """

    name = "scripted"
    batch_invariant = True

    def __init__(self, replies: Iterable[str], then: str = "") -> None:
        self.replies = script("ScriptedPolicy", replies, then)
        self.then = then

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        out = []
        for request in requests:
            turn = sum(m.get("role") == "assistant" for m in request.messages) + dropped_turns(request.messages)
            out.append(Generation(self.replies[turn] if turn < len(self.replies) else self.then))
        return out
