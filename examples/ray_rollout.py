"""Roll out a policy with the environments on Ray worker actors instead of local threads.

The only change from a local rollout is ``env_runtime``: the engine sends each episode's
environment stack as data (its id, arguments and wrappers) to a pool of Ray workers, steps it
there, and records the same trajectories. On a cluster, start Ray on each machine
(``ray start --head`` on one, ``ray start --address=HEAD:6379`` on the others) and run this
script on any of them with ``RAY_ADDRESS=auto``: the environments spread over the cluster.

Here a local Ray instance with two CPUs is started, and a custom environment defined in this
very script runs on the workers (Ray ships its class to them).
"""

import time

import ray

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.scripted import OraclePolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.runtime.runtimes import RayRuntime


class SlowCounter(LLMEnv):
    """Count up to three, one number a turn; each step waits 50 ms (a browser, a sandbox...)."""

    instructions = "Say the next number, starting at 1, until 3."

    def new_episode(self, options):
        self.expected = 1
        return "Start counting."

    def play(self, action):
        time.sleep(0.05)
        if action.strip() != str(self.expected):
            return Feedback(f"Expected {self.expected}.", {"outcome": 0.0}, terminated=True)
        self.expected += 1
        done = self.expected > 3
        return Feedback("Done." if done else "Next.", {"outcome": float(done)}, terminated=done, success=done)

    def oracle_action(self):
        return str(self.expected)


agentgym.register("examples/SlowCounter-v0", SlowCounter, max_turns=5)

if __name__ == "__main__":
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # or ray.init(address="auto")
    tasks = [Task("examples/SlowCounter-v0", seed) for seed in range(8)] + \
            [Task("games/GuessTheNumber-v0", seed) for seed in range(4)]

    started = time.perf_counter()
    local = rollout(OraclePolicy(), tasks, RolloutConfig(group_size=2), progress=False)
    local_seconds = time.perf_counter() - started

    runtime = RayRuntime(num_workers=2, num_cpus_per_worker=1.0)  # or env_runtime="ray": a pool per rollout
    runtime.start()
    try:
        started = time.perf_counter()
        on_ray = rollout(OraclePolicy(), tasks, RolloutConfig(group_size=2, env_runtime=runtime), progress=False)
        ray_seconds = time.perf_counter() - started
        print(f"Ray workers: {runtime.pool.stats()['workers']}")
    finally:
        runtime.close()  # kills the pool's actors
    ray.shutdown()

    same = [(t.seed, t.success, [turn.action for turn in t.turns]) for t in local.trajectories] == \
           [(t.seed, t.success, [turn.action for turn in t.turns]) for t in on_ray.trajectories]
    print(f"threads: {local.stats['episodes']} episodes, success {local.stats['success_rate']:.0%}, "
          f"{local_seconds:.2f} s")
    print(f"Ray:     {on_ray.stats['episodes']} episodes, success {on_ray.stats['success_rate']:.0%}, "
          f"{ray_seconds:.2f} s, errors {on_ray.stats['errors']}")
    print(f"same trajectories on Ray as in threads: {same}")
    assert same and on_ray.stats["errors"] == 0
