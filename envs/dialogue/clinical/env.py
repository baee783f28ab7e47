"""The clinical interview: find a patient's diagnosis by asking, examining and testing.

Each episode is a case drawn from the clinical table (:mod:`.cases`; the table is simplified
teaching data, not medical advice). The first observation gives the patient's age, sex and
chief complaint ("A 34-year-old woman comes in with a sore throat."); everything else is
revealed only when asked for. One action per turn, in the text format:

* **a question**, in plain words ("Any fever or chills?", "May I look at your throat?"): the
  patient (a :class:`~agentgym.responders.Responder`: the rules by default, or any policy
  through ``responder=``) answers about every finding the question names -- matched by the
  findings' phrases and synonyms, whole words, any case and punctuation -- up to
  ``Knowledge.max_facts`` (3) at once; a question about more gets a request to ask about fewer,
  and one about nothing known a polite "I'm not sure what you mean". Examination signs are
  findings too, reported as the examining doctor finds them.
* ``test: <name>`` (also "order a chest x-ray", "run an ECG"): the result is shown and the
  test's cost is the step's negative reward component ``test_cost``. A test already done is
  refused, free. A reply that opens like an order but names no test and asks about a finding
  ("Let's run through your symptoms: any fever?", "I'd like to perform an examination: may I
  look at your throat?") is a question.
* ``diagnosis: <condition>`` (also "The diagnosis is ...", "I diagnose ..."): ends the episode
  with ``outcome`` 1 if it names the case's condition (its name or an alias, any case or
  punctuation), else 0. A question to the patient about a finding that mentions a diagnosis
  ("Prior diagnosis: do you have asthma?", "Before I make a diagnosis: any fever?") is a
  question: its sentence ends with "?" and names no condition after the mark, opens with a
  question word, or speaks to the patient ("you") without naming a condition right after the
  mark ("Diagnosis: migraine?" and "Diagnosis: migraine - do you agree?" are diagnoses).

Questions, tests and the diagnosis use the level's turn budget (easy 10, medium 14, hard 18
turns, the diagnosis included); a question or test on the last turn ends the episode without
a diagnosis (``outcome`` 0). Invalid actions (empty, a test or condition the table does not
know, two conditions in one diagnosis, a question over ``max_question_chars``) are error
observations that use no turn; a policy responder that fails gives one too (``error_kind``
``other``), and so does a responder that raises or returns something unusable. The registered
``TurnLimit`` (30 steps) bounds everything.

Every step's ``info`` has ``revealed``: ``{key: value}`` for the findings (present or absent)
and tests (positive or negative) that step revealed *for the first time*, ``{}`` when none --
the contract :class:`~agentgym.rewards.shapley.ShapleyInformationGain` reads -- and
``presenting`` (``{chief_complaint: True}``, known from the start). Question turns also carry
``info["responder"]`` (:meth:`~agentgym.responders.Answer.record`), diagnosis turns
``info["diagnosis"]``. ``reference_answer`` is the condition's name, ``answer_stub`` "The
diagnosis is ".

In the tools format (``action_format="tools"``, registered as
``dialogue/ClinicalInterviewTools-v0`` through :func:`clinical_tools_env`) the actions are the
tools ``ask(question)``, ``order_test(name)`` and ``diagnose(condition)``
(:mod:`.tools`); a reply without a tool call is a format error that uses no turn.

The oracle asks about the finding, or orders the test, with the largest expected information
gain on the posterior over the candidates (a test's gain less ``oracle_test_price`` nats per
unit of cost), from what was revealed alone (:mod:`.bayes`); it diagnoses the most likely
condition once its posterior reaches ``oracle_threshold``, when nothing left is informative,
or on the last turn.
"""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar

from agentgym.core import ConfigError, Feedback, InvalidAction, LLMEnv, check_int, check_number
from agentgym.info import ErrorKind
from agentgym.registry import constructor_arguments
from agentgym.envs.dialogue.responding import responder_answer
from agentgym.responders import Knowledge, normalize, responder_from
from agentgym.tools import ToolError
from agentgym.tools.formats import HermesFormat

from .bayes import expected_information_gain, most_likely
from .cases import Case, generate_case
from .table import Table, load_table
from .tools import ClinicalToolCalling, ClinicalTools

