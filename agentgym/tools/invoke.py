"""Running one tool call: check the arguments, fill the injected ones, run the function within its
timeout, render the result — never raising for anything the agent or the tool did."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from agentgym.tools.calls import clip, echo
from agentgym.tools.tool import Tool, ToolArgumentError, ToolError, render_result

#: The longest argument-problem message shown to the agent.
PROBLEM_CHARS = 400

CoroutineFactory = Callable[[], Awaitable[Any]]
#: Runs ``factory()``'s coroutine to completion within ``timeout`` seconds (``None``: no bound),
#: raising :class:`ToolTimeout` past it, from synchronous code; chosen by the environment (the
#: event loop its toolsets live on).
CoroutineRunner = Callable[[CoroutineFactory, "float | None"], Any]


@dataclass(frozen=True)
class ToolOutcome:
    """What one call gave.

    Attributes:
        content: the text the agent reads (``Error: ...`` when the call failed).
        ok: the tool ran and returned.
        seconds: wall time of the call (0 when it was refused before running).
        failure: why it failed, as data: ``"unknown_tool"``, ``"arguments"`` (they do not fit
            the schema, or an injected value is missing), ``"error"`` (the tool raised),
            ``"timeout"``, ``"unavailable"`` (its toolset is closed); ``None`` when ``ok``.
    """

    content: str
    ok: bool
    seconds: float = 0.0
    failure: str | None = None


class ToolTimeout(Exception):
    """A call ran past its tool's timeout."""


class ToolExited(Exception):
    """The tool called ``sys.exit`` (raised :class:`SystemExit`): its failure, not the host's
    exit. ``args[0]`` is the exit code."""


class ToolRaised(Exception):
    """The tool raised a ``BaseException`` that is not an ``Exception`` and not the host's to
    act on (asyncio's ``CancelledError`` of its own, a library's ``BaseException``): its
    failure. ``args[0]`` is that exception."""


def unknown_tool(name: str, available: list[str]) -> ToolOutcome:
    listed = ", ".join(sorted(available)) or "none (this environment has no tools)"
    return ToolOutcome(f"Error: unknown tool {echo(name)}. Available tools: {listed}.", False, 0.0, "unknown_tool")


def unavailable(name: str) -> ToolOutcome:
    return ToolOutcome(f"Error: {name} is not available now: its session is closed (the episode has ended "
                       f"or not started).", False, 0.0, "unavailable")


def invoke(tool: Tool, arguments: Any, *, injections: Callable[[], Mapping[str, Any]] | None = None,
           run_coroutine: CoroutineRunner | None = None) -> ToolOutcome:
    """Run ``tool`` with the agent's ``arguments`` from synchronous code.

    ``injections()`` gives the values of injected parameters (asked only when the tool has
    some). A sync tool without a timeout runs in the calling thread; with one, in a daemon
    worker thread waited for at most ``timeout`` seconds. An ``async`` tool (or a coroutine a
    sync one returns) runs through ``run_coroutine`` (default: a new event loop of its own).
    """
    prepared = _prepare(tool, arguments, injections)
    if isinstance(prepared, ToolOutcome):
        return prepared
    runner = run_coroutine or (lambda factory, timeout: run_on_new_loop(factory, timeout, name=tool.name))
    started = time.perf_counter()
    try:
        if tool.is_async:
            value = runner(lambda: tool.fn(**prepared), tool.timeout)
        elif tool.timeout is None:
            value = tool.fn(**prepared)
        else:
            value = _call_in_thread(tool, prepared)
        if inspect.isawaitable(value):
            pending = value
            value = runner(lambda: pending, tool.timeout)
        return _finish(tool, value, time.perf_counter() - started)
    except SystemExit as exc:  # the tool's sys.exit(), not the host's
        return _failure(tool, ToolExited(exc.code), time.perf_counter() - started)
    except KeyboardInterrupt:  # the user's Ctrl-C, for the host
        raise
    except BaseException as exc:  # noqa: BLE001 - whatever the tool raised is the agent's news
        # (synchronous code cannot be cancelled: a CancelledError here is the tool's own)
        return _failure(tool, exc, time.perf_counter() - started)


