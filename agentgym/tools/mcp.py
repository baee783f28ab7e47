"""Any MCP server's tools as a toolset: :class:`MCPToolset` starts the server as a child process,
speaks MCP to it over stdio (the ``mcp`` package's :class:`~mcp.ClientSession`), and offers its
tools to the agent as agentgym :class:`~agentgym.tools.Tool`\\ s::

    from agentgym.tools import MCPToolset

    class Files(LLMEnv):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.toolsets = (MCPToolset(["npx", "-y", "@modelcontextprotocol/server-filesystem", "/tmp/x"]),)

``mcp`` is an optional dependency: ``pip install 'agentgym[mcp]'`` (``mcp>=2.3,<3``: the 2.x
client API).

**One server per episode, or one per environment** (``scope``). The server's process *is* its
session state, so the safe default, ``scope="episode"``, starts a fresh server at every
``reset`` and ends it when the episode ends: episodes never see each other's writes, whatever
the server — at the price of a process start per episode (about a second for a Python server,
most of it importing ``mcp``). ``scope="environment"`` keeps one server for the toolset's
life; the environment must then reset the server's state at every episode itself (the store
environment loads a fresh world through a hidden tool in ``new_episode``), and call
:meth:`MCPToolset.shutdown` when it closes. Even then an episode's close ends the server (and
the next ``open`` starts another) when a call was still running, a call timed out (its late
effect could land in the next episode) or the server died.

**Tools.** The server's listing (``tools/list``, every page) is read once per command line and
process (the first time the tools are asked for: ``agentgym.make`` asks, to add tool calling)
and assumed fixed. Each tool keeps its name (characters outside ``[A-Za-z0-9_-]`` become ``_``;
``prefix`` is put in front) and description; its input schema becomes the argument schema
(local ``$ref``\\ s inlined, ``title``\\ s dropped; with ``strict_arguments`` an argument the
schema does not name is refused before it reaches the server, which would often ignore it
silently). ``hidden`` tools are not offered to the agent; the environment still calls them
with :meth:`MCPToolset.call_hidden` (e.g. to load or read a state for grading).

**Calls.** The tools are ``async``: each call runs on the server's connection, bounded by
``call_timeout`` (past it the agent reads a timeout error and the server is sent a
cancellation). Results are rendered as text: text blocks as they are, an embedded text
resource as its text after a ``[resource URI]`` line, and images, audio and binary resources as
one line naming their type and size — observations are text, so their data is not shown; with
no content block, the structured content as JSON. A result flagged ``isError``, an MCP protocol
error and a server that died mid-call are tool errors (``Error: ...``), never exceptions.

**Closing.** The toolset's ``close`` (at the episode's end, or from another thread while a
call hangs) and :meth:`~MCPToolset.shutdown` end the server: at rest it gets its stdin closed
and ``shutdown_grace`` seconds to exit (the MCP shutdown sequence), then SIGTERM and SIGKILL
for its whole process group; with a call in flight it is killed at once, which makes the call
return. They return when the process is gone (reaped). A shutdown while a server is still
starting (a ``reset`` in another thread) kills that one too and its start fails. A toolset
dropped without a shutdown, or still open at interpreter exit, kills its server then.

Each server's client session lives on an event loop in a thread of its own
(:class:`~agentgym.tools.loop_thread.LoopThread`) for as long as the server runs — across
episodes with ``scope="environment"`` — so the toolset works the same from ``step`` (the
environment's toolset loop awaits the call), ``astep`` (the caller's loop does), any thread,
and :meth:`~MCPToolset.call_hidden` (synchronous). Opening and closing are synchronous (a
server start blocks the caller; ``aopen``/``aclose`` run them in a worker thread).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import copy
import importlib.util
import json
import os
import re
import shlex
import signal
import threading
import weakref
from typing import Any, Iterable, Literal, Mapping, Sequence

from agentgym.tools.invoke import ToolTimeout
from agentgym.tools.loop_thread import LoopThread
from agentgym.tools.tool import Tool, ToolError
from agentgym.tools.toolset import Toolset

INSTALL_HINT = "pip install 'agentgym[mcp]'"
#: The longest JSON-RPC message read from a server, in bytes (a bigger one ends the session).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: How much of the server's standard error is kept (shown when it fails to start).
STDERR_TAIL_BYTES = 8 * 1024
#: Seconds a call may wait for the loop past its own timeout (the loop answers in far less).
_CALL_GRACE = 5.0
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_LISTINGS: dict[tuple[Any, ...], list[Any]] = {}
_LISTINGS_LOCK = threading.Lock()


class MCPServerError(RuntimeError):
    """The MCP server could not be started, did not answer the handshake, or listed tools
    that cannot be offered (the message has the tail of its standard error)."""


def require_mcp() -> None:
    """:class:`ImportError` naming the extra to install when the ``mcp`` package is missing."""
    if importlib.util.find_spec("mcp") is None:
        raise ImportError(f"MCPToolset needs the 'mcp' package (the MCP Python SDK, 2.x): {INSTALL_HINT}")


class MCPToolset(Toolset):
    """The tools of an MCP server started with ``command``, as a toolset (see the module docstring).

    Args:
        command: the server's command line: a list of arguments, or one string split like a
            shell would (no shell runs it).
        env: environment variables of the server; ``None``: this process's.
        cwd: the server's working directory.
        scope: ``"episode"`` (a server per episode) or ``"environment"`` (one server for the
            toolset's life; see the module docstring).
        hidden: server tool names not offered to the agent (:meth:`call_hidden` calls them).
        include: only these server tools are offered (``None``: all but ``hidden``).
        prefix: put in front of every tool name the agent sees (two servers in one environment).
        strict_arguments: refuse arguments a tool's schema does not name (unless the schema
            itself says otherwise).
        call_timeout: seconds one call may take.
        startup_timeout: seconds the server may take to start and answer the handshake.
        shutdown_grace: seconds a server gets to exit after its stdin is closed.

    Raises:
        ImportError: the ``mcp`` package is not installed.
        ConfigError: a bad argument.
    """

    def __init__(self, command: Sequence[str] | str, *, env: Mapping[str, str] | None = None,
                 cwd: str | os.PathLike[str] | None = None, scope: Literal["episode", "environment"] = "episode",
                 hidden: Iterable[str] = (), include: Iterable[str] | None = None, prefix: str = "",
                 strict_arguments: bool = True, call_timeout: float = 30.0, startup_timeout: float = 60.0,
                 shutdown_grace: float = 2.0) -> None:
        require_mcp()
        argv = shlex.split(command) if isinstance(command, str) else list(command) if _is_sequence(command) else None
        if not argv or not all(isinstance(part, str) and part and "\0" not in part for part in argv):
            raise _config_error(f"MCPToolset: command must be a non-empty list of arguments or a command line, "
                                f"got {command!r}")
        if scope not in ("episode", "environment"):
            raise _config_error(f"MCPToolset: scope must be 'episode' or 'environment', got {scope!r}")
        if env is not None and not (isinstance(env, Mapping) and all(isinstance(k, str) and isinstance(v, str)
                                                                    for k, v in env.items())):
            raise _config_error("MCPToolset: env must map variable names to strings")
        if not isinstance(prefix, str) or _NAME_CHARS.search(prefix):
            raise _config_error(f"MCPToolset: prefix must be letters, digits, '_' or '-', got {prefix!r}")
        for name, value in (("call_timeout", call_timeout), ("startup_timeout", startup_timeout),
                            ("shutdown_grace", shutdown_grace)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise _config_error(f"MCPToolset: {name} must be a positive number of seconds, got {value!r}")
        self.command = tuple(argv)
        self.env = None if env is None else dict(env)
        self.cwd = None if cwd is None else os.fspath(cwd)
        self.scope = scope
        self.hidden = frozenset(_names("hidden", hidden))
        self.include = None if include is None else frozenset(_names("include", include))
        self.prefix = prefix
        self.strict_arguments = bool(strict_arguments)
        self.call_timeout = float(call_timeout)
        self.startup_timeout = float(startup_timeout)
        self.shutdown_grace = float(shutdown_grace)
        self._lock = threading.Lock()
        self._connection: _Connection | None = None
        self._agent_tools: tuple[Tool, ...] | None = None
        self._timeouts_at_open = 0
        self._finalizer: weakref.finalize | None = None
        self._starting: set[_Connection] = set()
        self._shutdowns = 0  # a shutdown while a server starts discards that server

    # ------------------------------------------------------------------ the toolset's tools
    def tools(self) -> tuple[Tool, ...]:
        """The server's tools the agent may call (its listing is read once; see the module docstring)."""
        if self._agent_tools is None:
            listing = self._listing()
            tools = _agent_tools(self, listing)
            with self._lock:
                if self._agent_tools is None:
                    self._agent_tools = tools
        return self._agent_tools

    def _listing(self) -> list[Any]:
        key = (self.command, tuple(sorted((self.env or {}).items())), self.cwd)
        with _LISTINGS_LOCK:
            cached = _LISTINGS.get(key)
        if cached is not None:
            return cached
        shutdowns = self._shutdowns
        connection = self._start_connection()
        with _LISTINGS_LOCK:
            _LISTINGS.setdefault(key, connection.listing)
        if self.scope == "environment":
            self._adopt(connection, shutdowns)  # the server the first episode will use
        else:
            connection.close(self.shutdown_grace)
        return connection.listing

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        """Start the server (``scope="environment"``: unless the last one still runs)."""
        shutdowns = self._shutdowns
        self.tools()  # the listing first: a bad listing fails the reset, not a later call
        with self._lock:
            current = self._connection
            if current is not None and current.alive and self.scope == "environment":
                self._timeouts_at_open = current.timeouts
                return
        self._adopt(self._start_connection(), shutdowns)

    async def aopen(self) -> None:
        await asyncio.to_thread(self.open)

    def close(self) -> None:
        """End the episode's server (kept, with ``scope="environment"``, when it is idle and
        healthy); may run in another thread while a call hangs, which it then makes return."""
        with self._lock:
            connection = self._connection
            keep = (self.scope == "environment" and connection is not None and connection.alive
                    and connection.calls_in_flight == 0 and connection.timeouts == self._timeouts_at_open)
            if not keep:
                self._connection = None
        if connection is not None and not keep:
            self._end(connection)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def shutdown(self) -> None:
        """End the server whatever the scope (idempotent; the environment's ``close`` calls it
        for ``scope="environment"``)."""
        with self._lock:
            connection, self._connection = self._connection, None
            self._shutdowns += 1
            starting = list(self._starting)
        for pending in starting:  # a server still starting (a reset in another thread): it fails at once
            pending.kill()
        if connection is not None:
            self._end(connection)

    def _end(self, connection: "_Connection") -> None:
        connection.close(self.shutdown_grace)
        with self._lock:
            if self._finalizer is not None and self._connection is None:
                self._finalizer.detach()
                self._finalizer = None

    @property
    def server_pid(self) -> int | None:
        """The running server's process id (``None`` when none runs)."""
        connection = self._connection
        return connection.pid if connection is not None and connection.alive else None

    # ------------------------------------------------------------------ calls
    def call_hidden(self, name: str, arguments: Mapping[str, Any] | None = None, *,
                    timeout: float | None = None) -> str:
        """Call any tool of the running server by its server name (a hidden one too) and return
        the rendered result; :class:`~agentgym.tools.ToolError` for an error result or a dead
        server, :class:`~agentgym.tools.invoke.ToolTimeout` past ``timeout``
        (default ``call_timeout``). For the environment, never the agent."""
        connection = self._connection
        if connection is None or not connection.alive:
            raise ToolError("the MCP server is not running (the toolset is not open)")
        return connection.call(name, dict(arguments or {}), self.call_timeout if timeout is None else timeout)

    # ------------------------------------------------------------------ helpers
    def _start_connection(self) -> "_Connection":
        connection = _Connection(self.command, self.env, self.cwd, label=os.path.basename(self.command[0]))
        with self._lock:
            self._starting.add(connection)
        try:
            connection.start(self.startup_timeout, self.shutdown_grace)
        finally:
            with self._lock:
                self._starting.discard(connection)
        return connection

    def _adopt(self, connection: "_Connection", shutdowns: int) -> None:
        previous = None
        with self._lock:
            discarded = shutdowns != self._shutdowns
            if not discarded:
                previous, self._connection = self._connection, connection
                self._timeouts_at_open = connection.timeouts
                if self._finalizer is not None:
                    self._finalizer.detach()
                # A toolset dropped (or left open at exit) without a shutdown still ends its server.
                self._finalizer = weakref.finalize(self, connection.kill)
        if discarded:
            connection.kill()
            raise MCPServerError("the toolset was shut down while its MCP server was starting")
        if previous is not None:
            previous.close(self.shutdown_grace)

    def __repr__(self) -> str:
        return f"MCPToolset({' '.join(self.command)!r}, scope={self.scope!r})"


