"""Step many synchronous environments at once, each in its own thread."""

from __future__ import annotations

from agentgym.vector._slots import SlotVectorEnv


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
    hung call returns. One ``reset``/``step`` runs at a time; ``await areset(...)`` /
    ``await astep(...)`` do the same from an event loop (the plain methods work there too:
    they then run the batch from a fresh thread).
    """
