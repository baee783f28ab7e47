"""Register your own environment and evaluate an agent on it, in about fifteen lines."""

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv


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
