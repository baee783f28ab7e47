"""A person at the terminal."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Sequence, TextIO

import gymnasium as gym

from agentgym.policies.base import Generation, Policy, Request, SamplingParams


class HumanAgent:
    """Shows each observation and reads the action from a prompt.

    Args:
        read: the input function (``input`` by default; tests pass a scripted one).
        out: where observations are written.
    """

    name = "human"

    def __init__(self, read: Callable[[str], str] = input, out: TextIO | None = None) -> None:
        self._read = read
        self._out = out

    def __call__(self, env: gym.Env, observation: Any) -> str:
        text = observation["text"] if isinstance(observation, dict) else observation
        print(f"\n{text}", file=self._out)
        return self._read("> ")


class HumanPolicy(Policy):
    """A person behind the :class:`~agentgym.policies.base.Policy` interface: shows the last
    message of each conversation and reads the reply, one conversation at a time."""

    name = "human"

    def __init__(self, read: Callable[[str], str] = input, out: TextIO | None = None) -> None:
        self._read = read
        self._out = out

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        replies = []
        for request in requests:
            content = request.messages[-1].get("content") if request.messages else ""
            if content is None or isinstance(content, str):  # None: an assistant turn of tool calls only
                text = content or ""
            else:
                text = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            print(f"\n{text}", file=self._out)
            replies.append(Generation(await asyncio.to_thread(self._read, "> ")))
        return replies
