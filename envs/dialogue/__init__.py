"""The dialogue family: information-seeking environments where the agent must *ask* for what it
needs before it can act.

* :mod:`~agentgym.envs.dialogue.clinical` -- a clinical interview (ProMed-like): generated
  patient cases from a bundled table of conditions and findings; findings are revealed only when
  asked about; tests cost; the episode ends with a diagnosis.
* :mod:`~agentgym.envs.dialogue.questbench` -- QuestBench-style problems (Logic-Q, GSM-Q,
  Planning-Q) with exactly one missing variable: ask for the right one, then solve.

Whoever answers is a :class:`~agentgym.responders.Responder` (rules over the episode's facts by
default, or any policy), chosen with the ``responder`` argument; every answer is recorded in
the step's ``info["responder"]``. Each subpackage registers its environments by entry-point
string, so importing this package loads none of them.
"""
