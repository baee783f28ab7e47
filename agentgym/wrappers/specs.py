"""Wrappers described as data: a name and keyword arguments, so that another process (an
environment server, a Ray actor) can build exactly the wrapper stack a caller asks for.

    spec = WrapperSpec("AnswerFormat", {"format": "boxed"})
    env = agentgym.make("games/Wordle-v0", wrappers=[spec])      # a spec is a wrapper factory
    spec.to_data()                                               # {"name": "AnswerFormat", "kwargs": {"format": "boxed"}}
    WrapperSpec.from_data({"name": "ToolCalling"})               # and back

A name is looked up in a registry of wrapper classes (:func:`register_wrapper`): agentgym's own
are registered under their class names. Only registered names can be built from data, and a
registry entry marked ``remote_safe=False`` (a wrapper that writes files, such as
:class:`~agentgym.wrappers.TrajectoryRecorder`) is refused where the data comes from a client
(:func:`build_wrappers` with ``remote=True``).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import gymnasium as gym


@dataclass(frozen=True)
class _Entry:
    wrapper: Callable[..., gym.Env]
    remote_safe: bool


_REGISTRY: dict[str, _Entry] = {}


def register_wrapper(name: str, wrapper: Callable[..., gym.Env], *, remote_safe: bool = True) -> None:
    """Make ``wrapper`` (a class or function ``wrapper(env, **kwargs) -> env``) buildable from
    data as ``name``. ``remote_safe=False`` for wrappers a remote client must not ask a server
    for (they write files, run code...). Registering a name again replaces it."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a wrapper name must be a non-empty string, got {name!r}")
    if not callable(wrapper):
        raise TypeError(f"wrapper {name!r} must be callable (a wrapper class), got {wrapper!r}")
    _REGISTRY[name] = _Entry(wrapper, remote_safe)


def registered_wrappers() -> list[str]:
    """The names :class:`WrapperSpec` can build, sorted."""
    return sorted(_REGISTRY)


@dataclass(frozen=True)
class WrapperSpec:
    """A wrapper as data: a registered ``name`` and JSON-safe keyword arguments.

    Calling a spec with an environment builds the wrapper, so a spec goes wherever a wrapper
    factory does (``agentgym.make(..., wrappers=[...])``, ``RolloutConfig.wrappers``).
    """

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in _REGISTRY:
            raise ValueError(f"unknown wrapper {self.name!r}; registered wrappers: {', '.join(registered_wrappers())}")
        if not isinstance(self.kwargs, Mapping) or not all(isinstance(k, str) for k in self.kwargs):
            raise TypeError(f"wrapper {self.name!r}: kwargs must be a mapping of names to values, got {self.kwargs!r}")
        try:
            json.dumps(dict(self.kwargs), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"wrapper {self.name!r}: kwargs must be JSON data ({exc})") from None
        problem = argument_problem(_REGISTRY[self.name].wrapper, self.kwargs)
        if problem:
            raise TypeError(f"wrapper {self.name!r}: {problem}")
        object.__setattr__(self, "kwargs", dict(self.kwargs))

    def __call__(self, env: gym.Env) -> gym.Env:
        return _REGISTRY[self.name].wrapper(env, **self.kwargs)

    @property
    def remote_safe(self) -> bool:
        return _REGISTRY[self.name].remote_safe

    def to_data(self) -> dict[str, Any]:
        return {"name": self.name, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_data(cls, data: str | Mapping[str, Any]) -> WrapperSpec:
        """A spec from ``"Name"`` or ``{"name": ..., "kwargs": {...}}`` (a clear error otherwise)."""
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, Mapping) or "name" not in data or set(data) - {"name", "kwargs"}:
            raise ValueError(f'a wrapper is "Name" or {{"name": ..., "kwargs": {{...}}}}, got {data!r}')
        return cls(data["name"], data.get("kwargs") or {})


def argument_problem(wrapper: Callable[..., gym.Env], kwargs: Mapping[str, Any]) -> str | None:
    """Why ``wrapper(env, **kwargs)`` cannot be called (an argument it does not take, a required
    one missing), or ``None``; also ``None`` for a wrapper whose signature cannot be read (its
    call then says). Only the names are checked, not the values."""
    try:
        signature = inspect.signature(wrapper)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())
    if parameters and parameters[0].name in kwargs:
        return f"{parameters[0].name!r} is the environment, given when the wrapper is built, not an argument"
    named = [p.name for p in parameters[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        unknown = [name for name in kwargs if name not in named]
        if unknown:
            return f"no argument {unknown[0]!r}; it takes: {', '.join(named) or 'no arguments'}"
    try:
        signature.bind(None, **kwargs)
    except TypeError as exc:
        return str(exc)
    return None


def as_wrapper_specs(wrappers: Sequence[Any], *, what: str = "wrappers") -> list[WrapperSpec]:
    """``wrappers`` as specs: specs, data (names, dicts) and registered wrapper classes are
    accepted; anything else (a lambda, a closure) cannot cross a process boundary and is a
    ``TypeError`` that says how to describe it."""
    by_class = {entry.wrapper: name for name, entry in _REGISTRY.items()}
    specs = []
    for wrapper in wrappers:
        if isinstance(wrapper, WrapperSpec):
            specs.append(wrapper)
        elif isinstance(wrapper, (str, Mapping)):
            specs.append(WrapperSpec.from_data(wrapper))
        elif wrapper in by_class:
            specs.append(WrapperSpec(by_class[wrapper]))
        else:
            raise TypeError(
                f"{what}: {wrapper!r} cannot be described as data; use WrapperSpec(name, kwargs) with a "
                f"registered wrapper ({', '.join(registered_wrappers())}), or register yours with "
                "agentgym.wrappers.register_wrapper"
            )
    return specs


def build_wrappers(env: gym.Env, specs: Sequence[WrapperSpec], *, remote: bool = False) -> gym.Env:
    """Wrap ``env`` with ``specs`` (innermost first). With ``remote=True`` (the specs came from
    a client) wrappers not marked remote-safe are refused with ``PermissionError``."""
    for spec in specs:
        if remote and not spec.remote_safe:
            raise PermissionError(f"wrapper {spec.name!r} cannot be requested by a remote client")
        env = spec(env)
    return env
