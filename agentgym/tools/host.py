"""What an environment needs to offer tools: :class:`ToolHost`, a base of
:class:`~agentgym.core.LLMEnv` (see "Tools" in :mod:`agentgym.core` for the contract).

It keeps the environment's tools (static ``tools``, ``@tool`` methods of the class, the tools of
its ``toolsets``), runs calls (:meth:`ToolHost.call_tool`) and implements the toolset hooks
(``_open_toolset``/``_close_toolset`` and their async twins) that ``LLMEnv``'s reset and release
programs call, which give toolsets the episode-resource guarantees.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any, ClassVar, Sequence, TypeVar

from agentgym.tools.formats import DEFAULT_FORMATS
from agentgym.tools.invoke import ToolOutcome, ainvoke, bounded, invoke, unavailable, unknown_tool
from agentgym.tools.loop_thread import LoopThread
from agentgym.tools.tool import Tool
from agentgym.tools.toolset import Toolset, method_tool_names, only_async as _toolset_only_async, refuse_shadowing

_T = TypeVar("_T")


class ToolHost:
    """The tool half of an environment. The host class (``LLMEnv``) calls :meth:`_init_tools`
    in its ``__init__``, runs the hooks below from its reset and release programs, and provides
    ``_run_coroutine(coroutine, hook)`` (its private event loop), where static ``async`` tools
    run."""

    #: Tools the agent may call (see :mod:`agentgym.tools`).
    tools: Sequence[Tool] = ()
    #: Toolsets whose tools share per-episode state: Toolset classes (each environment makes its
    #: own instance) or, set in ``__init__``, instances.
    toolsets: Sequence[Any] = ()
    #: How the agent writes tool calls: names of built-in formats or format objects
    #: (:mod:`agentgym.tools.formats`).
    tool_call_formats: Sequence[Any] = DEFAULT_FORMATS
    _method_tools: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._method_tools = method_tool_names(cls)
        for name in cls._method_tools:
            refuse_shadowing(cls, name)

    def _init_tools(self) -> None:
        self._toolsets_open: list[Toolset] = []
        self._toolsets_lock = threading.Lock()
        self._toolset_loop: LoopThread | None = None

    def _tool_state_to_copy(self, state: dict[str, Any]) -> dict[str, Any]:
        """``state`` (a copy of ``__dict__``) as a copy or a pickle takes it: without the lock and
        the toolset loop, which the copy makes anew; ``TypeError`` while a toolset is open (its
        session, a process or a connection, cannot be copied)."""
        if state.get("_toolsets_open"):
            names = ", ".join(type(t).__name__ for t in state["_toolsets_open"])
            raise TypeError(f"{type(self).__name__} cannot be copied or pickled while its toolsets are open "
                            f"({names}): copy it before reset() or after the episode has ended")
        state["_toolsets_lock"] = state["_toolset_loop"] = None
        return state

    def _restore_tool_state(self) -> None:
        self._toolsets_lock = threading.Lock()

    def _claim_open_toolsets(self) -> list[Toolset]:
        """The open toolsets, last opened first, each claimed for closing by this caller alone
        (two threads releasing at once never close one twice)."""
        with self._toolsets_lock:
            toolsets, self._toolsets_open = self._toolsets_open[::-1], []
        return [toolset for toolset in toolsets if toolset._claim_close()]

    def _refuse_toolset_close_inside_loop(self, async_call: str) -> None:
        """A sync close of a toolset bound to the loop running in this thread would deadlock."""
        here = _running_loop()
        if here is not None and any(_toolset_only_async(t, "close") and t._loop() is here for t in self._toolsets_open):
            raise RuntimeError(
                f"{type(self).__name__} has an open toolset with an async close on the event loop running in "
                f"this thread: use `await env.{async_call}` instead of the synchronous call"
            )

    def toolset_instances(self) -> tuple[Toolset, ...]:
        """This environment's toolsets: ``toolsets`` with each class made into an instance (once
        per environment). :class:`ConfigError` for an entry that is neither, or for an instance
        declared on the class (it would be shared by every environment)."""
        source = self.toolsets
        cached = self.__dict__.get("_toolsets_cache")
        if cached is not None and cached[0] is source:
            return cached[1]
        owner = f"{type(self).__name__}.toolsets"
        declared_on_class = "toolsets" not in self.__dict__
        if isinstance(source, (str, bytes, Toolset)) or not isinstance(source, Sequence):
            raise _config_error(f"{owner} must be a tuple of Toolset classes or instances, got {source!r}")
        instances = []
        for entry in source:
            if isinstance(entry, type) and issubclass(entry, Toolset):
                try:
                    instances.append(entry())
                except TypeError as exc:
                    raise _config_error(f"{owner}: {entry.__name__}() cannot be made without arguments ({exc}); "
                                      f"build it in __init__: self.toolsets = ({entry.__name__}(...),)") from None
            elif isinstance(entry, Toolset):
                if declared_on_class:
                    raise _config_error(f"{owner}: the instance {entry!r} is declared on the class, so every "
                                      f"environment would share its session; declare the class "
                                      f"({type(entry).__name__}) or build instances in __init__")
                instances.append(entry)
            else:
                raise _config_error(f"{owner}: {entry!r} is neither a Toolset subclass nor a Toolset instance")
        result = tuple(instances)
        self.__dict__["_toolsets_cache"] = (source, result)
        return result

    def all_tools(self) -> tuple[Tool, ...]:
        """Every tool the agent may call: ``tools``, the environment's own ``@tool`` methods
        (bound), then each toolset's tools. :class:`ConfigError` when two share a name."""
        return self._tools_built()[1]

    def _tool_index(self) -> dict[str, tuple[Tool, Toolset | None]]:
        """Every tool by name, with its toolset (each step looks tools up here)."""
        return self._tools_built()[0]

    def _tools_built(self) -> tuple[dict[str, tuple[Tool, Toolset | None]], tuple[Tool, ...]]:
        """The tool index and :meth:`all_tools`' tuple, rebuilt when ``tools`` or ``toolsets``
        is replaced (every reset reads the tuple: it is built once, not per reset)."""
        key = (self.tools, self.toolsets)
        cached = self.__dict__.get("_tools_built_cache")
        if cached is not None and cached[0][0] is key[0] and cached[0][1] is key[1]:
            return cached[1]
        index = {tool.name: (tool, toolset) for tool, toolset in self._tool_entries()}
        built = (index, tuple(tool for tool, _ in index.values()))
        self.__dict__["_tools_built_cache"] = (key, built)
        return built

    def _tool_entries(self) -> list[tuple[Tool, Toolset | None]]:
        entries: list[tuple[Tool, Toolset | None]] = [(tool, None) for tool in self.tools]
        if self._method_tools:
            bound = self.__dict__.get("_bound_method_tools")
            if bound is None:
                bound = self.__dict__["_bound_method_tools"] = tuple(getattr(self, n) for n in self._method_tools)
            entries += [(tool, None) for tool in bound]
        for toolset in self.toolset_instances():
            entries += [(tool, toolset) for tool in toolset.tools()]
        if len({tool.name for tool, _ in entries}) != len(entries):
            seen: set[str] = set()
            twice = sorted({t.name for t, _ in entries if t.name in seen or seen.add(t.name)})
            raise _config_error(f"{type(self).__name__}: two tools are named {', '.join(map(repr, twice))}; "
                              f"tool names must be unique (pass @tool(name=...) to rename one)")
        return entries

    def tool_injections(self) -> dict[str, Any]:
        """Values for the injected parameters of this environment's tools, by parameter name
        (a toolset's :meth:`~agentgym.tools.Toolset.injections` add to them). The default
        offers the environment itself as ``env``; override to add a session id, a connection."""
        return {"env": self}

    def call_tool(self, name: str, arguments: Any) -> ToolOutcome:
        """Run one tool call from synchronous code and return what the agent should read.

        Never raises for what the agent or the tool did: an unknown name, arguments that do not
        fit the schema (types included), a tool that raises or runs past its timeout, a closed
        toolset — each is a failed :class:`~agentgym.tools.ToolOutcome` saying what was wrong.
        ``async`` tools run on the loop their toolset lives on (see "Tools" above).
        """
        index = self._tool_index()
        found = index.get(name) if isinstance(name, str) else None
        if found is None:
            return unknown_tool(name, list(index))
        tool, toolset = found
        if toolset is not None and not toolset.is_open:
            return unavailable(name)
        if toolset is None:  # where the environment's own async hooks run
            def run_coroutine(factory: Any, timeout: float | None) -> Any:
                return self._run_coroutine(bounded(factory, timeout), "play")
        else:
            def run_coroutine(factory: Any, timeout: float | None) -> Any:
                return self._run_toolset_coroutine(toolset, factory, timeout)
        return invoke(tool, arguments, injections=lambda: self._injections_for(toolset), run_coroutine=run_coroutine)

    async def acall_tool(self, name: str, arguments: Any) -> ToolOutcome:
        """``call_tool`` for event loops: an ``async`` tool whose toolset lives on the running
        loop (or that has no toolset) is awaited here; anything else runs ``call_tool`` in a
        worker thread."""
        found = self._tool_index().get(name) if isinstance(name, str) else None
        if found is not None and found[0].is_async and (found[1] is None or found[1]._loop() is _running_loop()):
            tool, toolset = found
            if toolset is not None and not toolset.is_open:
                return unavailable(name)
            return await ainvoke(tool, arguments, injections=lambda: self._injections_for(toolset))
        return await asyncio.to_thread(self.call_tool, name, arguments)

    def _injections_for(self, toolset: Toolset | None) -> dict[str, Any]:
        values = dict(self.tool_injections())
        if toolset is not None:
            values.update(toolset.injections())
        return values

    # The toolset hooks of the contract program: ``_drive_sync`` calls the first of each pair,
    # ``_drive_async`` awaits the second (``"a" + name``).
    def _open_toolset(self, toolset: Toolset) -> None:
        if _toolset_only_async(toolset, "open"):
            self._toolset_loop_thread().run(toolset.aopen())
        else:
            toolset.open()
        self._toolset_opened(toolset, None)

    async def a_open_toolset(self, toolset: Toolset) -> None:
        await toolset.aopen()
        self._toolset_opened(toolset, asyncio.get_running_loop())

    def _toolset_opened(self, toolset: Toolset, loop: asyncio.AbstractEventLoop | None) -> None:
        with self._toolsets_lock:
            toolset._mark_opened(loop)
            self._toolsets_open.append(toolset)

    def _close_toolset(self, toolset: Toolset) -> None:
        if _toolset_only_async(toolset, "close"):
            self._run_toolset_coroutine(toolset, toolset.aclose, None)
        else:
            toolset.close()

    async def a_close_toolset(self, toolset: Toolset) -> None:
        loop = toolset._loop()
        if loop is None and _toolset_only_async(toolset, "close"):  # opened on the toolset loop: close it there
            loop = self._toolset_loop_thread().loop
        if _running_elsewhere(loop):
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(toolset.aclose(), loop))
        else:
            await toolset.aclose()

    def _run_toolset_coroutine(self, toolset: Toolset, factory: Any, timeout: float | None) -> Any:
        """Run ``factory()`` (one of ``toolset``'s coroutines) from synchronous code within
        ``timeout``: on the loop ``areset`` opened the toolset on when that loop runs in
        another thread, else on the environment's toolset loop (a thread of its own)."""
        loop = toolset._loop()
        if loop is not None and not loop.is_closed():
            if _running_elsewhere(loop):
                future = asyncio.run_coroutine_threadsafe(bounded(factory, timeout), loop)
                return future.result()
            if loop is _running_loop():
                raise RuntimeError(f"{type(toolset).__name__} lives on the event loop running in this thread: "
                                   f"use `await env.unwrapped.acall_tool(...)` / `await env.aclose()`")
        return self._toolset_loop_thread().run(bounded(factory, timeout), timeout)

    def _toolset_loop_thread(self) -> LoopThread:
        """The loop of async toolsets used through the synchronous API, started on first use and
        stopped by ``close``."""
        with self._toolsets_lock:
            if self._toolset_loop is None or not self._toolset_loop.running:
                self._toolset_loop = LoopThread(f"agentgym-toolsets-{type(self).__name__}")
                weakref.finalize(self, self._toolset_loop.stop).atexit = False
            return self._toolset_loop

    def _stop_toolset_loop(self) -> None:
        with self._toolsets_lock:
            loop, self._toolset_loop = self._toolset_loop, None
        if loop is not None:
            loop.stop()

    def toolset(self, kind: type[_T]) -> _T:
        """This environment's toolset of class ``kind`` (e.g. for ``new_episode`` to load the
        task into the session ``open`` started). :class:`ConfigError` when it has none."""
        for toolset in self.toolset_instances():
            if isinstance(toolset, kind):
                return toolset
        raise _config_error(f"{type(self).__name__} has no {getattr(kind, '__name__', kind)} toolset; "
                          f"its toolsets: {[type(t).__name__ for t in self.toolset_instances()]}")


def _config_error(message: str) -> Exception:
    from agentgym.core import ConfigError

    return ConfigError(message)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _running_elsewhere(loop: asyncio.AbstractEventLoop | None) -> bool:
    """``loop`` is running, in another thread than this one."""
    return loop is not None and not loop.is_closed() and loop.is_running() and loop is not _running_loop()