# ---------------------------------------------------------------------- schemas and results
def _agent_tools(toolset: MCPToolset, listing: list[Any]) -> tuple[Tool, ...]:
    tools: list[Tool] = []
    names: dict[str, str] = {}
    for entry in listing:
        server_name = entry.name
        if server_name in toolset.hidden or (toolset.include is not None and server_name not in toolset.include):
            continue
        name = (toolset.prefix + _NAME_CHARS.sub("_", server_name))[:64]
        if name in names:
            raise MCPServerError(f"the MCP server's tools {names[name]!r} and {server_name!r} would both be offered "
                                 f"as {name!r}; hide one (hidden=...) or list the ones to offer (include=...)")
        names[name] = server_name
        description = entry.description or entry.title or f"The {server_name} tool of the MCP server."
        description = " ".join(description.split())
        parameters = agent_schema(entry.input_schema, strict=toolset.strict_arguments)
        try:
            tools.append(Tool(name, description, _caller(toolset, server_name), parameters,
                              timeout=toolset.call_timeout))
        except (TypeError, ValueError) as exc:
            raise MCPServerError(f"the MCP server's tool {server_name!r} cannot be offered: {exc}") from None
    missing = sorted((toolset.include or frozenset()) - {entry.name for entry in listing})
    if missing:
        raise MCPServerError(f"include names tools the MCP server does not have: {', '.join(missing)}; it has: "
                             f"{', '.join(entry.name for entry in listing)}")
    return tuple(tools)


