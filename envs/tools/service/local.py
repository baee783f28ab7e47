"""The store's tools run in-process: a :class:`~agentgym.tools.Toolset` over the same specs the
MCP server serves (:mod:`~agentgym.envs.tools.service.api`), for environments that want the
store without a server process (the multi-tool environment) and for checks over many worlds.

The environment loads a world into it each episode (:meth:`LocalStore.load`, after ``reset``
opened it); a refused call is a :class:`~agentgym.tools.ToolError` with the store's message,
exactly the text the server sends.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Iterable

from agentgym.envs.tools.service.api import AGENT_TOOLS, SPECS, ToolSpec
from agentgym.envs.tools.service.store import Refused, Store, World
from agentgym.tools import Tool, ToolError, Toolset


class LocalStore(Toolset):
    """The store's agent tools (all, or the names in ``only``) on a world held in memory.

    Args:
        only: the tool names to offer (``None``: every agent tool of the store; one name may be
            given as a string).
    """

    def __init__(self, only: Iterable[str] | str | None = None) -> None:
        names = None if only is None else {only} if isinstance(only, str) else set(only)
        specs = AGENT_TOOLS if names is None else tuple(spec for spec in AGENT_TOOLS if spec.name in names)
        if names is not None and len(specs) != len(names):
            unknown = sorted(map(repr, names - {spec.name for spec in AGENT_TOOLS}))
            raise ValueError(f"LocalStore: no store tools named {', '.join(unknown)}")
        self.specs: tuple[ToolSpec, ...] = specs
        self.store: Store | None = None
        # Each tool runs a bound method: a copy of the toolset (``copy.deepcopy`` of its environment
        # between episodes) gets tools that run on the copy's store, not on this one's.
        self._tools = tuple(Tool(spec.name, spec.description, functools.partial(self._run, spec.name),
                                 spec.parameters) for spec in specs)

    def tools(self) -> tuple[Tool, ...]:
        return self._tools

    def open(self) -> None:
        self.store = None

    def close(self) -> None:
        self.store = None

    def load(self, world: World) -> None:
        """Serve a private copy of ``world`` from now on."""
        self.store = Store(copy.deepcopy(world))

    @property
    def world(self) -> World | None:
        return None if self.store is None else self.store.world

    def _run(self, name: str, /, **arguments: Any) -> Any:
        """Run the store tool ``name`` on this toolset's store."""
        store = self.store
        if store is None:
            raise ToolError("the store is closed (no episode is running)")
        try:
            return SPECS[name].run(store, arguments)
        except Refused as exc:
            raise ToolError(str(exc)) from None
