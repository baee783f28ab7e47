"""Running coroutines from synchronous code.

:func:`running_loop` asks whether an event loop runs in this thread without leaving a caught
``RuntimeError('no running event loop')`` behind: code that then runs the coroutine inside the
``except`` clause of that question shows every error of the run as raised "during handling of"
it. :func:`run_sync` is ``asyncio.run`` for the synchronous twin of an ``async`` method.
"""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

__all__ = ["run_sync", "running_loop"]

T = TypeVar("T")


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or ``None``."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_sync(coroutine: Coroutine[Any, Any, T], refusal: str) -> T:
    """``asyncio.run(coroutine)``; inside a running event loop (where that cannot work) a
    ``RuntimeError`` saying ``refusal`` (what to await instead), the coroutine closed unstarted."""
    if running_loop() is not None:
        coroutine.close()
        raise RuntimeError(refusal)
    return asyncio.run(coroutine)
