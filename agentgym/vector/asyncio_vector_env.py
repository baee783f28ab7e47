"""Step many asynchronous environments at once on an asyncio event loop."""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

from gymnasium.vector import AutoresetMode

from agentgym.core import LLMEnv
from agentgym.vector._slots import (
    Call,
    EnvFactory,
    Outcome,
    Program,
    Slot,
    SlotFailure,
    SlotVectorEnv,
    StepCall,
    as_reset_result,
    as_step_result,
    replace_env,
    reset_env,
    step_env,
    timed_out_method,
)
from agentgym.vector._worker import DEFAULT_MAX_ABANDONED_THREADS


class AsyncioVectorEnv(SlotVectorEnv):
    """A :class:`gymnasium.vector.VectorEnv` whose sub-environments run as asyncio tasks.

    Built for natively asynchronous environments (an HTTP client of a remote environment, an
    async browser driver): objects with ``async areset(seed=, options=)`` and
    ``async astep(action)``. ``await astep(actions)`` runs every slot's call concurrently on the
    running loop; a call that outlasts ``step_timeout`` is cancelled (``asyncio.wait_for``).

    An :class:`~agentgym.core.LLMEnv` with async hooks (``aplay``, ``anew_episode``... — its
    ``has_async_hooks()`` is true) counts as asynchronous: its ``areset``/``astep`` await those
    hooks on the shared loop, instead of its synchronous methods running them on a private loop
    in a thread.

    Environments without their own coroutines run their synchronous ``reset``/``step`` in the
    slot's own thread (the role ``asyncio.to_thread`` plays, with a dedicated thread): objects
    without ``astep`` (e.g. a ``gymnasium.Wrapper`` around an :class:`~agentgym.core.LLMEnv`,
    which does not forward it, even when the environment inside has async hooks) and LLMEnvs
    without async hooks, whose default ``areset``/``astep`` only wrap the synchronous methods
    in a thread. A dedicated thread rather than the loop's
    default executor because that pool is shared and small (``min(32, cpus + 4)`` workers) and
    a hung environment would hold one of its workers for good.

    Two ways to use it:

    * ``await env.areset(...)`` / ``await env.astep(actions)`` from your own event loop (a
      rollout engine): the primary API.
    * ``env.reset(...)`` / ``env.step(actions)`` from plain synchronous code: they run the
      coroutines on a private event loop the vector env owns. They must not be called from
      inside a running event loop (they would block it) and raise ``RuntimeError`` if they are.
      Stick to one of the two: a native environment may bind resources to the loop it first
      ran on.

    Semantics (autoreset modes, vector infos, failures) are exactly those of
    :class:`~agentgym.vector.ThreadVectorEnv`; see :class:`~agentgym.vector._slots.SlotVectorEnv`.
    A cancelled coroutine leaves no thread behind, so its environment is closed and rebuilt
    at the slot's next reset; a coroutine that ignores cancellation cannot be timed out.
    """

    def __init__(
        self,
        env_fns: Sequence[EnvFactory],
        *,
        step_timeout: float | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        max_abandoned_threads: int = DEFAULT_MAX_ABANDONED_THREADS,
        isolation: str = "thread",
        start_method: str = "spawn",
    ) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        super().__init__(
            env_fns,
            step_timeout=step_timeout,
            autoreset_mode=autoreset_mode,
            max_abandoned_threads=max_abandoned_threads,
            isolation=isolation,
            start_method=start_method,
        )

    # ------------------------------------------------------------ asynchronous API
    async def areset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ):
        """Reset the sub-environments concurrently; Gymnasium's ``reset`` as a coroutine."""
        return await self._drive(self._reset_program(seed, options), "areset")

    async def astep(self, actions: Any):
        """Step the sub-environments concurrently; Gymnasium's ``step`` as a coroutine."""
        return await self._drive(self._step_program(actions), "astep")

    # ------------------------------------------------------------ synchronous API
    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ):
        return self._private_loop("reset").run_until_complete(
            self.areset(seed=seed, options=options)
        )

    def step(self, actions: Any):
        return self._private_loop("step").run_until_complete(self.astep(actions))

    def close_extras(self, **kwargs: Any) -> None:
        super().close_extras(**kwargs)
        if self._loop is not None:
            self._loop.close()

    # ------------------------------------------------------------ running calls
    def _private_loop(self, method: str) -> asyncio.AbstractEventLoop:
        self._check_open()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                f"AsyncioVectorEnv.{method}() runs a private event loop and cannot be called "
                f"from inside a running one; use `await env.a{method}(...)` there instead"
            )
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    async def _drive(self, program: Program, method: str) -> Any:
        with self._one_batch(method):
            try:
                calls = next(program)
                while True:
                    calls = program.send(await self._run_calls(calls))
            except StopIteration as finished:
                return finished.value

    async def _run_calls(self, calls: dict[int, Call]) -> dict[int, Outcome]:
        outcomes = await asyncio.gather(
            *(self._run_call(self._slots[i], call) for i, call in calls.items())
        )
        return dict(zip(calls, outcomes, strict=True))

    async def _run_call(self, slot: Slot, call: Call) -> Outcome:
        progress: list[str] = []
        rebuilding = slot.needs_rebuild
        try:
            return await asyncio.wait_for(_call_or_failure(slot, call, progress), self.step_timeout)
        except asyncio.TimeoutError:  # only wait_for's own: the call's exceptions are caught inside
            what = timed_out_method(call, rebuilding, progress)
            return SlotFailure.timed_out(what, self.step_timeout, hung=slot.worker.busy)


async def _call_or_failure(slot: Slot, call: Call, progress: list[str]) -> Outcome:
    try:
        return await _call(slot, call, progress)
    except Exception as exc:  # noqa: BLE001 - one environment's bug must not stop the others
        return SlotFailure.raised(call.method, exc)


async def _call(slot: Slot, call: Call, progress: list[str]) -> Outcome:
    loop = asyncio.get_running_loop()
    env = slot.env
    if isinstance(call, StepCall):
        if _has_own_coroutine(env, "astep"):
            return as_step_result(await env.astep(call.action))
        return await loop.run_in_executor(slot.worker, step_env, env, call.action)
    if slot.needs_rebuild:
        env = await loop.run_in_executor(slot.worker, replace_env, env, slot.factory, progress)
    if _has_own_coroutine(env, "areset"):
        return (env, *as_reset_result(await env.areset(seed=call.seed, options=call.options)))
    return await loop.run_in_executor(slot.worker, reset_env, env, call.seed, call.options)


def _has_own_coroutine(env: Any, method: str) -> bool:
    """``env``'s ``method`` is a real coroutine: implemented by the class itself, or LLMEnv's
    for an environment with async hooks (which then awaits them), not LLMEnv's
    run-in-a-thread default."""
    if isinstance(env, LLMEnv) and env.has_async_hooks():
        return True
    implementation = getattr(type(env), method, None)
    return implementation is not None and implementation is not getattr(LLMEnv, method)
