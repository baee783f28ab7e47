"""agentgym environments in other projects' RL trainers.

- :mod:`agentgym.integrations.trl`: a ``rollout_func`` for TRL's ``GRPOTrainer`` that plays
  agentgym episodes token-exactly (``agentgym_rollout``);
- :mod:`agentgym.integrations.verl`: an agent loop for verl's ``AgentLoopManager`` that plays
  agentgym episodes (``AgentgymAgentLoop``, registered as ``"agentgym"``);
- :mod:`agentgym.integrations.episodes`: what both share, free of either trainer: the task a
  prompt names, playing tasks with agentgym's rollout engine and an episode as the token ids,
  loss mask, log-probs and reward those trainers take.

Nothing here is imported by ``import agentgym``; the trainer adapters import their trainer only
when they are used, so neither TRL nor verl is needed to import this package.
"""
