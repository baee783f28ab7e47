"""Synthetic experience (DreamGym-style): train agents on steps an experience model predicts.

* :mod:`~agentgym.synthetic.buffer` -- :class:`ReplayBuffer` of real :class:`Transition`\\ s,
  seeded from recorded trajectories (``from_jsonl``), grown online (``add``), searched by
  TF-IDF similarity (``similar``).
* :mod:`~agentgym.synthetic.experience` -- :class:`ExperienceModel`: any policy predicting the
  next observation, reward and end of an episode; its prompt and the parsing of its reply
  (:func:`parse_reply`); :class:`BatchingPolicy` batches the predictions of concurrent episodes.
* :mod:`~agentgym.synthetic.env` -- :class:`SyntheticEnv`: a real environment's tasks with
  every step predicted (registered as ``synthetic/Experience-v0`` by ``agentgym.envs.synthetic``).
* :mod:`~agentgym.synthetic.curriculum` -- :class:`TaskGenerator`: tasks of high outcome
  entropy and their variations.

The simulated search engine (ZeroSearch-style) is :class:`agentgym.retrieval.simulated.SimulatedSearchEngine`.
Nothing here imports torch or a model back-end.
"""

from agentgym.synthetic.buffer import Context, ReplayBuffer, Transition, final_observation, transitions_from
from agentgym.synthetic.curriculum import CurriculumTask, TaskGenerator, outcome_entropy
from agentgym.synthetic.env import SyntheticEnv, buffer_from, close_shared, experience_model_from
from agentgym.synthetic.experience import (BatchingPolicy, EpisodeContext, ExperienceModel, Prediction, format_reply,
                                          parse_reply)

__all__ = ["Context", "ReplayBuffer", "Transition", "final_observation", "transitions_from", "CurriculumTask",
           "TaskGenerator", "outcome_entropy", "SyntheticEnv", "buffer_from", "close_shared",
           "experience_model_from", "BatchingPolicy", "EpisodeContext", "ExperienceModel", "Prediction", "format_reply",
           "parse_reply"]
