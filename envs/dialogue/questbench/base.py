"""What the QuestBench-style environments share: the problem, the generator's interface and
the environment that asks, answers and judges.

A :class:`Problem` is underspecified by exactly one variable: its statement leaves a few
variables unstated (or states some that do not matter), and exactly one of the *askable*
variables (:attr:`Problem.variables`) is necessary and sufficient to solve it. A
:class:`QuestGenerator` draws problems from a seed and proves that property by brute force
before it hands one out; it also solves problems *from their visible part only* (which variable
to ask for, and the answer once its value is known), which is what the oracle plays.

:class:`QuestEnv` turns a problem into an episode: the agent asks questions (free text, or
``ask: <number>`` from a numbered list), a :class:`~agentgym.responders.Responder` answers from
the episode's :class:`~agentgym.responders.Knowledge` (one :class:`~agentgym.responders.Fact`
per askable variable), and ``answer: <...>`` ends the episode.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from agentgym.core import ConfigError, Feedback, InvalidAction, LLMEnv, check_number
from agentgym.envs.dialogue.responding import responder_answer
from agentgym.responders import Fact, Knowledge, Responder, responder_from

QUESTION_FORMATS = ("free", "choice")
# "answer: ...", also in Markdown ("**Answer:** 42", "**Answer**: 42", "### Final answer: 42", "> answer: 42"),
# at the start of the reply or of a line of it (after reasoning); the last such line is the final answer
_MARKUP = r"[\s*_#>`]*"
_ANSWER = re.compile(rf"^{_MARKUP}(?:final\s+)?answer{_MARKUP}[:=]{_MARKUP}", re.IGNORECASE | re.MULTILINE)
_ASK = re.compile(r"^\s*ask\b\s*[:=]?\s*", re.IGNORECASE)
_CHOICE = re.compile(r"^\s*(?:ask\b\s*[:=]?\s*)?(?:question\s*)?#?\s*(\d{1,12})\s*[.)]?\s*\Z", re.IGNORECASE)


@dataclass(frozen=True)
class Variable:
    """One thing the agent may ask about.

    Attributes:
        key: its name for rewards and logs (``"frost"``, ``"price_notebook"``).
        question: the canonical question about it, as the choice list shows it.
        phrases: words a free-text question about it contains (its name and synonyms).
        value: its true value (a bool, a number); hidden unless the statement gives it.
        statement: what the responder says when asked about it.
    """

    key: str
    question: str
    phrases: tuple[str, ...]
    value: Any
    statement: str

    def fact(self) -> Fact:
        return Fact(self.key, self.statement, self.phrases, self.value)


@dataclass(frozen=True)
class Problem:
    """One underspecified problem.

    Attributes:
        statement: what the agent is shown (never the missing value nor the answer).
        variables: everything the agent may ask about, in display order: the missing one and
            distractors (stated already, or irrelevant to the answer).
        missing: the key of the one variable that is necessary and sufficient.
        answer: the final answer once the missing value is known (data).
        answer_text: the same as text, as a right final answer may be written.
        visible: the statement as data (what a solver reads; no hidden value in it).
        choices: the keys the ``choice`` format lists (default: every variable).
        persona: who answers, for a policy responder.
        topics: what may be asked about, shown in the ``free`` format when the statement does
            not make it plain (the ``choice`` format lists the questions instead).
        unknown_reply: the reply to a question about nothing askable.
    """

    statement: str
    variables: tuple[Variable, ...]
    missing: str
    answer: Any
    answer_text: str
    visible: Any
    choices: tuple[str, ...] = ()
    persona: str = ""
    topics: str = ""
    unknown_reply: str = "I can't tell you that."

    def __post_init__(self) -> None:
        keys = [variable.key for variable in self.variables]
        if self.missing not in keys:
            raise ValueError(f"the missing variable {self.missing!r} is not askable")
        if not self.choices:
            object.__setattr__(self, "choices", tuple(keys))
        if self.missing not in self.choices or not set(self.choices) <= set(keys):
            raise ValueError("the choices must be askable variables, the missing one among them")

    def variable(self, key: str) -> Variable:
        return next(variable for variable in self.variables if variable.key == key)

    def knowledge(self) -> Knowledge:
        """One fact per askable variable; a question may ask about one thing at a time."""
        return Knowledge([variable.fact() for variable in self.variables], persona=self.persona,
                         unknown=self.unknown_reply, max_facts=1,
                         too_broad="Please ask about one thing at a time ({topics}).")


class GenerationFailed(RuntimeError):
    """A generator found no problem with the required property within its attempts (a bug in
    the generator's parameters, never expected at run time)."""


class QuestGenerator(ABC):
    """Draws problems and solves them from their visible part.

    ``generate`` must return only problems whose property it has checked by brute force:
    without the missing variable the answer is undetermined, with it (whichever its value)
    the answer is determined, and no other askable variable determines it.
    """

    #: How a final answer is written, quoted, for the instructions ("'answer: <number>'").
    answer_format: ClassVar[str] = "'answer: <your answer>'"
    #: What the problems are about, for the instructions.
    task: ClassVar[str] = ""

    @abstractmethod
    def generate(self, rng: random.Random, difficulty: str) -> Problem:
        """A problem drawn with ``rng`` at ``difficulty``."""

    @abstractmethod
    def necessary(self, problem: Problem) -> str:
        """The key of the askable variable the answer needs, found from ``problem.visible`` and
        the askable keys alone (brute force, as a solver would)."""

    @abstractmethod
    def solve(self, problem: Problem, revealed: Mapping[str, Any]) -> str:
        """The final answer as text, from ``problem.visible`` and the ``revealed`` values
        (which include the necessary one)."""

    @abstractmethod
    def judge(self, problem: Problem, answer: str) -> bool:
        """Whether ``answer`` (the text after ``answer:``) is right; raises
        :class:`InvalidAction` when it cannot be read at all."""

    @abstractmethod
    def random_answer(self, problem: Problem, rng: random.Random) -> str:
        """A random, well-formed final answer (for the random baseline)."""


class QuestEnv(LLMEnv):
    """Ask for the one missing variable, then solve. Subclasses set ``generator``.

    Actions:
        * a question: free text (``question_format="free"``, an optional ``ask:`` before it),
          or ``ask: <number>`` from the listed questions (``question_format="choice"``);
        * ``answer: <...>`` (Markdown around it allowed: ``**Answer:** ...``), at the start of
          the reply or of one of its lines (after reasoning): the final answer (the text after
          it; with several such lines, the text after the last: a reply may correct itself);
          it ends the episode.

    A question goes to the responder (``responder``: ``"rules"``, a
    :class:`~agentgym.responders.Responder` or any policy) and costs a turn, whatever it asks;
    a question about two things at once is answered with a request to ask one at a time.
    An empty question, a choice out of range, free text in the choice format and an answer
    that cannot be read are invalid actions (nothing happens). A responder that fails (a policy
    that raises or returns something unusable, a responder that raises) answers
    ``knowledge.unavailable`` with the error in ``info["responder"]``. The turn budget is the
    registered ``max_turns``.

    Rewards (components):
        * ``outcome``: 1 for a right final answer, 0 for a wrong one;
        * ``asked_right``: ``asked_right_reward`` the first time the necessary variable is
          revealed (default 0, so that the return is the outcome alone and compares with the
          other environments; a positive value, e.g. 0.5, shapes the asking that QuestBench
          measures).

    Info: on question turns ``responder`` (:meth:`~agentgym.responders.Answer.record`) and
    ``revealed`` (``{variable: value}`` for what the turn revealed for the first time); on
    every valid turn ``asked_right`` (the necessary variable has been revealed by now).
    ``reference_answer`` is the answer as text; ``answer_stub`` is ``"answer: "``.
    """

    family: ClassVar[str] = "dialogue"
    difficulties: ClassVar[tuple[str, ...]] = ("easy", "medium", "hard")
    generator: ClassVar[QuestGenerator]

    def __init__(self, difficulty: str | None = None, *, question_format: str = "free",
                 responder: Any = None, asked_right_reward: float = 0.0, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        if question_format not in QUESTION_FORMATS:
            raise ConfigError(f"{owner}: question_format must be one of {', '.join(QUESTION_FORMATS)}, "
                              f"got {question_format!r}")
        self.question_format = question_format
        self.asked_right_reward = check_number(owner, "asked_right_reward", asked_right_reward)
        self.responder: Responder = responder_from(responder)
        if question_format == "free":
            how = ("Ask one question per turn in your own words (about one thing at a time); "
                   "I answer it.")
        else:
            how = ("The questions you may ask are numbered; ask one per turn by its number, e.g. "
                   "'ask: 2'.")
        self.instructions = (
            f"{self.generator.task} The problem leaves something out: exactly one piece of "
            f"information you can ask for is needed to solve it. {how} Every question costs a "
            f"turn, so ask for what the answer depends on. When you know the answer, write "
            f"{self.generator.answer_format}; that ends the episode."
        )

    # ------------------------------------------------------------------ episode
    def new_episode(self, options: dict[str, Any]) -> str:
        self.problem = self.generator.generate(self.rng, self.difficulty)
        self.knowledge = self.problem.knowledge()
        self.revealed: dict[str, Any] = {}
        self.history: list[tuple[str, str]] = []
        self._target: str | None = None  # the oracle's choice, found from the visible problem
        return f"{self.problem.statement}\n\n{self._how_to_ask()}"

    def _how_to_ask(self) -> str:
        if self.question_format == "free":
            topics = f"{self.problem.topics}\n" if self.problem.topics else ""
            return f"{topics}Ask a question, or give your answer as {self.generator.answer_format}."
        lines = [f"{i}. {self.problem.variable(key).question}" for i, key in enumerate(self.problem.choices, 1)]
        return ("Questions you may ask:\n" + "\n".join(lines)
                + f"\nAsk with 'ask: <number>', or give your answer as {self.generator.answer_format}.")

    def play(self, action: str) -> Feedback:
        finals = list(_ANSWER.finditer(action))
        if finals:  # a reply that corrects itself: its last answer line counts
            return self._final(action[finals[-1].end():].strip())
        return self._ask(self._question(action))

    def _question(self, action: str) -> str:
        if self.question_format == "choice":
            choice = _CHOICE.match(action)
            count = len(self.problem.choices)
            if not choice:
                raise InvalidAction(f"ask a listed question by its number (ask: 1 to ask: {count}) or give "
                                    f"your answer as {self.generator.answer_format}.")
            number = int(choice.group(1))
            if not 1 <= number <= count:
                raise InvalidAction(f"there is no question {number}; choose one from 1 to {count}.")
            return self.problem.variable(self.problem.choices[number - 1]).question
        question = _ASK.sub("", action, count=1).strip()
        if not question:
            raise InvalidAction(f"ask a question, or give your answer as {self.generator.answer_format}.")
        return question

    def _ask(self, question: str) -> Feedback:
        answer = responder_answer(self.responder, question, self.knowledge, tuple(self.history))
        self.history.append((question, answer.text))
        new = {key: self.knowledge[key].value for key in answer.facts if key not in self.revealed}
        self.revealed.update(new)
        rewards = {}
        if self.problem.missing in new and self.asked_right_reward:
            rewards["asked_right"] = self.asked_right_reward
        info = {"responder": answer.record(), "revealed": new,
                "asked_right": self.problem.missing in self.revealed}
        return Feedback(answer.text, rewards, info=info)

    def _final(self, text: str) -> Feedback:
        if not text:
            raise InvalidAction(f"write your answer after 'answer:', as {self.generator.answer_format}.")
        right = self.generator.judge(self.problem, text)
        observation = "Correct." if right else "That is not the right answer."
        return Feedback(observation, {"outcome": 1.0 if right else 0.0}, terminated=True, success=right,
                        info={"asked_right": self.problem.missing in self.revealed})

    def close(self) -> None:
        """Close the responder too (it closes a policy only when it owns one)."""
        self.responder.close()
        super().close()

    # ----------------------------------------------------------- hidden answer
    @property
    def reference_answer(self) -> str | None:
        problem = getattr(self, "problem", None)
        return None if problem is None else problem.answer_text

    @property
    def answer_stub(self) -> str:
        return "answer: "

    # --------------------------------------------------------------- baselines
    def oracle_action(self) -> str:
        """Ask for the variable a brute-force solver finds necessary from the visible problem,
        then answer from what the responder revealed."""
        if self._target is None:
            self._target = self.generator.necessary(self.problem)
        if self._target not in self.revealed:
            if self.question_format == "choice":
                return f"ask: {self.problem.choices.index(self._target) + 1}"
            return self.problem.variable(self._target).question
        return "answer: " + self.generator.solve(self.problem, self.revealed)

    def random_action(self, rng: random.Random) -> str:
        """A random question (or choice, sometimes out of range) most of the time, a random
        well-formed answer otherwise."""
        roll = rng.random()
        if roll < 0.3:
            return "answer: " + self.generator.random_answer(self.problem, rng)
        if self.question_format == "choice":
            return f"ask: {rng.randint(1, len(self.problem.choices) + (1 if roll > 0.9 else 0))}"
        if roll > 0.9:
            return rng.choice(("What is the answer?", "Can you give me a hint?", "Tell me everything."))
        return rng.choice(self.problem.variables).question