ACTION_FORMATS = ("text", "tools")
_HERMES = HermesFormat()
# "diagnosis: x", "The (final) diagnosis is x", "I diagnose x" -- but not "were you diagnosed with x?"
_DIAGNOSIS_MARK = re.compile(
    r"\b(?:final\s+|working\s+)?(?:diagnosis|dx)\s*[:\-\u2013=]"
    r"|\b(?:the|my|our|final|working|likely|probable)\s+(?:final\s+|working\s+)?diagnosis"
    r"\s+(?:is|would\s+be|will\s+be)\b"
    r"|^\W*(?:i\s+)?diagnose\b\s*:?"
    r"|^\W*(?:final\s+)?diagnosis\b",
    re.IGNORECASE)
# a question to the patient that mentions a diagnosis ("Prior diagnosis: do you have asthma?")
_SENTENCE_END = re.compile(r"[.!?\n]")
_TO_PATIENT = re.compile(r"\b(?:you|your|youve|you've|youre|you're|yourself)\b", re.IGNORECASE)
_QUESTION_OPENING = re.compile(r"^\W*(?:any|do|does|did|have|has|had|is|are|was|were|can|could|what|which|how|when)\b",
                               re.IGNORECASE)
# "test: x", "order a chest x-ray", "please run an ECG", "let's request a blood count"
_TEST_MARK = re.compile(
    r"^\W*(?:(?:please|lets|let's|let\s+us|i\s+would\s+like\s+to|i'd\s+like\s+to|i\s+will|i'll|we\s+should"
    r"|i\s+want\s+to)\s+)?"
    r"(?:order|request|run|perform|test|tests)\b\s*[:\-]?\s*(?:(?:a|an|the)\s+)?",
    re.IGNORECASE)
_UNKNOWN = "I'm not sure what you mean, doctor. Could you ask me about a particular symptom?"
_TOO_BROAD = "That's a lot at once, doctor. Could you ask about fewer things at a time? (You asked about: {topics}.)"


