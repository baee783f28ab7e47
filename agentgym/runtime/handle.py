"""``EnvHandle``: one environment behind the runtime boundary, driven with coroutines.

Everything in agentgym that steps an environment — the rollout engine (one handle per episode)
and the vector environments (one per slot) — goes through an :class:`EnvHandle`. A handle owns
the environment's whole life: it builds it, resets and steps it within a per-call timeout,
isolates its failures, rebuilds it after one, and closes it. Where the environment lives is
the handle's form:

=========================================  ==================================================
:class:`~agentgym.runtime.LocalHandle`     in a thread of its own (synchronous environments),
                                           or on the event loop (``coroutines=True``: an
                                           environment with its own ``areset``/``astep``)
:class:`~agentgym.runtime.ProcessHandle`   in a child process, killed when a call hangs
:class:`~agentgym.runtime.RemoteHandle`    behind an environment server (``AsyncRemoteEnv``)
:class:`~agentgym.runtime.RayHandle`       in a Ray worker actor
=========================================  ==================================================

The contract every form keeps:

* :meth:`EnvHandle.open` builds the environment; :meth:`EnvHandle.reset` and
  :meth:`EnvHandle.step` return Gymnasium's results (a ``(observation, info)`` pair, a
  :class:`StepResult`).
* A call that raises, outlasts the handle's ``timeout`` or loses its host (a killed process, a
  dead actor or server) raises :class:`EnvCallFailed`, whose :class:`CallFailure` says why as
  data (message, :class:`~agentgym.info.ErrorKind`, whether a thread was left hung or a
  process killed). The handle is then *broken*: its environment is not used again, and the next
  :meth:`EnvHandle.reset` builds a fresh one first (the construction counts toward that reset's
  timeout).
* A call that hangs in a thread cannot be stopped: the thread is abandoned (a daemon, counted
  by :func:`~agentgym.runtime.hung_thread_count`) with the environment's ``close`` queued
  behind the hung call, and an :class:`~agentgym.core.LLMEnv` inside is closed at once from a
  fresh thread, which releases the episode's resources (see :meth:`~agentgym.core.LLMEnv.close`).
* :meth:`EnvHandle.close` closes the environment within the timeout, never hangs, and is
  idempotent; it re-raises the environment's own ``close`` error, if any, after releasing
  everything.

Beside the episode calls, a handle says what its built environment declares
(:meth:`EnvHandle.spaces`: spaces, metadata, render mode) and can run a function on it where
it lives (:meth:`EnvHandle.submit`), which is how a vector env answers Gymnasium's
``call``/``get_attr``/``set_attr`` whatever the form.
"""

from __future__ import annotations

import abc
from concurrent.futures import Future
from dataclasses import dataclass
from traceback import format_exception
from typing import Any, Callable, NamedTuple, Sequence

from agentgym.info import ErrorKind

_TRACEBACK_FRAMES = 6  # the innermost frames say where an environment broke; the rest is noise

EnvFactory = Callable[[], Any]


class StepResult(NamedTuple):
    """Gymnasium's step 5-tuple with its types settled."""

    observation: Any
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


class EnvSpaces(NamedTuple):
    """What a built environment declares: its spaces, metadata and render mode."""

    observation_space: Any
    action_space: Any
    metadata: dict[str, Any]
    render_mode: Any = None


def as_step_result(result: Sequence[Any]) -> StepResult:
    observation, reward, terminated, truncated, info = result
    return StepResult(observation, float(reward), bool(terminated), bool(truncated), dict(info))


def as_reset_result(result: Sequence[Any]) -> tuple[Any, dict[str, Any]]:
    observation, info = result
    return observation, dict(info)


def checked_env(env: Any, factory: Any) -> Any:
    """``env``, what ``factory`` returned, if it is an environment (it has ``step`` or, for a
    natively asynchronous one, ``astep``); else a ``TypeError`` naming the factory and what it
    returned (``None``, a class instead of an instance), raised while building, where it fails
    the construction instead of every later reset."""
    is_env = callable(getattr(env, "step", None)) or callable(getattr(env, "astep", None))
    if env is None or isinstance(env, type) or not is_env:
        hint = ": it must return an instance" if isinstance(env, type) else ""
        raise TypeError(f"the environment factory {_clipped(factory)} returned {_clipped(env)}, not an environment "
                        f"(an object with reset() and step()){hint}")
    return env


