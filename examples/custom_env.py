"""Register your own environment, check it keeps the contract and evaluate agents on it.

The environment itself is about fifteen lines. Run it: ``python examples/custom_env.py``; the
command line reaches it too, e.g.
``agentgym --import examples/custom_env.py eval --env mine/Parity-v0 --policy oracle``.
"""

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.testing import check_llm_env


class Parity(LLMEnv):
    """Say whether the number shown is even or odd."""

    instructions = "Answer 'even' or 'odd'."
    example_actions = ("even", "odd")  # what the random baseline plays

    def new_episode(self, options):
        self.number = self.rng.randint(0, 999)
        return f"Is {self.number} even or odd?"

    def play(self, action):
        answer = action.strip().lower()
        if answer not in ("even", "odd"):
            raise InvalidAction("answer with the single word 'even' or 'odd'.")
        won = answer == ("even" if self.number % 2 == 0 else "odd")
        return Feedback("Right!" if won else "Wrong.", {"outcome": float(won)}, terminated=True, success=won)

    def oracle_action(self):
        return "even" if self.number % 2 == 0 else "odd"


agentgym.register("mine/Parity-v0", Parity, max_turns=3, description="Even or odd?")

if __name__ == "__main__":
    env = agentgym.make("mine/Parity-v0", episode_statistics=True)
    observation, info = env.reset(seed=0)
    print(observation)
    observation, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
    print(observation, reward, info["episode"])

    # The contract: hostile actions never raise, a seed replays its episode, no answer leaks.
    check_llm_env(env)
    print("check_llm_env: passed")
    env.close()

    tasks = [Task("mine/Parity-v0", seed) for seed in range(20)]
    for policy in (OraclePolicy(), RandomPolicy(seed=0)):
        result = rollout(policy, tasks, RolloutConfig(max_turns=3), progress=False)
        print(f"{policy.name:>8}: success {result.stats['success_rate']:.0%} over {len(tasks)} episodes, "
              f"errors {result.stats['errors']}")
