"""Step many environments at once, for environments that wait more than they compute.

=========================  ===========================================================
:class:`ThreadVectorEnv`   synchronous environments, one thread per environment
:class:`AsyncioVectorEnv`  asynchronous environments (``areset``/``astep``) on an event loop
:func:`make_vec`           ``n`` copies of a registered environment in either mode
=========================  ===========================================================

Both are :class:`gymnasium.vector.VectorEnv` with Gymnasium 1.x's autoreset modes and info
format, and both isolate failures: an environment that raises or outlasts ``step_timeout``
gives its slot an error result (``truncated=True``, ``info["env_failed"]``) and is rebuilt at
that slot's next reset, while the others carry on. A call hung for good leaves a daemon
thread behind; those are counted process-wide, reported (``info["hung_threads"]``, a
:class:`HungEnvironmentWarning`) and capped (``max_abandoned_threads``, then
:class:`HungEnvironmentError`). With ``isolation="process"`` each environment lives in a child
process instead, killed and replaced when a call hangs, so nothing is left behind.
"""

from agentgym.vector.asyncio_vector_env import AsyncioVectorEnv
from agentgym.vector.make import make_vec
from agentgym.runtime.worker import HungEnvironmentError, HungEnvironmentWarning, hung_thread_count
from agentgym.vector.thread_vector_env import ThreadVectorEnv

__all__ = [
    "AsyncioVectorEnv",
    "HungEnvironmentError",
    "HungEnvironmentWarning",
    "ThreadVectorEnv",
    "hung_thread_count",
    "make_vec",
]
