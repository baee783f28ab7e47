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
cancellation); arguments a server could not read — text with a lone surrogate, NaN or an
infinity, lists and objects nested more than :data:`MAX_ARGUMENT_DEPTH` deep — are refused
before the call. Results are rendered as text: text blocks as they are, an embedded text
resource as its text after a ``[resource URI]`` line, and images, audio and binary resources as
one line naming their type and size — observations are text, so their data is not shown; with
no content block, the structured content as JSON. A result flagged ``isError``, an MCP protocol
error and a server that died mid-call are tool errors (``Error: ...``), never exceptions.

**Closing.** The toolset's ``close`` (at the episode's end, or from another thread while a
call hangs) and :meth:`~MCPToolset.shutdown` end the server: at rest it gets its stdin closed
and ``shutdown_grace`` seconds to exit (the MCP shutdown sequence), then SIGTERM and SIGKILL
for its whole process group; with a call in flight it is killed at once, which makes the call
return. They return when the process is gone (reaped); what is left of its process group then
(a helper the server started and did not end, or the server behind a launcher that exited) gets
the rest of the grace, then SIGTERM and SIGKILL. A shutdown while a server is still
starting (a ``reset`` in another thread) kills that one too and its start fails. A toolset
dropped without a shutdown, or still open at interpreter exit, kills its server then.

Each server's client session lives on an event loop in a thread of its own
(:class:`~agentgym.tools.loop_thread.LoopThread`) for as long as the server runs — across
episodes with ``scope="environment"`` — so the toolset works the same from ``step`` (the
environment's toolset loop awaits the call), ``astep`` (the caller's loop does), any thread,
and :meth:`~MCPToolset.call_hidden` (synchronous). Opening and closing are synchronous (a
server start blocks the caller; ``aopen``/``aclose`` run them in a worker thread).

Modules: this one has the toolset and its tools; :mod:`~agentgym.tools.mcp_connection` has one
server process and its session (:class:`~agentgym.tools.mcp_connection.Connection`, its
``stdio`` transport, start, calls and ending); :mod:`~agentgym.tools.mcp_convert` has the
conversions (input schemas to argument schemas, results to text).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib.util
import os
import re
import shlex
import threading
import weakref
from typing import Any, Iterable, Literal, Mapping, Sequence

from agentgym.tools.mcp_connection import (
    MAX_ARGUMENT_DEPTH,  # noqa: F401 - re-exported
    MAX_MESSAGE_BYTES,  # noqa: F401 - re-exported
    STDERR_TAIL_BYTES,  # noqa: F401 - re-exported
    Connection,
    MCPServerError,
)
from agentgym.tools.mcp_convert import agent_schema, render_content  # noqa: F401 - render_content re-exported
from agentgym.tools.tool import Tool, ToolError
from agentgym.tools.toolset import Toolset

INSTALL_HINT = "pip install 'agentgym[mcp]'"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_LISTINGS: dict[tuple[Any, ...], list[Any]] = {}
_LISTINGS_LOCK = threading.Lock()


def require_mcp() -> None:
    """:class:`ImportError` naming the extra to install when the ``mcp`` package is missing."""
    if importlib.util.find_spec("mcp") is None:
        raise ImportError(f"MCPToolset needs the 'mcp' package (the MCP Python SDK, 2.x): {INSTALL_HINT}")


