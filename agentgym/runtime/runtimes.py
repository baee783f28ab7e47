"""Where environments run, as configuration: a runtime turns an :class:`EnvSpec` into
:class:`~agentgym.runtime.EnvHandle`\\ s.

=============================  ==================================================================
``"thread"`` (default)         :class:`ThreadRuntime`: each environment in a thread of its own
``"process"``                  :class:`ProcessRuntime`: each environment in a child process,
                               killed when a call hangs (specs must be picklable)
``"ray"``                      :class:`RayRuntime`: environments in Ray worker actors, on this
                               machine or a cluster (``pip install 'agentgym[ray]'``)
``"http://host:port"``         :class:`ServerRuntime`: sessions of an ``agentgym serve-env``
                               server (wrappers must be data: :class:`~agentgym.wrappers.WrapperSpec`)
=============================  ==================================================================

A run scales from a laptop to a cluster by changing this one value
(``RolloutConfig(env_runtime="ray")``, ``[env] runtime = "ray"`` in a training config).
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import gymnasium as gym

from agentgym.runtime.handle import EnvHandle
from agentgym.runtime.local import LocalHandle, ProcessHandle
from agentgym.wrappers.specs import WrapperSpec, as_wrapper_specs


def check_stack_arguments(env_id: str, kwargs: Mapping[str, Any], max_turns: int | None) -> None:
    """Refuse environment arguments that :class:`EnvSpec` would pass to ``agentgym.make`` a
    second time: ``wrappers`` (the spec's own), and ``max_turns`` when the spec sets a budget
    too (``ConfigError``; ``make`` would raise "got multiple values" at every episode). A
    ``max_turns`` among the arguments alone is the task's own budget, as ``make`` takes it."""
    from agentgym.core import ConfigError

    if "wrappers" in kwargs:
        raise ConfigError(f"{env_id}: 'wrappers' is not an argument of the environment; give wrappers "
                          f"to the rollout or runtime (RolloutConfig.wrappers)")
    if "max_turns" in kwargs and max_turns is not None:
        raise ConfigError(f"{env_id}: the environment's arguments set max_turns={kwargs['max_turns']!r} and the "
                          f"rollout sets max_turns={max_turns!r}: give the turn budget in one place")


@dataclass(frozen=True)
class EnvSpec:
    """An environment stack as data: ``agentgym.make(env_id, wrappers=wrappers,
    max_turns=max_turns, **kwargs)`` wrapped by ``outer`` (innermost first).

    ``wrappers`` go inside the turn budget (``AnswerFormat``, ``ToolCalling``), ``outer`` outside
    it (``ChatHistory``, ``EnvHints``). Calling the spec builds the stack here; a remote runtime
    sends the spec and the other side builds it. ``registration`` (the id's
    :class:`~agentgym.registry.EnvInfo`) travels along so that a child process or an actor that
    never ran the ``agentgym.register`` call (an environment registered at run time, in a
    script) registers it before building; its entry point must then be importable there. It is
    filled in from this process's registry when the spec is made.
    """

    env_id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    max_turns: int | None = None  # None: the registered budget
    wrappers: Sequence[Any] = ()
    outer: Sequence[WrapperSpec] = ()
    registration: Any = None

    def __post_init__(self) -> None:
        check_stack_arguments(self.env_id, self.kwargs, self.max_turns)
        if self.registration is None:
            from agentgym.registry import env_info, is_registered

            if is_registered(self.env_id):
                object.__setattr__(self, "registration", env_info(self.env_id))

    def __call__(self) -> gym.Env:
        import agentgym
        from agentgym.registry import is_registered

        info = self.registration
        if info is not None and not is_registered(self.env_id):
            agentgym.register(info.id, info.entry_point, family=info.family, tags=info.tags,
                              description=info.description, max_turns=info.max_turns, kwargs=info.kwargs)
        turns = {} if self.max_turns is None else {"max_turns": self.max_turns}
        env = agentgym.make(self.env_id, wrappers=self.wrappers, **turns, **self.kwargs)
        for wrap in self.outer:
            env = wrap(env)
        return env

    def wrapper_specs(self) -> list[WrapperSpec]:
        """Every wrapper as data (``wrappers`` then ``outer``); ``TypeError`` for one that is not."""
        return as_wrapper_specs([*self.wrappers, *self.outer], what=f"{self.env_id} on a server")


class Runtime(abc.ABC):
    """Makes handles for environments; :meth:`start` and :meth:`close` bracket a run."""

    #: a short name for logs and statistics
    name: str = "runtime"

    def start(self) -> None:
        """Acquire what the runtime needs (a Ray cluster connection, worker actors); idempotent."""

    def close(self) -> None:
        """Release what :meth:`start` acquired; idempotent."""

    @abc.abstractmethod
    def handle(self, spec: EnvSpec, *, timeout: float | None, name: str) -> EnvHandle:
        """A handle (not yet opened) for one environment built from ``spec``."""

    def check(self, spec: EnvSpec) -> None:
        """Raise a clear error now if ``spec`` cannot run on this runtime."""


@dataclass
class ThreadRuntime(Runtime):
    """Each environment in a thread of its own; with ``coroutines`` an environment that has its
    own ``areset``/``astep`` runs them on the event loop."""

    coroutines: bool = False
    name: str = "thread"

    def handle(self, spec: EnvSpec, *, timeout: float | None, name: str) -> EnvHandle:
        return LocalHandle(spec, timeout=timeout, coroutines=self.coroutines, name=name)


@dataclass
class ProcessRuntime(Runtime):
    """Each environment in a child process (``multiprocessing``, ``start_method``: one of
    ``multiprocessing.get_all_start_methods()``, else a ``ValueError`` when it is made)."""

    start_method: str = "spawn"
    name: str = "process"

    def __post_init__(self) -> None:
        import multiprocessing

        methods = multiprocessing.get_all_start_methods()
        if self.start_method not in methods:  # else every episode's build fails on it
            raise ValueError(f"start_method must be one of {methods}, got {self.start_method!r}")

    def handle(self, spec: EnvSpec, *, timeout: float | None, name: str) -> EnvHandle:
        return ProcessHandle(spec, timeout=timeout, start_method=self.start_method, name=name)

    def check(self, spec: EnvSpec) -> None:
        import pickle

        try:
            pickle.dumps(spec)
        except Exception as exc:  # noqa: BLE001 - said plainly below
            raise TypeError(f"env_runtime='process' sends the environment to a child process, but its "
                            f"spec cannot be pickled ({exc}); use module-level wrappers or WrapperSpec") from None


@dataclass
class ServerRuntime(Runtime):
    """Sessions of the environment server at ``url`` (``agentgym serve-env``); ``api_key``
    defaults to ``$AGENTGYM_API_KEY``."""

    url: str = "http://127.0.0.1:8100"
    api_key: str | None = None
    name: str = "server"

    def handle(self, spec: EnvSpec, *, timeout: float | None, name: str) -> EnvHandle:
        from agentgym.runtime.remote import RemoteHandle

        key = self.api_key if self.api_key is not None else os.environ.get("AGENTGYM_API_KEY")
        return RemoteHandle(spec, server=self.url, api_key=key, timeout=timeout)

    def check(self, spec: EnvSpec) -> None:
        spec.wrapper_specs()


@dataclass
class RayRuntime(Runtime):
    """Environments in ``num_workers`` Ray worker actors (a :class:`~agentgym.ray.RayEnvPool`).

    ``address`` is passed to ``ray.init`` when Ray is not initialised yet (``None``: a local
    cluster, or the one ``RAY_ADDRESS`` names; ``"auto"``: the running cluster); the pool's
    actors are killed at :meth:`close`, and Ray itself is shut down only if this runtime
    started it.
    """

    num_workers: int = 2
    num_cpus_per_worker: float = 1.0
    address: str | None = None
    name: str = "ray"
    _pool: Any = field(default=None, repr=False)
    _started_ray: bool = field(default=False, repr=False)

    def start(self) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("env_runtime='ray' needs Ray: pip install 'agentgym[ray]'") from None
        from agentgym.ray.pool import RayEnvPool

        if self._pool is not None:
            return
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            self._started_ray = True
        self._pool = RayEnvPool(self.num_workers, num_cpus_per_worker=self.num_cpus_per_worker)

    @property
    def pool(self) -> Any:
        """The :class:`~agentgym.ray.RayEnvPool` while started, else ``None``."""
        return self._pool

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False

    def handle(self, spec: EnvSpec, *, timeout: float | None, name: str) -> EnvHandle:
        from agentgym.runtime.remote import RayHandle

        if self._pool is None:
            raise RuntimeError("RayRuntime.start() must run before handles are made")
        return RayHandle(spec, pool=self._pool, timeout=timeout)

    def check(self, spec: EnvSpec) -> None:
        try:
            import cloudpickle
        except ImportError:  # pragma: no cover - Ray depends on it
            return
        try:
            cloudpickle.dumps(spec)
        except Exception as exc:  # noqa: BLE001 - said plainly below
            raise TypeError(f"env_runtime='ray' sends the environment to an actor, but its spec cannot be "
                            f"pickled ({exc}); use WrapperSpec or module-level wrappers") from None


_BY_NAME: dict[str, Callable[[], Runtime]] = {"thread": ThreadRuntime, "process": ProcessRuntime, "ray": RayRuntime}


def as_runtime(value: str | Runtime) -> Runtime:
    """A runtime from ``"thread"``, ``"process"``, ``"ray"``, a server URL, or a :class:`Runtime`."""
    if isinstance(value, Runtime):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]()
    if isinstance(value, str) and value.startswith(("http://", "https://", "ws://", "wss://")):
        return ServerRuntime(value)
    raise ValueError(f"env_runtime must be 'thread', 'process', 'ray', a server URL (http://host:port) or a "
                     f"Runtime, got {value!r}")
