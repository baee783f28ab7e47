"""Step many asynchronous environments at once on an asyncio event loop."""

from __future__ import annotations

from typing import ClassVar

from agentgym.vector._slots import SlotVectorEnv


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
      ran on. Building the vector env and ``close()`` work either way (inside a running loop
      they block it while the slots' threads build or close the environments).

    Semantics (autoreset modes, vector infos, failures) are exactly those of
    :class:`~agentgym.vector.ThreadVectorEnv`; see :class:`~agentgym.vector._slots.SlotVectorEnv`.
    A cancelled coroutine leaves no thread behind, so its environment is closed and rebuilt
    at the slot's next reset; a coroutine that ignores cancellation cannot be timed out.
    """

    coroutines: ClassVar[bool] = True
