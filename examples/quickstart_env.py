"""The quick-start task: add two numbers, in one turn (examples/quickstart.toml trains on it).

One turn, a prompt of a few tokens and a one-number answer make an episode cheap enough to train
SmolLM2-135M on a laptop CPU in minutes. The untrained model often answers at length ("To add 9
and 4, ...") and runs out of tokens before the sum, or adds wrongly; reinforcement learning
teaches it to give the right sum within its token budget.

    agentgym train --config examples/quickstart.toml --import examples/quickstart_env.py
"""

import re

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv

_INTEGER = re.compile(r"-?\d+")


class Addition(LLMEnv):
    """What is a + b? Both numbers have ``digits`` digits (1 by default); the last integer of
    the reply is the answer. Reward ``outcome``: 1 when it is the sum, else 0."""

    instructions = "Reply with the sum only, e.g. 12."

    def __init__(self, digits: int = 1, **kwargs):
        super().__init__(**kwargs)
        if digits < 1:
            raise ValueError(f"digits must be at least 1, got {digits}")
        self.digits = digits

    def new_episode(self, options):
        top = 10 ** self.digits - 1
        self.a, self.b = self.rng.randint(1, top), self.rng.randint(1, top)
        return f"What is {self.a} + {self.b}?"

    def play(self, action):
        found = _INTEGER.findall(action)
        if not found:
            raise InvalidAction("reply with a number.")
        won = len(found[-1]) < 12 and int(found[-1]) == self.a + self.b
        return Feedback("Right!" if won else "Wrong.", {"outcome": float(won)}, terminated=True, success=won)

    def oracle_action(self):
        return str(self.a + self.b)

    def random_action(self, rng):
        return str(rng.randint(2, 2 * (10 ** self.digits - 1)))


agentgym.register("quickstart/Addition-v0", Addition, max_turns=1, description="Add two numbers, in one turn.")

if __name__ == "__main__":
    env = agentgym.make("quickstart/Addition-v0")
    observation, info = env.reset(seed=0)
    print(observation)
    observation, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
    print(observation, reward)
