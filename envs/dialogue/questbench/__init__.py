"""QuestBench-style environments: problems with exactly one missing variable -- ask for the
right one, then solve.

Each problem is underspecified so that one askable variable is necessary and sufficient (its
generator proves it by brute force for every problem it draws); the agent asks questions (in
its own words, or by number from a list with ``question_format="choice"``), a responder answers
from the episode's facts, and ``answer: ...`` ends the episode.

* ``dialogue/LogicQ-v0`` (:mod:`.logic`) -- Horn rules over true/false facts, a goal whose
  value hangs on one fact not given; answer ``true`` or ``false``.
* ``dialogue/GSMQ-v0`` (:mod:`.gsm`) -- grade-school word problems (eleven templates) with one
  needed quantity removed; answer a number.
* ``dialogue/PlanningQ-v0`` (:mod:`.planning`) -- Blocks World (3-5 blocks) with a partly
  hidden start; one yes/no fact decides the shortest plan; answer the plan (any optimal one).

Arguments: ``difficulty`` (``easy``, ``medium``, ``hard``), ``question_format`` (``free``,
``choice``), ``responder`` (``"rules"``, a Responder or a policy), ``asked_right_reward``
(default 0). Modules: :mod:`.base` (problem, generator interface, the environment),
one per generator.

Suite ``dialogue-questbench-v0``: the three environments at every level in both question
formats, five seeds each (90 tasks).

Environments register by entry-point string, so importing this package loads none of them.
"""

from __future__ import annotations

from agentgym.registry import register
from agentgym.suites import register_suite

#: The turn budget: questions and the final answer together.
MAX_TURNS = 10
_TAGS = ("information-seeking", "clarification", "questbench", "hidden-answer")

register(
    "dialogue/LogicQ-v0",
    "agentgym.envs.dialogue.questbench.logic:LogicQ",
    max_turns=MAX_TURNS,
    tags=(*_TAGS, "logic"),
    description="QuestBench Logic-Q: Horn rules with one fact missing; ask for the fact that decides the "
                "goal, then answer true or false.",
)
register(
    "dialogue/GSMQ-v0",
    "agentgym.envs.dialogue.questbench.gsm:GsmQ",
    max_turns=MAX_TURNS,
    tags=(*_TAGS, "math"),
    description="QuestBench GSM-Q: grade-school word problems with one needed quantity removed; ask for it, "
                "then answer the number.",
)
register(
    "dialogue/PlanningQ-v0",
    "agentgym.envs.dialogue.questbench.planning:PlanningQ",
    max_turns=MAX_TURNS,
    tags=(*_TAGS, "planning", "blocks-world"),
    description="QuestBench Planning-Q: Blocks World with a partly hidden start; ask for the fact that decides "
                "the shortest plan, then give the plan.",
)

QUESTBENCH_ENV_IDS = ("dialogue/LogicQ-v0", "dialogue/GSMQ-v0", "dialogue/PlanningQ-v0")

register_suite(
    "dialogue-questbench-v0",
    [(env_id, range(5), {"difficulty": level, "question_format": form})
     for env_id in QUESTBENCH_ENV_IDS for level in ("easy", "medium", "hard") for form in ("free", "choice")],
    "QuestBench-style Logic-Q, GSM-Q and Planning-Q at every level, free-text and multiple-choice "
    "questions, five seeds each.",
)