def _caller(toolset: MCPToolset, server_name: str) -> Any:
    owner = weakref.ref(toolset)  # the tool must not keep a dropped toolset (and its server) alive

    async def call(**arguments: Any) -> str:
        live = owner()
        connection = None if live is None else live._connection
        if connection is None:
            raise ToolError("the MCP session is closed")
        # The server's own read timeout a little past the tool's: the tool's bound (which cancels
        # this call, and so sends the server a cancellation) is the one the agent reads.
        return await connection.acall(server_name, arguments, live.call_timeout + 1.0)

    call.__name__ = f"mcp_{_NAME_CHARS.sub('_', server_name)}"
    return call


_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMAS = ("items", "additionalProperties", "not", "contains", "if", "then", "else")


def agent_schema(schema: Any, *, strict: bool = True) -> dict[str, Any]:
    """A server tool's input schema as the argument schema agentgym checks: local ``$ref``\\ s
    (``#/$defs/...``, ``#/definitions/...``) inlined (a recursive one becomes ``{}``, any
    value), ``title`` annotations dropped, an ``object`` root with ``properties`` and
    ``required``; with ``strict``, ``additionalProperties: false`` where the root says nothing."""
    root = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    definitions = {**(root.get("definitions") or {}), **(root.get("$defs") or {})}

    def inline(node: Any, seen: frozenset[str]) -> Any:
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str):
            target = reference.rsplit("/", 1)[-1]
            if reference.startswith(("#/$defs/", "#/definitions/")) and target in definitions and target not in seen:
                merged = {**definitions[target], **{k: v for k, v in node.items() if k != "$ref"}}
                return inline(merged, seen | {target})
            return {k: v for k, v in node.items() if k not in ("$ref", "title")} if target in seen else {}
        out = {k: v for k, v in node.items() if k not in ("title", "$defs", "definitions", "$schema", "$id")}
        for key in _SUBSCHEMA_MAPS:
            if isinstance(out.get(key), dict):
                out[key] = {name: inline(sub, seen) for name, sub in out[key].items()}
        for key in _SUBSCHEMA_LISTS:
            if isinstance(out.get(key), list):
                out[key] = [inline(sub, seen) for sub in out[key]]
        for key in _SUBSCHEMAS:
            if isinstance(out.get(key), dict):
                out[key] = inline(out[key], seen)
        return out

    result = inline(root, frozenset())
    result["type"] = "object"
    if not isinstance(result.get("properties"), dict):
        result["properties"] = {}
    required = result.get("required")
    result["required"] = [name for name in required if isinstance(name, str)] if isinstance(required, list) else []
    if strict and "additionalProperties" not in result and "patternProperties" not in result:
        result["additionalProperties"] = False
    return result


