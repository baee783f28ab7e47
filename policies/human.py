"""A person at the terminal."""

from __future__ import annotations

import asyncio
import io
import os
import select
import sys
import threading
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
    message of each conversation and reads the reply, one conversation at a time.

    Args:
        read: the input function, given the prompt (``None``: the terminal, see below; tests
            pass a scripted one).
        out: where messages and the prompt are written (``None``: standard output).

    Each line is read in a thread of its own (a daemon), not in asyncio's default executor,
    whose shutdown waits for its threads, so a cancelled call (Ctrl-C at the prompt) ends at
    once. The terminal is read with :func:`terminal_line`, which gives up when the call is
    cancelled: no reader is left blocked on standard input to swallow the next line or to
    keep the process alive. What ``read`` raises (``EOFError``: the input is closed) is raised
    to the caller."""

    name = "human"

    def __init__(self, read: Callable[[str], str] | None = None, out: TextIO | None = None) -> None:
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
            abandoned = threading.Event()
            read = self._read or (lambda prompt: terminal_line(prompt, abandoned, out=self._out))
            try:
                replies.append(Generation(await read_in_thread(read, "> ")))
            finally:
                abandoned.set()
        return replies


class Abandoned(Exception):
    """Nobody waits for the line any more (:func:`terminal_line`)."""


def terminal_line(prompt: str, abandoned: threading.Event, *, stdin: TextIO | None = None,
                  out: TextIO | None = None, poll_seconds: float = 0.1) -> str:
    """One line typed at ``stdin`` (default: standard input), without its line break, after
    writing ``prompt`` to ``out`` (default: standard output), as ``input`` does -- but waiting
    for it ``poll_seconds`` at a time, so that it raises :class:`Abandoned` soon after
    ``abandoned`` is set rather than blocking until the next line (which it would then take from
    whoever asks next). The file descriptor is read directly, a byte at a time, so nothing of a
    following line is held back in a buffer. Raises ``EOFError`` when the input is closed
    before a line or the process has none; where the input cannot be waited on (no file
    descriptor, or a platform whose ``select`` takes no files) it is read as ``input`` reads it."""
    stdin = stdin or sys.stdin
    if stdin is None:  # the process was started with its standard input closed
        raise EOFError("there is no standard input (it is closed)")
    out = out or sys.stdout
    out.write(prompt)
    out.flush()
    try:
        fd = stdin.fileno()
        select.select([fd], [], [], 0)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        line = stdin.readline()
        if not line:
            raise EOFError("the input is closed") from None
        return line.rstrip("\r\n")
    data = bytearray()
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], poll_seconds)
        if abandoned.is_set():
            raise Abandoned("the line is no longer awaited")
        if not ready:
            continue
        byte = os.read(fd, 1)
        if not byte:
            if data:
                break
            raise EOFError("the input is closed")
        data += byte
    return data.decode(getattr(stdin, "encoding", None) or "utf-8", errors="replace").rstrip("\r\n")


async def read_in_thread(read: Callable[[str], str], prompt: str) -> str:
    """``read(prompt)`` in a daemon thread, awaited: cancelling the wait leaves the thread to
    end on its own (nothing joins it; its line, if one comes, is dropped)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(line: str | None, error: BaseException | None) -> None:
        if answer.done():  # cancelled meanwhile
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(line)

    def reading() -> None:
        line, error = None, None
        try:
            line = read(prompt)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            error = exc
        try:
            loop.call_soon_threadsafe(settle, line, error)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    threading.Thread(target=reading, name="human-input", daemon=True).start()
    return await answer
