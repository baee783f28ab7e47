"""Red team of the tool machinery: tools that fail in the ways ``except Exception`` does not see.

A tool that raises is an error result for the agent, never the end of the rollout (README,
"Tools"). asyncio's ``CancelledError`` and other ``BaseException`` subclasses (a library's own,
pytest's ``Failed``) are not ``Exception``: raised by a tool they escaped ``invoke`` and crashed
the step. A real cancellation of the caller must still cancel it.
"""

from __future__ import annotations

import asyncio

import pytest

from agentgym.tools import ainvoke, invoke, tool


class Halt(BaseException):
    """A library's own BaseException (as pytest's Failed, gevent's GreenletExit)."""


def raise_cancelled() -> str:
    """Raise asyncio's CancelledError."""
    raise asyncio.CancelledError("its own")


async def araise_cancelled() -> str:
    """Await a future that was cancelled: the tool's own CancelledError."""
    future = asyncio.get_running_loop().create_future()
    future.cancel()
    return await future


def raise_halt() -> str:
    """Raise a BaseException of its own."""
    raise Halt("stop here")


async def araise_halt() -> str:
    """Raise a BaseException of its own."""
    raise Halt("stop here")


CASES = [
    (raise_cancelled, "CancelledError"), (araise_cancelled, "CancelledError"),
    (raise_halt, "Halt: stop here"), (araise_halt, "Halt: stop here"),
]


@pytest.mark.parametrize("timeout", [None, 5.0])
@pytest.mark.parametrize(("fn", "said"), CASES, ids=[fn.__name__ for fn, _ in CASES])
def test_a_tool_raising_a_base_exception_is_an_error_result(fn, said, timeout):
    made = tool(name="flaky", timeout=timeout)(fn)
    outcome = invoke(made, {})
    assert (outcome.ok, outcome.failure) == (False, "error")
    assert outcome.content.startswith(f"Error: flaky failed: {said}"), outcome.content

    async def on_a_loop():
        first = await ainvoke(made, {})
        second = await ainvoke(made, {})  # the loop and the caller's task survived the first
        return first, second

    for outcome in asyncio.run(on_a_loop()):
        assert (outcome.ok, outcome.failure) == (False, "error")
        assert outcome.content.startswith(f"Error: flaky failed: {said}"), outcome.content


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_cancelling_the_caller_of_an_async_tool_still_cancels_it(timeout):
    @tool(timeout=timeout)
    async def wait_forever() -> str:
        """Wait."""
        await asyncio.sleep(3600)
        return "never"

    async def main():
        call = asyncio.ensure_future(ainvoke(wait_forever, {}))
        await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        return call.cancelled()

    assert asyncio.run(main())


def test_a_keyboard_interrupt_in_a_tool_still_reaches_the_host():
    @tool
    def interrupted() -> str:
        """Ctrl-C while it runs."""
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        invoke(interrupted, {})