def render_content(result: Any) -> str:
    """A ``CallToolResult``'s content as the text the agent reads (see the module docstring)."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} ({block.mime_type}, {_decoded_size(block.data)} bytes) not shown: "
                         f"this observation is text]")
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            if text is not None:
                parts.append(f"[resource {resource.uri}]\n{text}")
            else:
                mime = getattr(resource, "mime_type", None) or "binary"
                parts.append(f"[resource {resource.uri} ({mime}, {_decoded_size(resource.blob)} bytes) not shown]")
        elif kind == "resource_link":
            named = f" ({block.name})" if getattr(block, "name", None) else ""
            parts.append(f"[resource link: {block.uri}{named}]")
        else:
            parts.append(f"[{kind} content not shown]")
    if not parts and getattr(result, "structured_content", None) is not None:
        return json.dumps(result.structured_content, ensure_ascii=False, default=str)
    return "\n".join(parts)


def _decoded_size(data: str) -> int:
    return len(data) * 3 // 4 - data[-2:].count("=") if data else 0


# ---------------------------------------------------------------------- one server process
class _Connection:
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
            self.kill()
            if isinstance(exc, MCPServerError):
                raise
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
        ``grace`` seconds, then SIGTERM and SIGKILL the group, and wait until it is reaped."""
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
                            try:
                                parsed = jsonrpc_message_adapter.validate_json(line, by_name=False)
                                message: Any = SessionMessage(parsed)
                            except ValueError as exc:
                                message = exc
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
        for sent, wait in ((None, self._grace), (signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
            if sent is not None:
                self._signal_group(sent)
            if await _exited(process, wait):
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
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        session = self._session
        if session is None:
            raise ToolError(f"the MCP server is not running: {self._ended or 'not started'}")
        try:
            unreadable = _not_unicode(arguments)
        except RecursionError:  # nested deeper than Python's stack: the client's encoder will say so
            unreadable = None
        if unreadable is not None:  # JSON-RPC over stdio is UTF-8: a server reading it would die
            raise ToolError(f"{unreadable} is not valid unicode text (it has a lone surrogate); the MCP server "
                            f"cannot read it")
        try:
            result = await session.call_tool(name, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                self.timeouts += 1
                raise ToolTimeout(timeout) from None
            if exc.code == CONNECTION_CLOSED or self._ended is not None:
                raise ToolError(f"the MCP server went away during the call: {self._ended or exc.message}") from None
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


def _not_unicode(value: Any, where: str = "") -> str | None:
    """Where in a call's arguments a string (value or key) is not valid unicode text — a lone
    surrogate, which no UTF-8 stream can carry — as ``argument 'x'`` / ``item 2 of argument
    'x'`` / ``key 'k' of argument 'x'``; ``None`` when every string is."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "a value"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            inside = f"argument {key!r}" if not where else f"key {key!r} of {where}"
            if isinstance(key, str) and _not_unicode(key) is not None:
                return f"the name of {inside}" if not where else f"a key of {where}"
            found = _not_unicode(item, inside)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _not_unicode(item, f"item {index} of {where}" if where else f"item {index}")
            if found is not None:
                return found
    return None


def _describe(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)  # an ExceptionGroup from the task groups
    if inner:
        return "; ".join(_describe(e) for e in inner)
    return f"{type(exc).__name__}: {exc}"


def _names(what: str, names: Iterable[str]) -> list[str]:
    if isinstance(names, str):
        names = (names,)
    listed = list(names)
    if not all(isinstance(name, str) for name in listed):
        raise _config_error(f"MCPToolset: {what} must be tool names (strings), got {listed!r}")
    return listed


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _config_error(message: str) -> Exception:
    from agentgym.core import ConfigError

    return ConfigError(message)
