"""The environment runtime: how agentgym builds, steps, isolates and closes environments.

One abstraction, :class:`EnvHandle` (async ``open`` / ``reset`` / ``step`` / ``close`` with a
per-call timeout and failure isolation), is what the rollout engine and the vector
environments step environments through. Its forms say where the environment lives: in a thread
of its own or on the event loop (:class:`LocalHandle`), in a child process
(:class:`ProcessHandle`), behind an environment server (:class:`RemoteHandle`) or in a Ray
worker actor (:class:`RayHandle`). :mod:`agentgym.runtime.runtimes` turns a configuration
(``"thread"``, ``"process"``, ``"ray"``, ``ServerRuntime(url)``) into handles.
"""

from agentgym.runtime.handle import CallFailure, EnvCallFailed, EnvHandle, StepResult
from agentgym.runtime.local import LocalHandle, ProcessHandle
from agentgym.runtime.process_env import ProcessEnv, ProcessEnvDied
from agentgym.runtime.worker import (
    HungEnvironmentError,
    HungEnvironmentWarning,
    SlotWorker,
    hung_thread_count,
)

__all__ = [
    "CallFailure",
    "EnvCallFailed",
    "EnvHandle",
    "HungEnvironmentError",
    "HungEnvironmentWarning",
    "LocalHandle",
    "ProcessEnv",
    "ProcessEnvDied",
    "ProcessHandle",
    "SlotWorker",
    "StepResult",
    "hung_thread_count",
]