def _clipped(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def raise_remote_error(method: str, info: dict[str, Any]) -> None:
    """A remote environment's client (``RemoteEnv``, ``AsyncRemoteEnv``, ``OpenEnvEnv``) answers
    a lost server or session with an error result marked ``info["remote_error"]``: raise it as
    the call's failure (:class:`EnvCallFailed`), in every runtime, so that a rollout never takes
    "server at capacity" for the environment's own observation."""
    if "remote_error" in info:
        raise EnvCallFailed(CallFailure.lost(method, f"environment server: {info.get('error')}"))


@dataclass(frozen=True)
class CallFailure:
    """Why a call to an environment gave no result.

    Attributes:
        error: for people, e.g. ``"step timed out after 2.0 s"``.
        kind: for code: :attr:`ErrorKind.TIMEOUT` or :attr:`ErrorKind.ENV_ERROR`.
        traceback: the innermost frames of the exception the environment raised, if it did.
        hung: the call is still running in a thread that was abandoned.
        killed: the environment's process was killed (process isolation, a timed-out call).
        exception: the exception the environment raised, if it did.
    """

    error: str
    kind: ErrorKind = ErrorKind.ENV_ERROR
    traceback: str | None = None
    hung: bool = False
    killed: bool = False
    exception: BaseException | None = None

    @classmethod
    def timed_out(cls, method: str, timeout: float | None, *, hung: bool = False,
                  killed: bool = False) -> CallFailure:
        """``method`` is ``"step"``, ``"reset"``, ``"close"`` or ``"construction"``."""
        what = "environment construction" if method == "construction" else method
        return cls(f"{what} timed out after {timeout} s", ErrorKind.TIMEOUT, hung=hung, killed=killed)

    @classmethod
    def raised(cls, method: str, exc: BaseException) -> CallFailure:
        frames = format_exception(type(exc), exc, exc.__traceback__, limit=-_TRACEBACK_FRAMES)
        return cls(f"{method} raised {type(exc).__name__}: {exc}", ErrorKind.ENV_ERROR, "".join(frames),
                   exception=exc)

    @classmethod
    def lost(cls, method: str, why: str) -> CallFailure:
        """The environment's host (a process, an actor, a server) went away during ``method``."""
        return cls(f"{method} failed: {why}", ErrorKind.ENV_ERROR)

    def info(self) -> dict[str, Any]:
        """The keys an error result's ``info`` carries."""
        info: dict[str, Any] = {"error": self.error, "error_kind": self.kind, "env_failed": True}
        if self.traceback is not None:
            info["traceback"] = self.traceback
        if self.killed:
            info["env_killed"] = True
        return info


class EnvCallFailed(Exception):
    """A call to an environment gave no result; :attr:`failure` says why."""

    def __init__(self, failure: CallFailure) -> None:
        super().__init__(failure.error)
        self.failure = failure


class EnvHandle(abc.ABC):
    """One environment behind the runtime boundary; see the module docstring for the contract.

    Args:
        timeout: seconds each call (building included) may take; ``None`` waits forever.
    """

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        #: the last call failed: the next reset builds a fresh environment first
        self.broken = False
        #: how many calls of this handle were left hung in abandoned threads
        self.abandoned = 0
        self.closed = False

    @abc.abstractmethod
    async def open(self) -> None:
        """Build the environment (raises :class:`EnvCallFailed`; the handle is then broken)."""

    @abc.abstractmethod
    async def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Gymnasium's ``reset``, after building a fresh environment if the handle is broken."""

    @abc.abstractmethod
    async def step(self, action: Any) -> StepResult:
        """Gymnasium's ``step`` (a broken handle raises :class:`EnvCallFailed` without calling)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the environment and release the handle (idempotent, bounded by ``timeout``)."""

    def spaces(self) -> EnvSpaces | None:
        """The built environment's spaces, metadata and render mode; ``None`` while no
        environment is built (before :meth:`open`, or once a failed one was dropped).

        This default reads them from the form's ``env`` attribute (the environment itself, or a
        proxy that carries them, as :class:`~agentgym.runtime.ProcessEnv` does); a form whose
        environment lives elsewhere overrides it."""
        env = getattr(self, "env", None)
        if env is None:
            return None
        return EnvSpaces(env.observation_space, env.action_space, dict(getattr(env, "metadata", None) or {}),
                         getattr(env, "render_mode", None))

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(env, *args)`` where the environment lives, and return a
        :class:`concurrent.futures.Future` of its result (or of the exception it raised).

        No timeout and no failure isolation: this is for attribute access (Gymnasium's vector
        ``call``/``get_attr``/``set_attr``), not for episode calls. A form that cannot run
        functions on its environment raises ``NotImplementedError`` (the default)."""
        raise NotImplementedError(f"{type(self).__name__} cannot run functions on its environment")

    def _refuse_if_broken(self, method: str) -> None:
        if self.closed:
            raise EnvCallFailed(CallFailure(f"{method} on a closed environment handle"))
        if self.broken:
            raise EnvCallFailed(CallFailure(
                f"{method} skipped: the environment failed and has not been reset since"))
