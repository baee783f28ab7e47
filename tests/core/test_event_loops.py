"""run_sync / running_loop: the synchronous twins of async calls raise their own errors (not
"during handling of RuntimeError('no running event loop')"), and refuse a running loop cleanly."""

from __future__ import annotations

import asyncio
import warnings

import pytest

from agentgym.event_loops import run_sync, running_loop
from agentgym.policies.base import Generation, Policy, Request


class _Failing(Policy):
    name = "failing"

    async def agenerate(self, requests, sampling) -> list[Generation]:
        raise OSError(28, "No space left on device")


def test_an_error_of_the_run_is_its_own_not_raised_while_handling_another():
    with pytest.raises(OSError, match="No space left") as raised:
        _Failing().generate([Request([{"role": "user", "content": "hi"}])])
    # was: "RuntimeError: no running event loop ... During handling of the above exception ..."
    assert raised.value.__context__ is None


def test_inside_a_running_loop_the_call_is_refused_and_the_coroutine_closed():
    async def work():
        return 1

    async def main():
        assert running_loop() is asyncio.get_running_loop()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "coroutine 'work' was never awaited" would fail here
            with pytest.raises(RuntimeError, match="await work"):
                run_sync(work(), "await work() instead")

    asyncio.run(main())
    assert running_loop() is None and run_sync(work(), "unused") == 1
