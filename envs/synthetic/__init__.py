"""The synthetic family: environments whose steps an experience model predicts.

* ``synthetic/Experience-v0`` -- :class:`~agentgym.synthetic.env.SyntheticEnv`: the tasks of
  any registered text environment (``env_id``, ``env_kwargs``), with every step predicted by an
  experience model (``experience_model``: a Policy, a policy spec such as ``"smollm2-135m"``,
  or ``"package.module:factory"``) from the task, the episode so far and the ``k`` most similar
  real transitions of a replay buffer (``buffer``: a ``ReplayBuffer`` or trajectory JSONL
  paths). Reward component ``outcome`` (the predicted reward); ``success`` on a predicted end
  whose reward reaches ``success_reward``. The turn budget is the real environment's
  (``turn_budget``), applied by the environment itself, so the registration has none.

    env = agentgym.make("synthetic/Experience-v0", env_id="games/GuessTheNumber-v0",
                        env_kwargs={"difficulty": "easy"}, experience_model="smollm2-135m",
                        buffer="real_rollouts.jsonl")

Registered by entry-point string: importing this package loads nothing else.
"""

from __future__ import annotations

from agentgym.registry import register

register(
    "synthetic/Experience-v0",
    "agentgym.synthetic.env:SyntheticEnv",
    tags=("synthetic", "experience-model", "dreamgym"),
    description="Any text environment's tasks with every step predicted by an experience model (a policy) from "
                "the history and similar real transitions (DreamGym-style synthetic experience).",
)

SYNTHETIC_ENV_IDS = ("synthetic/Experience-v0",)
