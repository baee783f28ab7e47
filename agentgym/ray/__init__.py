"""Environments as Ray actors (the optional ``ray`` extra: ``pip install agentgym[ray]``).

Each environment lives in its own Ray actor (a worker process, on this machine or any node
of a Ray cluster) and is driven through :class:`RayEnv`, an ordinary Gymnasium env::

    import ray
    from agentgym.ray import RayEnv, make_ray_vec

    ray.init()                                   # or ray.init(address="auto") on a cluster
    env = RayEnv("games/Wordle-v0", max_turns=6)  # agentgym.make's arguments
    envs = make_ray_vec("games/Wordle-v0", 64)    # a ThreadVectorEnv of 64 RayEnvs

This package is named ``agentgym.ray``; inside it ``import ray`` is the real Ray (absolute
imports), and importing this package without Ray installed raises an ImportError that says
which extra to install.
"""

from agentgym.ray.actors import (
    DEFAULT_ACTOR_NUM_CPUS,
    DEFAULT_CALL_TIMEOUT,
    EnvActor,
    RayEnv,
    RayEnvError,
    make_ray_vec,
)

__all__ = ["DEFAULT_ACTOR_NUM_CPUS", "DEFAULT_CALL_TIMEOUT", "EnvActor", "RayEnv", "RayEnvError", "make_ray_vec"]
