"""Environments on Ray (the optional ``ray`` extra: ``pip install agentgym[ray]``).

Environments live on Ray worker actors (processes, on this machine or any node of a Ray
cluster), many per worker, each in its own thread there:

=============================  ==============================================================
:class:`RayEnvPool`            N worker actors; ``pool.open(factory)`` gives a
                               :class:`RayEnvRef` whose calls return ``ray.ObjectRef``
                               (awaitable in asyncio), or coalesced asyncio futures
                               (``areset``/``astep``: one Ray call per worker and event-loop
                               tick) — what the runtime's ``RayHandle`` builds on
:class:`RayVectorEnv`          the vector env of :mod:`agentgym.vector` with Ray handles: one
                               Ray call per worker per ``step`` (:func:`make_ray_vec` for
                               registered ids)
:class:`RayEnv`                one environment as a synchronous Gymnasium env
=============================  ==============================================================

::

    import ray
    from agentgym.ray import RayEnv, make_ray_vec

    ray.init()                                    # or ray.init(address="auto") on a cluster
    env = RayEnv("games/Wordle-v0", max_turns=6)   # agentgym.make's arguments
    envs = make_ray_vec("games/Wordle-v0", 64, num_workers=2)   # 64 envs on 2 worker processes

This package is named ``agentgym.ray``; inside it ``import ray`` is the real Ray (absolute
imports), and importing this package without Ray installed raises an ImportError that says
which extra to install.
"""

from agentgym.ray.pool import DEFAULT_MAX_CONCURRENCY, RayEnvError, RayEnvPool, RayEnvRef
from agentgym.ray.host import EnvAbandonedError, EnvHost, EnvNotHostedError, UnsendableEnvError
from agentgym.ray.env import DEFAULT_ACTOR_NUM_CPUS, DEFAULT_CALL_TIMEOUT, RayEnv
from agentgym.ray.vector import RayVectorEnv, make_ray_vec

__all__ = [
    "DEFAULT_ACTOR_NUM_CPUS",
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_MAX_CONCURRENCY",
    "EnvAbandonedError",
    "EnvHost",
    "EnvNotHostedError",
    "RayEnv",
    "RayEnvError",
    "RayEnvPool",
    "RayEnvRef",
    "RayVectorEnv",
    "UnsendableEnvError",
    "make_ray_vec",
]
