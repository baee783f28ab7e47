"""Toolsets: tools that share per-episode state (a sandbox process, a database connection, an
MCP session), opened when an episode starts and closed when it ends."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, ClassVar

from agentgym.tools.tool import Tool

_STATE_LOCK = threading.Lock()


class Toolset:
    """A group of tools with a per-episode lifecycle.

    Write the tools as ``@tool`` methods; they share the state ``open`` builds::

        class Notes(Toolset):
            def open(self):
                self.notes = {}

            @tool
            def write(self, key: str, text: str) -> str:
                \"\"\"Keep a note under a key.\"\"\"
                self.notes[key] = text
                return "saved"

    An environment declares ``toolsets = (Notes,)`` (each environment instance then makes its
    own ``Notes()``), or builds instances in its ``__init__`` (``self.toolsets =
    (Sandbox(image=...),)``). The environment keeps this lifecycle, the same guarantees as its
    episode resources (see "Episode resources" in :mod:`agentgym.core`):

    * ``open`` (or ``async aopen``) runs at every ``reset``, after the environment's
      ``acquire_resources`` and before ``new_episode`` (which may use the open toolset, e.g. to
      load the task's data). If it raises, the reset fails and what was opened is closed.
    * ``close`` (or ``async aclose``) runs exactly once per successful open: when the episode
      terminates, is truncated by ``TurnLimit`` (``end_episode``), is abandoned by a ``reset``
      in the middle of it, when ``play`` raises, and at the environment's ``close`` — also from
      another thread while one of this toolset's tools is still running (a rollout that gave up
      on a hung step). ``close`` must then make that call return (kill the process, close the
      socket), not wait for it. A ``close`` that raises is not retried.
    * An ``async`` toolset (``aopen``/``aclose``/``async`` tools, e.g. an MCP client) used
      through the synchronous API runs on the environment's toolset loop: one event loop, in a
      thread of its own, from the first open until the environment closes, so what the session
      binds to its loop keeps working (and its background tasks keep running) between calls,
      and a close from another thread runs beside a hung call. Opened by ``await
      env.areset()`` it lives on that caller's loop instead.

    Between episodes a tool of a closed toolset is not run: the agent gets an error saying the
    session is closed. ``timeout`` (a class attribute) is the per-call bound of the tools that
    set none themselves. :meth:`injections` supplies the values of its tools' injected
    parameters, beside the environment's own.
    """

    #: The per-call timeout, in seconds, of this toolset's tools that do not set their own.
    timeout: ClassVar[float | None] = None
    _method_tools: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._method_tools = method_tool_names(cls)
        for name in ("open", "close", "aopen", "aclose", "tools", "injections", "is_open"):
            if name in cls._method_tools:
                raise TypeError(f"{cls.__name__}: a tool cannot be named {name!r}, a Toolset method of that name "
                                f"runs its lifecycle; pass @tool(name=...) to name it otherwise")
        for name in cls._method_tools:
            refuse_shadowing(cls, name)

    # ------------------------------------------------------------------ to implement
    def open(self) -> None:
        """Start this episode's session (a process, a connection...)."""

    def close(self) -> None:
        """End the session ``open`` started; may run in another thread while a tool call is in
        flight, and must make that call return."""

    async def aopen(self) -> None:
        """Async ``open``; the default calls the sync one."""
        self.open()

    async def aclose(self) -> None:
        """Async ``close``; the default calls the sync one."""
        self.close()

    def injections(self) -> dict[str, Any]:
        """Values of injected tool parameters, by parameter name (beside the environment's
        :meth:`~agentgym.core.LLMEnv.tool_injections`, which these override)."""
        return {}

    # ------------------------------------------------------------------ provided
    def tools(self) -> tuple[Tool, ...]:
        """This toolset's tools, bound to it (the ``@tool`` methods, in definition order), with
        the class's ``timeout`` where a tool sets none."""
        cached = self.__dict__.get("_agentgym_tools")
        if cached is None:
            cached = tuple(self._with_default_timeout(getattr(self, name)) for name in type(self)._method_tools)
            self.__dict__["_agentgym_tools"] = cached
        return cached

    def _with_default_timeout(self, bound: Tool) -> Tool:
        if bound.timeout is None and self.timeout is not None:
            from dataclasses import replace

            return replace(bound, timeout=self.timeout)
        return bound

    @property
    def is_open(self) -> bool:
        """Opened for the current episode and not closed since."""
        return _state(self).open

    def __getstate__(self) -> dict[str, Any]:
        """What ``copy.deepcopy`` and ``pickle`` take: the toolset between episodes, without its
        lifecycle bookkeeping (a lock) and its tools bound to it, which the copy makes anew; the
        copy is closed until its environment opens it. :class:`TypeError` while it is open (its
        session, a process or a connection, is the episode's)."""
        if self.is_open:
            raise TypeError(f"{type(self).__name__} cannot be copied or pickled while it is open: copy it "
                            f"before its episode starts or after it has ended")
        state = dict(self.__dict__)
        state.pop("_agentgym_state", None)
        state.pop("_agentgym_tools", None)
        return state

    # -------------------------------------------------- lifecycle bookkeeping (LLMEnv's)
    def _mark_opened(self, loop: asyncio.AbstractEventLoop | None) -> None:
        state = _state(self)
        with state.lock:
            state.open, state.loop = True, loop

    def _claim_close(self) -> bool:
        """Mark the toolset closed; ``True`` for the one caller that must run its close."""
        state = _state(self)
        with state.lock:
            was_open, state.open = state.open, False
        return was_open

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop it was opened on by ``aopen`` (``None``: the environment's private one)."""
        return _state(self).loop


class _State:
    __slots__ = ("lock", "open", "loop")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = False
        self.loop: asyncio.AbstractEventLoop | None = None


def _state(toolset: Toolset) -> _State:
    # Created on first use, so a subclass's __init__ need not call super().__init__().
    state = toolset.__dict__.get("_agentgym_state")
    if state is None:
        with _STATE_LOCK:
            state = toolset.__dict__.setdefault("_agentgym_state", _State())
    return state


def method_tool_names(cls: type) -> tuple[str, ...]:
    """The names of ``cls``'s ``@tool`` methods (its bases' first), in definition order."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Tool) and value.method and name not in names:
                names.append(name)
    return tuple(name for name in names if isinstance(inspect.getattr_static(cls, name), Tool))


def refuse_shadowing(cls: type, name: str) -> None:
    """TypeError when the ``@tool`` method ``name`` of ``cls`` replaces something a base class
    defines (an environment's ``close``, ``play``, ``reset``; a toolset's ``timeout``): the class's
    own code would use the tool in its place."""
    defined = [klass for klass in cls.__mro__ if name in vars(klass)]
    for klass in defined:
        value = vars(klass)[name]
        if not isinstance(value, Tool):
            kind = "method" if callable(value) or isinstance(value, (staticmethod, classmethod, property)) else "attribute"
            raise TypeError(f"{cls.__name__}: the @tool method {name!r} would replace the {kind} "
                            f"{klass.__name__}.{name} it inherits; give the method another name "
                            f"(@tool(name={name!r}) keeps the name the agent sees)")


def only_async(toolset: Toolset, hook: str) -> bool:
    """The toolset implements ``a<hook>`` but not ``<hook>`` (so the sync API runs a coroutine)."""
    cls = type(toolset)
    return getattr(cls, hook) is getattr(Toolset, hook) and getattr(cls, "a" + hook) is not getattr(Toolset, "a" + hook)