class ClinicalInterview(LLMEnv):
    """Diagnose a patient by asking, examining and ordering tests (see the module docstring).

    Args:
        difficulty: ``easy`` (6 candidate conditions, listed), ``medium`` (15, listed) or
            ``hard`` (every condition of the table, not listed).
        responder: who plays the patient: ``"rules"`` (default), a
            :class:`~agentgym.responders.Responder` or a :class:`~agentgym.policies.base.Policy`.
        turn_budget: turns per episode, the diagnosis included (default: the level's).
        table: a path to your own clinical table (JSON, the bundled one's shape), or ``None``.
        action_format: ``"text"`` or ``"tools"``.
        max_question_chars: longer questions are refused (free).
        oracle_threshold: the posterior at which the oracle diagnoses.
        oracle_test_price: what one unit of test cost is worth to the oracle, in nats.
        **kwargs: :class:`~agentgym.core.LLMEnv`'s (``invalid_penalty``, ``max_action_chars``...).
    """

    family: ClassVar[str] = "dialogue"
    #: Arguments that reach the host (see LLMEnv.host_arguments): the table file read.
    host_arguments: ClassVar[frozenset[str]] = frozenset({"table"})
    difficulties: ClassVar[tuple[str, ...]] = ("easy", "medium", "hard")

    def __init__(self, difficulty: str | None = None, *, responder: Any = "rules", turn_budget: int | None = None,
                 table: str | None = None, action_format: str = "text", max_question_chars: int = 2_000,
                 oracle_threshold: float = 0.95, oracle_test_price: float = 4.0, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        self.table: Table = load_table(table)
        if self.difficulty not in self.table.levels:
            raise ConfigError(f"{owner}: the clinical table {self.table.source} has no level {self.difficulty!r} "
                              f"(it has {', '.join(self.table.levels)})")
        level = self.table.levels[self.difficulty]
        self.candidates = level.conditions
        self.turn_budget = level.turn_budget if turn_budget is None else check_int(owner, "turn_budget", turn_budget,
                                                                                   minimum=2)
        if action_format not in ACTION_FORMATS:
            raise ConfigError(f"{owner}: action_format must be one of {', '.join(ACTION_FORMATS)}, "
                              f"got {action_format!r}")
        self.action_format = action_format
        self.responder = responder_from(responder)
        self.max_question_chars = check_int(owner, "max_question_chars", max_question_chars, minimum=20)
        self.oracle_threshold = check_number(owner, "oracle_threshold", oracle_threshold)
        if not 0.0 < self.oracle_threshold <= 1.0:
            raise ConfigError(f"{owner}: oracle_threshold must be in (0, 1], got {oracle_threshold!r}")
        self.oracle_test_price = check_number(owner, "oracle_test_price", oracle_test_price, minimum=0.0)
        if action_format == "tools":
            self.toolsets = (ClinicalTools(),)
        self.instructions = self._instructions()
        self.case: Case | None = None
        self.knowledge: Knowledge | None = None
        self.known: dict[str, bool] = {}
        self.turns_used = 0
        self.dialogue: list[tuple[str, str]] = []
        self.transcript: list[tuple[str, str]] = []
        self._pending: Feedback | None = None  # the turn a tool call took, until the wrapper closes it

    def _instructions(self) -> str:
        tests = ", ".join(f"{t.name} ({t.cost:g})" for t in self.table.tests)
        if self.difficulty == "hard":
            scope = (f"The diagnosis is one of {len(self.candidates)} common conditions of adult general practice; "
                     "name it by its usual name.")
        else:
            scope = f"The diagnosis is one of: {', '.join(self.candidates)}."
        if self.action_format == "tools":
            how = ("Act with the tools, one call per turn: ask(question) to ask the patient or examine them, "
                   "order_test(name) to order a test, diagnose(condition) to give your final diagnosis.")
        else:
            how = ("One action per turn: a question to the patient in plain words (symptoms, history, or an "
                   "examination such as 'May I look at your throat?'), 'test: <name>' to order a test, or "
                   "'diagnosis: <condition>' to give your final diagnosis.")
        return (f"You are a doctor seeing a patient. Find the diagnosis by asking questions, examining the patient "
                f"and ordering tests. {how} Each question, examination or test uses one turn; you have "
                f"{self.turn_budget} turns, the diagnosis included. The patient answers only what you ask about. "
                f"Tests and their costs, subtracted from your reward: {tests}. The diagnosis ends the visit, with "
                f"a reward of 1 if it is right. {scope} (Simplified teaching cases, not medical advice.)")

    # ------------------------------------------------------------------ episode
    def new_episode(self, options: dict[str, Any]) -> str:
        condition = options.get("condition")
        if condition is not None:
            name = self.table.condition_named(condition) if isinstance(condition, str) else None
            if name not in self.candidates:
                raise ConfigError(f"{type(self).__name__}.reset: options['condition'] must name one of the "
                                  f"{self.difficulty} candidates ({', '.join(self.candidates)}), got {condition!r}")
            condition = name
        self.case = generate_case(self.rng, self.table, self.candidates, condition)
        case = self.case
        persona = (f"You are the patient, a {case.age}-year-old {case.sex}, at a doctor's appointment. Answer like a "
                   "patient, in plain words. Findings marked '(On examination)' are what the doctor finds on examining "
                   "you: report them as such.")
        self.knowledge = Knowledge(self.table.knowledge_facts(case.findings), persona=persona, unknown=_UNKNOWN,
                                   unavailable="(The patient does not answer.)", too_broad=_TOO_BROAD)
        self.known = dict(case.presenting)
        self.turns_used = 0
        self.dialogue = []
        self.transcript = []
        self._pending = None
        return f"{case.opening(self.table)} You have {self.turn_budget} turns, the diagnosis included."

    @property
    def turns_left(self) -> int:
        return self.turn_budget - self.turns_used

    def play(self, action: str) -> Feedback:
        if self.action_format == "tools":
            problem = ("use the tools: ask(question), order_test(name) or diagnose(condition), one call per turn, e.g. "
                       + _HERMES.render("ask", {"question": "Do you have a fever?"}))
            return self._feedback(f"Format error: {problem}", error=problem, error_kind=ErrorKind.FORMAT)
        text = action.strip()
        if not text:
            raise InvalidAction("ask the patient a question, order a test ('test: blood count') or give your "
                                "diagnosis ('diagnosis: <condition>').")
        mark = _DIAGNOSIS_MARK.search(text)
        if mark and not self._asks_despite_diagnosis_mark(text, mark):
            return self.diagnose(text[mark.end():])
        mark = _TEST_MARK.match(text)
        if mark and (self._names_a_test(text[mark.end():]) or not self.knowledge.asked(text)):
            return self.order_test(text[mark.end():])
        return self.ask(text)  # also "Let's run through your symptoms: any fever?" (no test named)

    # ------------------------------------------------------------------ the three actions
    def ask(self, question: str) -> Feedback:
        """Answer a question (raises :class:`InvalidAction` for one that cannot be asked)."""
        if not question.strip():
            raise InvalidAction("the question is empty; ask the patient something.")
        if len(question) > self.max_question_chars:
            raise InvalidAction(f"the question is {len(question)} characters long; ask a shorter one (at most "
                                f"{self.max_question_chars}).")
        named = self.table.tests_asked_about(question)
        if named:  # "Let's get a chest x-ray": a test, not a question about chest pain ("strep throat?" is one)
            test = self.table.test(named[0])
            how = (f"call order_test with the name {test.name!r}" if self.action_format == "tools"
                   else f"write 'test: {test.name}'")
            raise InvalidAction(f"the patient cannot answer about tests; to order the {test.name}, {how}.")
        answer = responder_answer(self.responder, question, self.knowledge, self.dialogue)
        record = answer.record()
        if answer.error is not None:  # the responder failed: nothing happened, no turn used
            message = f"the patient could not answer ({answer.error[:200]}); ask again."
            return self._feedback(f"No answer: {message} {self._turns_note()}", error=message,
                                  error_kind=ErrorKind.OTHER, info={"responder": record})
        self.dialogue.append((answer.question, answer.text))
        self.transcript.append((answer.question, answer.text))
        revealed = self._reveal(answer.facts)
        return self._close_turn(answer.text, {}, {"responder": record, "revealed": revealed})

    def order_test(self, name: str) -> Feedback:
        """Order the test ``name`` names (raises :class:`InvalidAction` if it names none, or several)."""
        key = self._test_key(name)
        test = self.table.test(key)
        if key in self.known:
            raise InvalidAction(f"the {test.name} is already done: {test.result(self.known[key])}")
        revealed = self._reveal((key,))
        result = test.result(revealed[key])
        self.transcript.append((f"test: {test.name}", result))
        rewards = {"test_cost": -test.cost} if test.cost else {}
        return self._close_turn(f"{result} (Cost: {test.cost:g}.)", rewards, {"revealed": revealed})

    def diagnose(self, named: str) -> Feedback:
        """Judge the diagnosis ``named`` names; ends the episode (raises :class:`InvalidAction`
        if it names no condition of the table, or several)."""
        name = self._condition_name(named)
        self.turns_used += 1
        right = name == self.case.condition
        self.transcript.append((f"diagnosis: {name}", "right" if right else "wrong"))
        verdict = (f"Correct: the diagnosis is {name}." if right
                   else f"Wrong: it was {self.case.condition}, not {name}.")
        return self._feedback(verdict, {"outcome": float(right)}, terminated=True, success=right,
                              info={"revealed": {}, "diagnosis": name})

    # ------------------------------------------------------------------ parts
    def _reveal(self, keys: Any) -> dict[str, bool]:
        revealed = {key: self.case.value(key) for key in keys if key not in self.known}
        self.known.update(revealed)
        return revealed

    def _close_turn(self, observation: str, rewards: dict[str, float], info: dict[str, Any]) -> Feedback:
        """A question or test used a turn: note the turns left, or end the visit undiagnosed."""
        self.turns_used += 1
        if self.turns_left > 0:
            return self._feedback(f"{observation}\n{self._turns_note()}", rewards, info=info)
        return self._feedback(f"{observation}\nThe visit is over without a diagnosis: it was {self.case.condition}.",
                              {**rewards, "outcome": 0.0}, terminated=True, info={**info, "out_of_turns": True})

    def _turns_note(self) -> str:
        left = self.turns_left
        if left == 1:
            return "(1 turn left: give your diagnosis now.)"
        return f"({left} turns left.)"

    def _feedback(self, observation: str, rewards: dict[str, float] | None = None, *, terminated: bool = False,
                  success: bool = False, error: str | None = None, error_kind: ErrorKind | None = None,
                  info: dict[str, Any] | None = None) -> Feedback:
        """Every step's info holds ``revealed`` (``{}`` unless given) and ``presenting``."""
        info = {"revealed": {}, **(info or {}), "presenting": self.case.presenting if self.case else {}}
        return Feedback(observation, dict(rewards or {}), terminated=terminated, success=success, error=error,
                        info=info, error_kind=error_kind)

    def _invalid(self, message: str) -> Feedback:
        feedback = super()._invalid(message)
        return self._feedback(feedback.observation, feedback.rewards, error=message, error_kind=feedback.error_kind)

    def _asks_despite_diagnosis_mark(self, text: str, mark: re.Match[str]) -> bool:
        """The sentence holding the diagnosis mark is a question to the patient about a finding
        ("Prior diagnosis: do you have asthma?", "Before I make a diagnosis: any fever?"): it
        ends with "?" and names no condition after the mark, or speaks to the patient, or opens
        with a question word; "Diagnosis: migraine?" stays a diagnosis."""
        start = max(text.rfind(stop, 0, mark.start()) for stop in ".!?\n") + 1
        end = _SENTENCE_END.search(text, mark.end())
        if end is None or end.group(0) != "?":
            return False
        sentence = text[start:end.end()]
        if not self.knowledge.asked(sentence):
            return False
        after = text[mark.end():end.start()]
        if not self.table.conditions_in(after) or _QUESTION_OPENING.match(sentence):
            return True
        # "Prior diagnosis: do you have asthma?" asks; "Diagnosis: asthma - do you agree?" diagnoses
        words = [word for word in normalize(after).split()][:6]
        while words and words[0] in ("a", "an", "the"):
            words.pop(0)
        opens_with_condition = any(self.table.condition_named(" ".join(words[:n])) for n in range(1, len(words) + 1))
        return bool(_TO_PATIENT.search(sentence)) and not opens_with_condition

    def _names_a_test(self, text: str) -> bool:
        return self.table.test_named(text) is not None or bool(self.table.tests_in(text))

    def _test_key(self, text: str) -> str:
        key = self.table.test_named(text)
        if key is not None:
            return key
        named = self.table.tests_in(text)
        if len(named) == 1:
            return named[0]
        if named:
            raise InvalidAction("order one test per turn (you named: "
                                + ", ".join(self.table.test(k).name for k in named) + ").")
        raise InvalidAction("no test of that name; the tests are: " + ", ".join(t.name for t in self.table.tests) + ".")

    def _condition_name(self, text: str) -> str:
        name = self.table.condition_named(text)
        if name is not None:
            return name
        named = self.table.conditions_in(text)
        if len(named) == 1:
            return named[0]
        if named:
            raise InvalidAction(f"give one diagnosis (you named: {', '.join(named)}).")
        if self.difficulty == "hard":
            raise InvalidAction("no condition of that name is known here; use its usual name, e.g. "
                                "'diagnosis: influenza'.")
        raise InvalidAction(f"no condition of that name; the diagnosis is one of: {', '.join(self.candidates)}.")

    # ------------------------------------------------------------------ tools (ClinicalTools)
    def tool_ask(self, question: str) -> str:
        return self._tool_turn(self.ask, question)

    def tool_order_test(self, name: str) -> str:
        return self._tool_turn(self.order_test, name)

    def tool_diagnose(self, condition: str) -> str:
        return self._tool_turn(self.diagnose, condition)

    def _tool_turn(self, act: Any, argument: str) -> str:
        if self._pending is not None and self._pending.error is None:
            raise ToolError("one action per turn: this turn already has one; make the next call in your next turn")
        try:
            feedback = act(argument)
        except InvalidAction as exc:
            raise ToolError(str(exc)) from None
        self._pending = feedback
        if feedback.error is not None:
            raise ToolError(feedback.error)
        return feedback.observation

    def close_tool_turn(self) -> Feedback:
        """The turn a tool step took (its info, rewards and end), for
        :class:`~agentgym.envs.dialogue.clinical.tools.ClinicalToolCalling`; a step whose calls
        all failed took none."""
        pending, self._pending = self._pending, None
        if pending is None:
            return self._feedback("")
        if pending.error is not None:  # a responder that failed: its record, nothing revealed
            return self._feedback("", info={key: value for key, value in (pending.info or {}).items()
                                            if key == "responder"})
        return pending

    def close(self) -> None:
        """Close the responder too (it closes a policy only when it owns one)."""
        self.responder.close()
        super().close()

    # ------------------------------------------------------------------ hidden reference
    @property
    def reference_answer(self) -> str | None:
        return None if self.case is None else self.case.condition

    @property
    def answer_stub(self) -> str:
        if self.action_format == "tools":
            return '<tool_call>{"name": "diagnose", "arguments": {"condition": "'
        return "The diagnosis is "

    # ------------------------------------------------------------------ baselines
    def oracle_action(self) -> str:
        """See the module docstring: the most informative question or test, or the diagnosis."""
        name, belief = most_likely(self.known, self.candidates, table=self.table)
        if belief >= self.oracle_threshold or self.turns_left <= 1:
            return self._write("diagnose", name)
        gains = expected_information_gain(self.known, self.candidates, table=self.table)
        scores = {key: gain - (self.oracle_test_price * self.table.test(key).cost if self.table.is_test(key) else 0.0)
                  for key, gain in gains.items()}
        best = max(scores, key=scores.__getitem__, default=None)
        if best is None or scores[best] <= 1e-9:
            return self._write("diagnose", name)
        if self.table.is_test(best):
            return self._write("order_test", self.table.test(best).name)
        return self._write("ask", self._question_about(best))

    def _question_about(self, key: str) -> str:
        """The table's question about the finding ``key``, or, when that is longer than
        ``max_question_chars``, the shortest of its phrases that asks about it alone ("tonsils?")."""
        question = self.table.finding(key).question
        if len(question) <= self.max_question_chars or self.knowledge is None:
            return question
        for phrase in sorted(self.table.finding(key).phrases, key=len):
            short = f"{phrase}?"
            if (len(short) <= self.max_question_chars and not self.table.tests_in(short)
                    and [fact.key for fact in self.knowledge.asked(short)] == [key]):
                return short
        return question

    def random_action(self, rng: random.Random) -> str:
        """A question about a random finding (70%), a random test (15%) or a random candidate
        diagnosis (15%)."""
        draw = rng.random()
        if draw < 0.7:
            return self._write("ask", rng.choice(self.table.findings).question)
        if draw < 0.85:
            return self._write("order_test", rng.choice(self.table.tests).name)
        return self._write("diagnose", rng.choice(self.candidates))

    def _write(self, tool: str, value: str) -> str:
        if self.action_format == "tools":
            argument = {"ask": "question", "order_test": "name", "diagnose": "condition"}[tool]
            return _HERMES.render(tool, {argument: value})
        return {"ask": value, "order_test": f"test: {value}", "diagnose": f"diagnosis: {value}"}[tool]

    def render_text(self) -> str:
        if self.case is None:
            return "ClinicalInterview: no episode yet"
        lines = [f"ClinicalInterview ({self.difficulty}): {self.case.opening(self.table)} "
                 f"[{self.turns_used}/{self.turn_budget} turns]"]
        lines += [f"  {asked} -> {reply}" for asked, reply in self.transcript]
        return "\n".join(lines)


def clinical_tools_env(**kwargs: Any) -> ClinicalToolCalling:
    """``ClinicalInterview(action_format="tools", **kwargs)`` inside its
    :class:`~agentgym.envs.dialogue.clinical.tools.ClinicalToolCalling`: the entry point of
    ``dialogue/ClinicalInterviewTools-v0``. Unknown arguments are a :class:`ConfigError`
    naming the accepted ones."""
    accepted = constructor_arguments(ClinicalInterview) or {}
    unknown = sorted(name for name in kwargs if name not in accepted)
    if unknown:
        raise ConfigError(f"clinical interview tools environment: unknown argument(s) {', '.join(unknown)}; "
                          f"it takes: {', '.join(sorted(accepted))}")
    kwargs.setdefault("action_format", "tools")
    if kwargs["action_format"] != "tools":
        raise ConfigError(f"clinical interview tools environment: action_format must be 'tools', "
                          f"got {kwargs['action_format']!r}")
    return ClinicalToolCalling(ClinicalInterview(**kwargs))


#: The interview's own host arguments (see ``LLMEnv.host_arguments``).
clinical_tools_env.host_arguments = ClinicalInterview.host_arguments  # type: ignore[attr-defined]