async def ainvoke(tool: Tool, arguments: Any, *,
                  injections: Callable[[], Mapping[str, Any]] | None = None) -> ToolOutcome:
    """``invoke`` for event loops: an ``async`` tool is awaited on the running loop (cancelled at
    its timeout); a sync tool runs in a worker thread, waited for at most its timeout."""
    prepared = _prepare(tool, arguments, injections)
    if isinstance(prepared, ToolOutcome):
        return prepared
    started = time.perf_counter()
    try:
        if tool.is_async:
            value = await bounded(lambda: tool.fn(**prepared), tool.timeout)
        else:
            value = await bounded(lambda: asyncio.to_thread(_sync_call, tool.fn, prepared), tool.timeout)
        if inspect.isawaitable(value):
            pending = value
            value = await bounded(lambda: pending, tool.timeout)
        return _finish(tool, value, time.perf_counter() - started)
    except SystemExit as exc:  # the tool's sys.exit(), not the host's
        return _failure(tool, ToolExited(exc.code), time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - whatever the tool raised is the agent's news
        return _failure(tool, exc, time.perf_counter() - started)


def _sync_call(fn: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    """``fn(**arguments)`` for a worker thread awaited through a future: a ``StopIteration`` it
    raises (``next()`` on an empty iterator) comes out as :class:`ToolRaised`, since asyncio
    cannot put it into a future (the await would never finish)."""
    try:
        return fn(**arguments)
    except StopIteration as exc:
        raise ToolRaised(exc) from None


def _prepare(tool: Tool, arguments: Any, injections: Callable[[], Mapping[str, Any]] | None) -> dict[str, Any] | ToolOutcome:
    try:
        prepared = tool.prepare_arguments(arguments)
    except ToolArgumentError as exc:
        return ToolOutcome(f"Error: {clip(str(exc), PROBLEM_CHARS)}.", False, 0.0, "arguments")
    if tool.injected:
        values = injections() if injections is not None else {}
        parameters = inspect.signature(tool.fn).parameters
        for name in tool.injected:
            if name in values:
                prepared[name] = values[name]
            elif name not in parameters or parameters[name].default is inspect.Parameter.empty:
                return ToolOutcome(f"Error: {tool.name} cannot run: the environment does not provide its injected "
                                   f"argument {name!r}.", False, 0.0, "arguments")
    return prepared


def _finish(tool: Tool, value: Any, seconds: float) -> ToolOutcome:
    try:
        return ToolOutcome(render_result(value), True, seconds)
    except Exception as exc:  # noqa: BLE001 - a result that cannot be shown is the tool's failure
        return _failure(tool, exc, seconds)


def _failure(tool: Tool, exc: BaseException, seconds: float) -> ToolOutcome:
    if isinstance(exc, ToolRaised):
        exc = exc.args[0]
    if isinstance(exc, ToolTimeout):
        limit = tool.timeout if tool.timeout is not None else (exc.args[0] if exc.args else None)
        within = f"within {limit:g} seconds" if isinstance(limit, (int, float)) else "in time"
        return ToolOutcome(f"Error: {tool.name} did not finish {within} and was stopped "
                           f"waiting for; try a smaller request.", False, seconds, "timeout")
    if isinstance(exc, ToolExited):
        return ToolOutcome(f"Error: {tool.name} failed: it called sys.exit({_text(exc.args[0], repr)})", False,
                           seconds, "error")
    message = _text(exc, str)
    if isinstance(exc, ToolError) and message is not _UNWRITTEN:
        return ToolOutcome(f"Error: {message}", False, seconds, "error")
    return ToolOutcome(f"Error: {tool.name} failed: {type(exc).__name__}: {message}", False, seconds, "error")


_UNWRITTEN = "<its message could not be written>"


def _text(value: Any, write: Callable[[Any], str]) -> str:
    """``write(value)`` (``str`` or ``repr``), or :data:`_UNWRITTEN` when the tool's object has a
    broken ``__str__`` / ``__repr__``: the failure is still the agent's news."""
    try:
        return write(value)
    except Exception:  # noqa: BLE001
        return _UNWRITTEN


def _call_in_thread(tool: Tool, arguments: dict[str, Any]) -> Any:
    """``tool.fn(**arguments)`` in a daemon thread, waited for at most ``tool.timeout`` seconds.
    Past it :class:`ToolTimeout` is raised and the thread is left to end with the function."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = tool.fn(**arguments)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"agentgym-tool-{tool.name[:40]}", daemon=True).start()
    if not done.wait(tool.timeout):
        raise ToolTimeout(tool.timeout)
    if "error" in box:
        raise box["error"]
    return box["value"]


async def bounded(factory: CoroutineFactory, timeout: float | None) -> Any:
    """Await ``factory()`` for at most ``timeout`` seconds; past it the call is cancelled and
    :class:`ToolTimeout` raised (a ``TimeoutError`` the tool raises itself stays its own). A
    ``SystemExit`` the coroutine raises comes out as :class:`ToolExited`: asyncio would let it
    escape the task and stop the event loop (the environment's toolset loop, the caller's);
    any other ``BaseException`` of the tool's own comes out as :class:`ToolRaised` (see
    :func:`_not_exiting`)."""
    if timeout is None:
        return await _not_exiting(factory)
    task = asyncio.ensure_future(_not_exiting(factory))
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    finally:
        if not task.done():
            task.cancel()
    if not done:
        await asyncio.wait({task}, timeout=1.0)  # let it unwind; a task that ignores cancel is left
        raise ToolTimeout(timeout)
    return task.result()


async def _not_exiting(factory: CoroutineFactory) -> Any:
    """``await factory()``, its ``BaseException`` made an ``Exception`` (:class:`ToolExited`,
    :class:`ToolRaised`) but for a ``KeyboardInterrupt`` and the cancellation of the task that
    awaits it (its timeout, its caller's cancel): a ``CancelledError`` while no one asked this
    task to stop is the tool's own (it awaited something cancelled)."""
    try:
        return await factory()
    except Exception:
        raise
    except SystemExit as exc:
        raise ToolExited(exc.code) from None
    except KeyboardInterrupt:
        raise
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is None or task.cancelling():
            raise
        raise ToolRaised(exc) from None
    except BaseException as exc:  # noqa: BLE001 - the tool's own
        raise ToolRaised(exc) from None


def run_on_new_loop(factory: CoroutineFactory, timeout: float | None, *, name: str = "coroutine") -> Any:
    """The default :data:`CoroutineRunner`: a fresh event loop per call, closed after it with
    the tasks the call left cancelled. A task that ignores its cancellation (the call past its
    timeout, or one it started) is not waited for: its loop is left running it in a daemon
    thread (``agentgym-tool-<name>``) that ends with it, as a sync tool's thread does."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(bounded(factory, timeout))
    finally:
        _close_loop(loop, name)


def _close_loop(loop: asyncio.AbstractEventLoop, name: str) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:  # a short grace: what is still running after it goes on in the daemon thread
        loop.run_until_complete(asyncio.wait(pending, timeout=0.1))
    stubborn = [task for task in pending if not task.done()]
    if stubborn:
        threading.Thread(target=_drain_and_close, args=(loop, stubborn), name=f"agentgym-tool-{name[:40]}",
                         daemon=True).start()
        return
    _shut_down(loop)


def _drain_and_close(loop: asyncio.AbstractEventLoop, tasks: list[asyncio.Task[Any]]) -> None:
    loop.run_until_complete(asyncio.wait(tasks))
    _shut_down(loop)


def _shut_down(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
