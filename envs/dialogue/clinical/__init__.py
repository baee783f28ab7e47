"""The clinical interview (ProMed-like): diagnose generated patients by asking, examining and
ordering tests that cost.

Environments (:mod:`~agentgym.envs.dialogue.clinical.env`):

* ``dialogue/ClinicalInterview-v0`` -- free-text questions (the patient, a
  :class:`~agentgym.responders.Responder`, answers only what is asked), ``test: <name>`` and
  ``diagnosis: <condition>``. Arguments: ``difficulty`` (``easy``: 6 candidate conditions,
  ``medium``: 15, ``hard``: all 27), ``responder`` (``"rules"`` or any Policy),
  ``turn_budget``, ``table`` (your own JSON table).
* ``dialogue/ClinicalInterviewTools-v0`` -- the same with the tools ``ask(question)``,
  ``order_test(name)`` and ``diagnose(condition)``.

Suite ``dialogue-clinical-v0``: ``dialogue/ClinicalInterview-v0`` at each difficulty, twenty
seeds each.

Modules:
    table  -- the bundled table (``data/clinical_table.json``: 27 conditions, 60 findings, 10
              tests; simplified teaching data, not medical advice), loaded and checked.
    cases  -- a patient case from the episode's seed.
    bayes  -- the naive-Bayes posterior, ``diagnosis_probability`` (the Shapley reward's value
              function, ``belief_for``) and expected information gain.
    env    -- ``ClinicalInterview`` and ``clinical_tools_env``; tools holds the tools format.

Environments register by entry-point string, so importing this package loads none of them.
"""

from __future__ import annotations

from agentgym.registry import register
from agentgym.suites import register_suite

#: The registered TurnLimit's bound: every step counts, invalid ones too (the hard level's
#: budget is 18 turns; invalid actions use none of them).
_TURN_BOUND = 30
_TAGS = ("information-seeking", "responder", "diagnosis", "hidden-answer")

register(
    "dialogue/ClinicalInterview-v0",
    "agentgym.envs.dialogue.clinical.env:ClinicalInterview",
    max_turns=_TURN_BOUND,
    tags=_TAGS,
    description="Diagnose a generated patient: ask free-text questions (answered only when asked), order tests "
                "that cost, then name the condition.",
)
register(
    "dialogue/ClinicalInterviewTools-v0",
    "agentgym.envs.dialogue.clinical.env:clinical_tools_env",
    max_turns=_TURN_BOUND,
    tags=(*_TAGS, "tools"),
    description="Diagnose a generated patient with the ask, order_test and diagnose tools.",
)

CLINICAL_ENV_IDS = ("dialogue/ClinicalInterview-v0", "dialogue/ClinicalInterviewTools-v0")

register_suite(
    "dialogue-clinical-v0",
    [("dialogue/ClinicalInterview-v0", range(20), {"difficulty": level}) for level in ("easy", "medium", "hard")],
    "Clinical interviews at every difficulty (6, 15 and 27 candidate conditions), twenty seeds each.",
)
