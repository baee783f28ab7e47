"""Step many synchronous environments at once, each in its own thread."""

from __future__ import annotations

from concurrent.futures import Future, wait
from typing import Any, Sequence

from agentgym.vector._slots import (
    Call,
    Outcome,
    Program,
    ResetCall,
    Slot,
    SlotFailure,
    SlotVectorEnv,
    rebuild_and_reset,
    step_env,
    timed_out_method,
)


class ThreadVectorEnv(SlotVectorEnv):
    """A :class:`gymnasium.vector.VectorEnv` that runs each sub-environment in its own thread.

    Made for environments that wait rather than compute (a browser, a remote API, a sandbox):
    ``step`` sends every slot its action at once and returns when all have answered, so a
    batch takes as long as its slowest environment, not the sum. CPU-bound Python environments
    gain nothing (the GIL); use Gymnasium's ``AsyncVectorEnv`` for those.

    Each slot has exactly one thread, created with the vector env: it builds the environment
    and runs all its calls, so an environment bound to its creating thread works, and a hung
    environment blocks nobody else. Semantics (autoreset modes, vector infos, failures and
    ``step_timeout``) are described in :class:`~agentgym.vector._slots.SlotVectorEnv`.

    Args:
        env_fns: one zero-argument factory per sub-environment; a factory is called again to
            replace an environment that failed.
        step_timeout: seconds a ``reset``, ``step`` or environment construction may take
            before the slot gets an error result (``None``: wait forever).
        autoreset_mode: ``AutoresetMode`` or its value (``"NextStep"``, ``"SameStep"``,
            ``"Disabled"``).
        max_abandoned_threads: how many calls may be hung in abandoned threads in this
            process before ``reset``/``step`` raise ``HungEnvironmentError`` (default 32).
        isolation: ``"thread"`` (default), or ``"process"``: each environment lives in a child
            process that is killed (and replaced at the next reset) when a call times out, so
            a hung environment leaves nothing behind. Factories must then be picklable.
        start_method: the ``multiprocessing`` start method for ``isolation="process"``.

    ``close()`` closes every environment and joins every thread, except the threads of
    environments abandoned after a timeout: those are daemon threads that end when (if) the
    hung call returns. One ``reset``/``step`` runs at a time.
    """

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ):
        return self._drive(self._reset_program(seed, options), "reset")

    def step(self, actions: Any):
        return self._drive(self._step_program(actions), "step")

    def _drive(self, program: Program, method: str) -> Any:
        with self._one_batch(method):
            try:
                calls = next(program)
                while True:
                    calls = program.send(self._run_calls(calls))
            except StopIteration as finished:
                return finished.value

    def _run_calls(self, calls: dict[int, Call]) -> dict[int, Outcome]:
        progress: dict[int, list[str]] = {i: [] for i in calls}
        rebuilding = {i: self._slots[i].needs_rebuild for i in calls}
        futures = {i: _submit(self._slots[i], call, progress[i]) for i, call in calls.items()}
        done, _ = wait(futures.values(), timeout=self.step_timeout)
        outcomes: dict[int, Outcome] = {}
        for i, future in futures.items():
            method = calls[i].method
            if future not in done:
                future.cancel()  # only succeeds if it never started; then nothing is left running
                hung = self._slots[i].worker.busy
                what = timed_out_method(calls[i], rebuilding[i], progress[i])
                outcomes[i] = SlotFailure.timed_out(what, self.step_timeout, hung=hung)
            elif future.exception() is not None:
                outcomes[i] = SlotFailure.raised(method, future.exception())
            else:
                outcomes[i] = future.result()
        return outcomes


def _submit(slot: Slot, call: Call, progress: list[str]) -> Future:
    if isinstance(call, ResetCall):
        return slot.worker.submit(
            rebuild_and_reset,
            slot.env,
            slot.factory if slot.needs_rebuild else None,
            call.seed,
            call.options,
            progress,
        )
    return slot.worker.submit(step_env, slot.env, call.action)
