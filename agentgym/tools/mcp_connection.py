"""One MCP server process and its client session (:class:`Connection`), for
:class:`~agentgym.tools.mcp.MCPToolset`.

The server is spawned in a process group of its own and spoken to over its stdin/stdout (one
JSON-RPC message per line, at most :data:`MAX_MESSAGE_BYTES`; bytes of a line that are not UTF-8
are read as U+FFFD, an answer that cannot be read fails its call, and any other line that is not
a JSON-RPC message is skipped); the ``mcp`` package's
``ClientSession`` over it lives on an event loop in a thread of its own
(:class:`~agentgym.tools.loop_thread.LoopThread`), owned by one task, for as long as the server
runs. ``start`` blocks until the handshake and the tool listing are done (or raises
:class:`MCPServerError` with the tail of the server's standard error); ``call``/``acall`` run a
``tools/call`` from any thread or event loop and return its result rendered as text
(:func:`~agentgym.tools.mcp_convert.render_content`), raising
:class:`~agentgym.tools.ToolError` for an error result, a protocol error or a dead server, and
:class:`~agentgym.tools.invoke.ToolTimeout` past the timeout; ``close`` (graceful when idle)
and ``kill`` (at once) end the process group from any thread and return once it is reaped.
Needs the ``mcp`` package, imported when a connection starts.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import json
import os
import signal
import threading
from typing import Any

from agentgym.tools.invoke import ToolTimeout
from agentgym.tools.loop_thread import LoopThread
from agentgym.tools.mcp_convert import deeper_than, not_finite, not_unicode, render_content
from agentgym.tools.tool import ToolError

#: The longest JSON-RPC message read from a server, in bytes (a bigger one ends the session).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: How deep a call's arguments may nest lists and objects: a server of the mcp Python package
#: reads JSON at most 200 levels deep, and drops a deeper request unanswered (its call would
#: wait out its timeout).
MAX_ARGUMENT_DEPTH = 128
#: How much of the server's standard error is kept (shown when it fails to start).
STDERR_TAIL_BYTES = 8 * 1024
#: Seconds a call may wait for the loop past its own timeout (the loop answers in far less).
_CALL_GRACE = 5.0
_UNREADABLE = "the MCP server's answer could not be read"


class MCPServerError(RuntimeError):
    """The MCP server could not be started, did not answer the handshake, or listed tools
    that cannot be offered (the message has the tail of its standard error)."""


class Connection:
    """One server process and its client session, owned by a task on a loop thread of its own.

    ``start`` spawns the server and waits for the handshake and the listing; ``call`` runs a
    ``tools/call`` from any thread; ``close`` (graceful unless a call is in flight) and ``kill``
    (at once) end the process from any thread and return once it is reaped.
    """

    def __init__(self, argv: tuple[str, ...], env: dict[str, str] | None, cwd: str | None, *, label: str) -> None:
        self.argv, self.env, self.cwd = argv, env, cwd
        self.loop_thread = LoopThread(f"agentgym-mcp-{label[:30]}")
        self.pid: int | None = None
        self.listing: list[Any] = []
        self.timeouts = 0
        self.stderr_tail: collections.deque[bytes] = collections.deque()
        self._stderr_size = 0
        self._session: Any = None
        self._process: Any = None
        self._stop: asyncio.Event | None = None
        self._owner: concurrent.futures.Future[Any] | None = None
        self._ended: str | None = None  # why the connection is unusable
        self._in_flight = 0
        self._lock = threading.Lock()
        self._grace = 2.0
        self._loop_stopping = False
        self._killed = False

    @property
    def alive(self) -> bool:
        return self._ended is None and self._session is not None

    @property
    def calls_in_flight(self) -> int:
        return self._in_flight

    # ------------------------------------------------------------------ starting
    def start(self, startup_timeout: float, grace: float) -> None:
        self._grace = grace
        _import_client()  # here, not on the loop: the first import takes a second and would block it
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        owner = self._own(ready)
        try:
            if self._ended is not None:
                raise RuntimeError("closed")
            self._owner = asyncio.run_coroutine_threadsafe(owner, self.loop_thread.loop)
        except RuntimeError:  # killed (its loop stopped) before it could start
            owner.close()
            self.kill()
            raise MCPServerError(f"the MCP server {self._shown()} was closed before it started") from None
        try:
            ready.result(startup_timeout)
        except concurrent.futures.TimeoutError:
            self.kill()
            raise MCPServerError(f"the MCP server {self._shown()} did not answer within {startup_timeout:g} s"
                                 f"{self._stderr_note()}") from None
        except BaseException as exc:
            killed = self._killed  # by a kill from another thread (a shutdown), not by the server
            self.kill()
            if isinstance(exc, MCPServerError):
                raise
            if killed:
                raise MCPServerError(f"the MCP server {self._shown()} was closed before it started") from None
            raise MCPServerError(f"the MCP server {self._shown()} could not be started: {_describe(exc)}"
                                 f"{self._stderr_note()}") from exc

    async def _own(self, ready: concurrent.futures.Future[None]) -> None:
        from mcp import ClientSession

        self._stop = asyncio.Event()
        try:
            async with self._transport() as (read_stream, write_stream):
                async with ClientSession(read_stream, write_stream) as session:
                    await session.initialize()
                    self.listing = await _list_tools(session)
                    self._session = session
                    if not ready.done():
                        ready.set_result(None)
                    await self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - handed to start(), or the end of the session
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else MCPServerError("start-up was cancelled"))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._ended = self._ended or "the session was closed"
            self._session = None

    @contextlib.asynccontextmanager
    async def _transport(self) -> Any:
        """Spawn the server in a process group of its own and bridge its stdin/stdout to the
        session's streams (one JSON-RPC message per line); at the end close stdin, give it
        ``grace`` seconds, then SIGTERM and SIGKILL the group, and wait until it is reaped; what
        is left of the group then (a helper the server started and left behind) gets the rest of
        the grace, SIGTERM and SIGKILL too."""
        import anyio
        from mcp.shared.message import SessionMessage
        from mcp_types import jsonrpc_message_adapter

        environment = None if self.env is None else {**os.environ, **self.env}
        process = await anyio.open_process(list(self.argv), env=environment, cwd=self.cwd,
                                           stdin=-1, stdout=-1, stderr=-1, start_new_session=True)
        self._process, self.pid = process, process.pid
        if self._ended is not None:  # killed while it was being spawned
            self._signal_group(signal.SIGKILL)
        read_send, read_receive = anyio.create_memory_object_stream(0)
        write_send, write_receive = anyio.create_memory_object_stream(0)

        async def pump_stdout() -> None:
            buffer = bytearray()
            try:
                async for chunk in process.stdout:
                    buffer += chunk
                    while (end := buffer.find(b"\n")) >= 0:
                        line = bytes(buffer[:end])
                        del buffer[:end + 1]
                        if line.strip():
                            # bytes that are not UTF-8 read as U+FFFD: the answer arrives, not a timeout
                            text = line.decode("utf-8", errors="replace")
                            try:
                                parsed = jsonrpc_message_adapter.validate_json(text, by_name=False)
                                message: Any = SessionMessage(parsed)
                            except ValueError as exc:
                                message = _unreadable_answer(text, exc) or exc
                            await read_send.send(message)
                    if len(buffer) > MAX_MESSAGE_BYTES:
                        self._ended = f"the server sent a message over {MAX_MESSAGE_BYTES} bytes"
                        self._signal_group(signal.SIGKILL)
                        break
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
                pass
            finally:
                self._ended = self._ended or "the server closed its output (it exited)"
                await read_send.aclose()

        async def pump_stdin() -> None:
            try:
                async with write_receive:
                    async for message in write_receive:
                        data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                        await process.stdin.send(data.encode("utf-8"))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                await read_send.aclose()  # the session sees the end instead of waiting forever

        async def pump_stderr() -> None:
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
                async for chunk in process.stderr:
                    self.stderr_tail.append(chunk)
                    self._stderr_size += len(chunk)
                    while self._stderr_size > STDERR_TAIL_BYTES and len(self.stderr_tail) > 1:
                        self._stderr_size -= len(self.stderr_tail.popleft())

        async with anyio.create_task_group() as group:
            group.start_soon(pump_stdout)
            group.start_soon(pump_stdin)
            group.start_soon(pump_stderr)
            try:
                yield read_receive, write_send
            finally:
                with anyio.CancelScope(shield=True):
                    await self._end_process(process)
                    await write_send.aclose()
                    await read_receive.aclose()
                group.cancel_scope.cancel()
        with anyio.move_on_after(5.0, shield=True):
            await process.aclose()

    async def _end_process(self, process: Any) -> None:
        import anyio

        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await process.stdin.aclose()
        loop = asyncio.get_running_loop()
        started = loop.time()
        for sent, wait in ((None, self._grace), (signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
            if sent is not None:
                self._signal_group(sent)
            if await _exited(process, wait):
                break
        # What is left of its group (a helper it left running, or the server itself behind a
        # launcher that exited) gets the same ending: the rest of the grace, SIGTERM, SIGKILL.
        remnants = ((signal.SIGKILL, 0.0),) if self._grace <= 0 else (
            (None, self._grace - (loop.time() - started)), (signal.SIGTERM, 1.0), (signal.SIGKILL, 0.0))
        for sent, wait in remnants:
            if sent is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sent)
            if await _group_ended(process.pid, wait):
                return

    def _signal_group(self, sent: int) -> None:
        process = self._process
        if process is not None and process.returncode is None:  # not reaped: the group id is still ours
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sent)

    # ------------------------------------------------------------------ calls
    def call(self, name: str, arguments: dict[str, Any], timeout: float) -> str:
        if self._ended is not None:
            raise ToolError(f"the MCP server is not running: {self._ended}")
        with self._lock:
            self._in_flight += 1
        try:
            future = asyncio.run_coroutine_threadsafe(self._call(name, arguments, timeout), self.loop_thread.loop)
            try:
                return future.result(timeout + _CALL_GRACE)
            except concurrent.futures.TimeoutError:
                future.cancel()
                self.timeouts += 1
                raise ToolTimeout(timeout) from None
            except concurrent.futures.CancelledError:
                raise ToolError("the MCP session was closed during the call") from None
        except RuntimeError as exc:  # the loop stopped before the call could start
            raise ToolError(f"the MCP session ended during the call ({exc})") from None
        finally:
            with self._lock:
                self._in_flight -= 1

    async def acall(self, name: str, arguments: dict[str, Any], timeout: float) -> str:
        """``call`` from any event loop: the call runs on this connection's loop; cancelling the
        awaiting task (a tool timeout) cancels it there too (counted as a timeout: its effect may
        still land on the server)."""
        if self._ended is not None:
            raise ToolError(f"the MCP server is not running: {self._ended}")
        with self._lock:
            self._in_flight += 1
        try:
            try:
                future = asyncio.run_coroutine_threadsafe(self._call(name, arguments, timeout), self.loop_thread.loop)
            except RuntimeError as exc:  # the loop stopped before the call could start
                raise ToolError(f"the MCP session ended before the call ({exc})") from None
            try:
                return await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                cancelling = getattr(task, "cancelling", None)
                if cancelling is None or cancelling():  # this call was cut short
                    self.timeouts += 1
                    raise
                raise ToolError("the MCP session was closed during the call") from None
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _call(self, name: str, arguments: dict[str, Any], timeout: float) -> str:
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED, PARSE_ERROR, REQUEST_TIMEOUT

        session = self._session
        if session is None:
            raise ToolError(f"the MCP server is not running: {self._ended or 'not started'}")
        if deeper_than(arguments, MAX_ARGUMENT_DEPTH):  # the server's JSON reader would drop the whole request
            raise ToolError(f"the arguments nest lists and objects more than {MAX_ARGUMENT_DEPTH} levels deep; the "
                            f"MCP server cannot read that")
        try:
            unreadable, infinite = not_unicode(arguments), not_finite(arguments)
        except RecursionError:  # nested deeper than Python's stack: the client's encoder will say so
            unreadable = infinite = None
        if unreadable is not None:  # JSON-RPC over stdio is UTF-8: a server reading it would die
            raise ToolError(f"{unreadable} is not valid unicode text (it has a lone surrogate); the MCP server "
                            f"cannot read it")
        if infinite is not None:  # JSON has no NaN or Infinity: the client would send null instead
            raise ToolError(f"{infinite} is not a finite number (NaN or infinite), which JSON cannot carry to "
                            f"the MCP server; write a number")
        try:
            result = await session.call_tool(name, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                self.timeouts += 1
                raise ToolTimeout(timeout) from None
            if exc.code == CONNECTION_CLOSED or self._ended is not None:
                raise ToolError(f"the MCP server went away during the call: {self._ended or exc.message}") from None
            if exc.code == PARSE_ERROR and exc.message.startswith(_UNREADABLE):  # see _unreadable_answer
                raise ToolError(exc.message) from None
            raise ToolError(f"the MCP server refused the call: {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - a malformed result, a session that ended
            if self._ended is not None:
                raise ToolError(f"the MCP server went away during the call: {self._ended}") from None
            raise ToolError(f"the MCP call failed: {_describe(exc)}") from None
        text = render_content(result)
        if getattr(result, "is_error", False):
            raise ToolError(text or "the tool reported an error")
        return text

    # ------------------------------------------------------------------ ending
    def close(self, grace: float) -> None:
        """End the session: gracefully when idle, at once (SIGKILL) when a call is in flight."""
        if self._in_flight:
            self.kill()
            return
        self._grace = grace
        self._finish(grace + 1.0 + 5.0 + 2.0)

    def kill(self) -> None:
        """Kill the server now (any thread) and wait until it is reaped and the loop stopped."""
        self._killed = True
        self._ended = self._ended or "the session was closed"
        self._grace = 0.0
        self._signal_group(signal.SIGKILL)
        self._finish(10.0)

    def _finish(self, wait: float) -> None:
        self._ended = self._ended or "the session was closed"
        stop = self._stop
        if stop is not None and self.loop_thread.running:
            with contextlib.suppress(RuntimeError):
                self.loop_thread.loop.call_soon_threadsafe(stop.set)
        owner = self._owner
        if owner is not None and threading.current_thread() is not self.loop_thread._thread:
            with contextlib.suppress(BaseException):
                owner.result(wait)
        if not (owner is None or owner.done()):
            self._signal_group(signal.SIGKILL)
        with self._lock:  # the loop is stopped once: a second stop could land in its final clean-up
            first, self._loop_stopping = not self._loop_stopping, True
        if first:
            self.loop_thread.stop()

    def _shown(self) -> str:
        return repr(" ".join(self.argv)[:120])

    def _stderr_note(self) -> str:
        tail = b"".join(self.stderr_tail).decode("utf-8", errors="replace").strip()
        return f"; its standard error ends with:\n{tail[-2000:]}" if tail else ""


def _import_client() -> None:
    """Import the parts of ``mcp`` the connection uses (the coroutines import them again, cheaply)."""
    import anyio  # noqa: F401
    import mcp.client.session  # noqa: F401
    import mcp.shared.message  # noqa: F401
    import mcp_types  # noqa: F401


def _unreadable_answer(text: str, problem: ValueError) -> Any:
    """For a line that answers a request (it has its ``id`` and a ``result`` or an ``error``) but
    cannot be read as a JSON-RPC message -- nested deeper than the JSON reader goes, a result of
    the wrong shape -- a parse error answering that request, so that its call fails at once
    rather than wait out its timeout as a skipped line would; ``None`` for any other line."""
    from mcp.shared.message import SessionMessage
    from mcp_types import PARSE_ERROR, ErrorData, JSONRPCError

    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return None
    answered = raw.get("id") if isinstance(raw, dict) and ("result" in raw or "error" in raw) else None
    if isinstance(answered, bool) or not isinstance(answered, (int, str)):
        return None
    errors = getattr(problem, "errors", None)
    reason = errors()[0]["msg"] if callable(errors) and errors() else str(problem).splitlines()[0]
    error = ErrorData(code=PARSE_ERROR, message=f"{_UNREADABLE} ({reason[:200]})")
    return SessionMessage(JSONRPCError(jsonrpc="2.0", id=answered, error=error))


async def _list_tools(session: Any) -> list[Any]:
    from mcp_types import PaginatedRequestParams

    tools: list[Any] = []
    cursor = None
    for _ in range(100):  # a server that pages forever cannot hang the start
        page = await session.list_tools(params=None if cursor is None else PaginatedRequestParams(cursor=cursor))
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


async def _group_ended(group: int, seconds: float) -> bool:
    """Whether no process of the process group ``group`` is left within ``seconds`` (polled in
    ``/proc``; where there is none, the group is taken as ended). Asked once the server itself
    has exited: a group's id is not given to a new process while one of its members lives, so a
    group still found is the server's, and signalling it is safe."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while _group_alive(group):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _group_alive(group: int) -> bool:
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    wanted = str(group).encode()
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()  # after the command: state, ppid, pgrp
            except (OSError, IndexError):
                continue
            if len(fields) > 2 and fields[2] == wanted and fields[0] != b"Z":  # a zombie has ended
                return True
    return False


async def _exited(process: Any, seconds: float) -> bool:
    """Whether ``process`` is reaped within ``seconds`` (polled: ``wait()`` would also wait for
    pipes a surviving grandchild may hold open)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while process.returncode is None:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.005)
    return True


def _describe(exc: BaseException) -> str:
    """``exc`` in a line or so: the first three problems of a pydantic ``ValidationError`` (a
    malformed result or listing; its own text is a dozen lines for one bad content block, each
    with a link to pydantic's site)."""
    inner = getattr(exc, "exceptions", None)  # an ExceptionGroup from the task groups
    if inner:
        return "; ".join(_describe(e) for e in inner)
    errors = getattr(exc, "errors", None)
    if callable(errors) and hasattr(exc, "error_count"):
        found = errors(include_url=False, include_input=False)
        shown = "; ".join(f"{'.'.join(map(str, error['loc'])) or 'the value'}: {error['msg']}" for error in found[:3])
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        return f"{type(exc).__name__} of {getattr(exc, 'title', 'a value')}: {shown}{more}"
    return f"{type(exc).__name__}: {exc}"