class MCPToolset(Toolset):
    """The tools of an MCP server started with ``command``, as a toolset (see the module docstring).

    Args:
        command: the server's command line: a list of arguments (the program first; an argument
            may be empty, none may hold a NUL), or one string split like a shell would (no shell
            runs it; ``""`` is an empty argument).
        env: environment variables set for the server on top of this process's environment
            (which it inherits: ``PATH``, ``HOME``...; a name given here wins); ``None``: this
            process's environment as it is.
        cwd: the server's working directory.
        scope: ``"episode"`` (a server per episode) or ``"environment"`` (one server for the
            toolset's life; see the module docstring).
        hidden: server tool names not offered to the agent (:meth:`call_hidden` calls them).
        include: only these server tools are offered (``None``: all but ``hidden``). Every name
            of ``hidden`` and ``include`` must be a tool of the server (else the listing raises
            :class:`MCPServerError`: a misspelt hidden name would offer the tool to the agent).
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
        try:
            argv = shlex.split(command) if isinstance(command, str) else (
                list(command) if _is_sequence(command) else None)
        except ValueError as exc:  # an unclosed quote
            raise _config_error(f"MCPToolset: the command line {command!r} cannot be split like a shell would: "
                                f"{exc}") from None
        if not argv or not argv[0] or not all(isinstance(part, str) and "\0" not in part for part in argv):
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
        self._connection: Connection | None = None
        self._agent_tools: tuple[Tool, ...] | None = None
        self._timeouts_at_open = 0
        self._finalizer: weakref.finalize | None = None
        self._starting: set[Connection] = set()
        self._shutdowns = 0  # a shutdown while a server starts discards that server

    # ------------------------------------------------------------------ the toolset's tools
    def tools(self) -> tuple[Tool, ...]:
        """The server's tools the agent may call (its listing is read once; see the module docstring).
        A listing that cannot be offered raises :class:`MCPServerError` and leaves no server running."""
        if self._agent_tools is None:
            shutdowns = self._shutdowns
            listing, connection = self._listing()
            try:
                tools = _agent_tools(self, listing)
            except BaseException:
                if connection is not None:
                    connection.close(self.shutdown_grace)
                raise
            if connection is not None:
                self._adopt(connection, shutdowns)  # the server the first episode will use
            with self._lock:
                if self._agent_tools is None:
                    self._agent_tools = tools
        return self._agent_tools

    def _listing(self) -> tuple[list[Any], "Connection | None"]:
        """The server's listing, and (``scope="environment"``) the server started to read it, if one was."""
        key = (self.command, tuple(sorted((self.env or {}).items())), self.cwd)
        with _LISTINGS_LOCK:
            cached = _LISTINGS.get(key)
        if cached is not None:
            return cached, None
        connection = self._start_connection()
        with _LISTINGS_LOCK:
            _LISTINGS.setdefault(key, connection.listing)
        if self.scope == "environment":
            return connection.listing, connection
        connection.close(self.shutdown_grace)
        return connection.listing, None

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

    def _end(self, connection: "Connection") -> None:
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
        the rendered result; :class:`~agentgym.tools.ToolError` for an error result, a toolset
        that is not open or a dead server (saying which, and why it ended),
        :class:`~agentgym.tools.invoke.ToolTimeout` past ``timeout`` (default ``call_timeout``).
        For the environment, never the agent."""
        connection = self._connection
        if connection is None:
            raise ToolError("the MCP server is not running (the toolset is not open)")
        return connection.call(name, dict(arguments or {}), self.call_timeout if timeout is None else timeout)

    # ------------------------------------------------------------------ helpers
    def _start_connection(self) -> "Connection":
        connection = Connection(self.command, self.env, self.cwd, label=os.path.basename(self.command[0]))
        with self._lock:
            self._starting.add(connection)
        try:
            connection.start(self.startup_timeout, self.shutdown_grace)
        finally:
            with self._lock:
                self._starting.discard(connection)
        return connection

    def _adopt(self, connection: "Connection", shutdowns: int) -> None:
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

    def __getstate__(self) -> dict[str, Any]:
        """What ``copy.deepcopy`` and ``pickle`` take: the configuration, between episodes (see
        :meth:`Toolset.__getstate__ <agentgym.tools.Toolset.__getstate__>`), without the
        running server (``scope="environment"``) and its session: the copy starts its own."""
        state = super().__getstate__()
        for name in ("_lock", "_connection", "_finalizer", "_starting"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._connection = None
        self._finalizer = None
        self._starting = set()

    def __repr__(self) -> str:
        return f"MCPToolset({' '.join(self.command)!r}, scope={self.scope!r})"


# ---------------------------------------------------------------------- the agent's tools
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
        parameters = agent_schema(entry.input_schema, strict=toolset.strict_arguments, name=server_name)
        try:
            tools.append(Tool(name, description, _caller(toolset, server_name), parameters,
                              timeout=toolset.call_timeout))
        except (TypeError, ValueError) as exc:
            raise MCPServerError(f"the MCP server's tool {server_name!r} cannot be offered: {exc}") from None
    listed = {entry.name for entry in listing}
    for what, named in (("include", toolset.include or frozenset()), ("hidden", toolset.hidden)):
        missing = sorted(named - listed)
        if missing:  # a misspelt hidden name would leave the tool it meant offered to the agent
            raise MCPServerError(f"{what} names tools the MCP server does not have: {', '.join(missing)}; it has: "
                                 f"{', '.join(entry.name for entry in listing)}")
    return tuple(tools)


def _caller(toolset: MCPToolset, server_name: str) -> Any:
    """The function of the agent's tool ``server_name``: a call on ``toolset``'s running server."""
    call = functools.partial(_call, _Owner(toolset), server_name)
    call.__name__ = f"mcp_{_NAME_CHARS.sub('_', server_name)}"  # type: ignore[attr-defined]
    return call


async def _call(owner: "_Owner", server_name: str, /, **arguments: Any) -> str:
    live = owner.toolset()
    connection = None if live is None else live._connection
    if connection is None:
        raise ToolError("the MCP session is closed")
    # The server's own read timeout a little past the tool's: the tool's bound (which cancels
    # this call, and so sends the server a cancellation) is the one the agent reads.
    return await connection.acall(server_name, arguments, live.call_timeout + 1.0)


class _Owner:
    """A tool's toolset, held weakly (the tool must not keep a dropped toolset, and its server,
    alive); a copy of the tool (``copy.deepcopy`` or ``pickle`` of its environment) is a tool of
    the copy of the toolset, not of this one."""

    __slots__ = ("toolset",)

    def __init__(self, toolset: MCPToolset) -> None:
        self.toolset = weakref.ref(toolset)

    def __deepcopy__(self, memo: dict[int, Any]) -> "_Owner":
        live = self.toolset()
        return self if live is None else _Owner(copy.deepcopy(live, memo))

    def __reduce__(self) -> tuple[Any, ...]:
        return _Owner, (self.toolset(),)


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
