"""Twenty questions: identify a hidden thing by asking yes/no questions about it.

The bundled catalogue (``data/twenty_questions.json``) holds 136 everyday things (animals,
plants, foods, household objects, tools, electronics, vehicles, clothes, instruments, sports
gear, places), each described by the same 39 yes/no attributes; every thing has its own
combination, so twenty well-chosen questions always suffice. Levels set the candidate set:

* easy: 16 things, listed in the instructions;
* medium: 48 things, listed in the instructions;
* hard: all 136, only their kinds are named.

Questions are free text, mapped to an attribute through keywords ("Does it live in the sea?"
asks ``found_in_water``); the reply repeats the question as understood ("Is it found in or on
water? Yes."). A question that names no attribute, or several, is an invalid action and costs
nothing. A guess ("Is it a penguin?", "guess: penguin") that names a thing of the catalogue
costs a question unless it is right; a right guess wins. The oracle asks the question that
splits the things still possible most evenly, then guesses; it never looks at the secret.

Questions are answered by a :class:`~agentgym.responders.Responder` (the ``responder``
argument, :func:`~agentgym.responders.responder_from`). The episode's
:class:`~agentgym.responders.Knowledge` holds one :class:`~agentgym.responders.Fact` per
attribute: its phrases are the catalogue's keywords (matched by the responders' rules: whole
words, lower case, a plural ``s``/``es`` accepted, the longest phrase first), its statement the
reply ("Is it found in or on water? Yes."), its value the truth. With the default rules the
reply is that statement. With a policy (:class:`~agentgym.responders.PolicyResponder`: a
hosted model, vLLM, a scripted one) the policy, told the secret and the facts, answers the
agent's question; its yes or no is read from the first yes-word or no-word of its text (a
negated yes-word, "absolutely not", "not true", says no: :func:`yes_or_no`) and the reply
restates the question with it (so the answers the agent sees, and the things still possible,
follow the responder even where it errs). A reply with neither word, or a policy that fails,
gives an error observation that costs no question. Every question turn records the answer in
``info["responder"]`` (:meth:`~agentgym.responders.Answer.record`); guesses are judged by the
environment itself.
"""

from __future__ import annotations

import functools
import json
import random
import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from agentgym.core import Feedback, InvalidAction
from agentgym.envs.games.base import HiddenAnswerGame
from agentgym.info import ErrorKind
from agentgym.responders import Answer, Fact, Knowledge, RuleResponder, responder_from

QUESTIONS = 20
# difficulty -> the catalogue levels its candidates come from
_TIERS = {"easy": ("easy",), "medium": ("easy", "medium"), "hard": ("easy", "medium", "hard")}
_KINDS = ("animals, plants, fruits and vegetables, foods, kitchen and household objects, tools, "
          "electronics, vehicles, clothes, musical instruments, sports gear and places")
# The question asked is the last sentence that ends in "?", else the last sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_GUESS_MARK = re.compile(r"\b(?:guess|answer)\b(?: is\b)?")
_IS_IT = re.compile(r"\b(?:is it|it is|its|is this|could it be|it must be)\b")
_ARTICLE = re.compile(r"(?:a|an|the|some) ")
# How a policy responder's reply says yes or no: its first word of either set decides.
_YES_WORDS = frozenset({"yes", "yeah", "yep", "yup", "correct", "true", "affirmative", "indeed", "certainly",
                        "absolutely"})
_NO_WORDS = frozenset({"no", "nope", "nah", "false", "incorrect", "negative"})
# A yes-word right after one of these says no ("not true", "isn't correct"), as does one of the
# adverbs right before "not" ("certainly not", "absolutely not").
_NEGATIONS = frozenset({"not", "isnt", "arent", "wasnt", "werent", "never"})
_ADVERBS_BEFORE_NOT = frozenset({"certainly", "absolutely", "indeed"})


def normalize(text: str) -> str:
    """Lowercase words separated by single spaces ("It's man-made?" -> "its man made")."""
    return _NOT_WORD.sub(" ", text.lower().replace("'", "").replace("\u2019", "")).strip()


@dataclass(frozen=True)
class Catalogue:
    """The things, their attributes, and the vocabulary that maps questions to attributes."""

    attributes: tuple[str, ...]
    questions: dict[str, str]  # attribute -> its canonical yes/no question
    things: tuple[str, ...]
    levels: dict[str, str]  # thing -> the easiest level whose candidates include it
    yes: dict[str, frozenset[str]]  # thing -> the attributes it has
    names: dict[str, str]  # normalised name, alias or plural -> thing
    keywords: dict[str, str]  # phrase -> the attribute it asks about
    phrases: dict[str, tuple[str, ...]]  # attribute -> its keywords, as the catalogue lists them
    keyword_pattern: re.Pattern[str]
    articles: dict[str, str]  # thing -> "a", "an" or "" (rice, grapes, scissors)

    def called(self, thing: str) -> str:
        """The thing with its article, as in "it is an orange" or "it is rice"."""
        article = self.articles[thing]
        return f"{article} {thing}" if article else thing

    def thing_named(self, text: str) -> str | None:
        """The thing a normalised text names exactly, or None."""
        return self.names.get(text)

    def last_thing_in(self, text: str) -> str | None:
        """The last thing named anywhere in a normalised text (longest name at a tie)."""
        words = text.split()
        for end in range(len(words), 0, -1):
            for start in range(max(0, end - 3), end):
                thing = self.names.get(" ".join(words[start:end]))
                if thing:
                    return thing
        return None

    def attributes_asked(self, text: str) -> set[str]:
        """The attributes a normalised question mentions ("Is it natural?" asks whether it is
        made by people: the reply restates the question it answers)."""
        return {self.keywords[match] for match in self.keyword_pattern.findall(text)}


@functools.cache
def load_catalogue() -> Catalogue:
    """The bundled catalogue, read once."""
    path = files("agentgym.envs.games") / "data" / "twenty_questions.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    attributes = tuple(raw["attributes"])
    keywords = {normalize(phrase): attribute
                for attribute, spec in raw["attributes"].items() for phrase in spec["keywords"]}
    # Longest phrases first, so "eat meat" wins over "eat" and "smaller than a car" over "smaller".
    alternatives = sorted(keywords, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, alternatives)) + r")\b")
    names: dict[str, str] = {}
    for thing in raw["objects"]:
        for name in (thing["name"], *thing["aliases"]):
            names[normalize(name)] = thing["name"]
    for name, thing in list(names.items()):  # plurals: "penguins", "boxes"
        names.setdefault(name + "s", thing)
        names.setdefault(name + "es", thing)
    return Catalogue(
        attributes=attributes,
        questions={key: spec["question"] for key, spec in raw["attributes"].items()},
        things=tuple(thing["name"] for thing in raw["objects"]),
        levels={thing["name"]: thing["level"] for thing in raw["objects"]},
        yes={thing["name"]: frozenset(thing["yes"]) for thing in raw["objects"]},
        names=names,
        keywords=keywords,
        phrases={attribute: tuple(spec["keywords"]) for attribute, spec in raw["attributes"].items()},
        keyword_pattern=pattern,
        articles={thing["name"]: thing.get("article", "an" if thing["name"][0] in "aeiou" else "a")
                  for thing in raw["objects"]},
    )


@functools.cache
def candidates_for(difficulty: str) -> tuple[str, ...]:
    """The things the secret is drawn from at ``difficulty``, in catalogue order."""
    catalogue = load_catalogue()
    return tuple(t for t in catalogue.things if catalogue.levels[t] in _TIERS[difficulty])


@functools.cache
def _attribute_masks(difficulty: str) -> dict[str, int]:
    """attribute -> bit mask of the candidates that have it (bit i stands for
    ``candidates_for(difficulty)[i]``)."""
    catalogue = load_catalogue()
    candidates = candidates_for(difficulty)
    return {attribute: sum(1 << i for i, thing in enumerate(candidates)
                           if attribute in catalogue.yes[thing])
            for attribute in catalogue.attributes}


def yes_or_no(text: str) -> bool | None:
    """What a free-text reply says: ``True`` for yes, ``False`` for no, ``None`` when it says
    neither. The first yes-word or no-word decides ("No, it is not, yes really" is no); a
    yes-word negated says no: after "not" ("not true", "that isn't correct") or, for
    "certainly", "absolutely" and "indeed", before it ("absolutely not")."""
    words = normalize(text).split()
    for i, word in enumerate(words):
        if word in _YES_WORDS:
            if i and words[i - 1] in _NEGATIONS:
                return False
            return not (word in _ADVERBS_BEFORE_NOT and words[i + 1:i + 2] == ["not"])
        if word in _NO_WORDS:
            return False
    return None


class TwentyQuestions(HiddenAnswerGame):
    """Find the hidden thing with at most twenty yes/no questions and guesses.

    Action: a yes/no question about one property, in your own words ("Can it fly?"), or a guess
    ("Is it a penguin?" or "guess: penguin"). Reward: ``outcome`` 1 on a right guess; with
    ``dense_reward``, ``progress`` is the fraction of the still-possible things an answer ruled
    out.

    Args:
        difficulty: ``easy``, ``medium`` or ``hard`` (the candidate set).
        responder: who answers the questions: ``"rules"`` (default), a
            :class:`~agentgym.responders.Responder` or a :class:`~agentgym.policies.base.Policy`
            (see the module docstring).
        **kwargs: :class:`~agentgym.core.LLMEnv`'s.
    """

    strategy_hint = (
        "Ask yes/no questions that split the remaining candidates in half (living or not, man-made or not)."
    )

    secret_stub = "The hidden thing is: "

    def __init__(self, difficulty: str | None = None, *, responder: Any = "rules", **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.responder = responder_from(responder)
        self._knowledge: tuple[str, Knowledge] | None = None  # (the secret it was built for, it)
        self.catalogue = load_catalogue()
        self.candidates = candidates_for(self.difficulty)
        self._index = {thing: i for i, thing in enumerate(self.candidates)}
        self._masks = _attribute_masks(self.difficulty)
        self._all = (1 << len(self.candidates)) - 1
        self._canonical = [self.catalogue.questions[a] for a in self.catalogue.attributes]
        if self.difficulty == "hard":
            scope = f"one of {len(self.candidates)} everyday things: {_KINDS}"
        else:
            scope = f"one of these {len(self.candidates)} things: {', '.join(self.candidates)}"
        self.instructions = (
            f"I am thinking of {scope}. Find it with at most {QUESTIONS} yes/no questions. Ask "
            "about one property at a time, in your own words; I answer Yes or No and repeat the "
            "question as I understood it. I understand questions like these: "
            + " ".join(self._canonical)
            + " To guess, ask e.g. 'Is it a penguin?' or write 'guess: penguin'. A wrong guess "
            "costs a question; a right guess wins. A question I cannot understand costs nothing."
        )

    def new_episode(self, options: dict[str, Any]) -> str:
        self.secret = self.rng.choice(self.candidates)
        self.remaining = self._all  # candidates consistent with every answer so far
        self.asked = 0
        self.transcript: list[tuple[str, str]] = []
        self.dialogue: list[tuple[str, str]] = []  # (question, reply) of the responder, for a policy's history
        return (f"I am thinking of something. Ask your first yes/no question or guess. You have "
                f"{QUESTIONS} questions.")

    @property
    def knowledge(self) -> Knowledge:
        """The episode's facts: one per attribute, its statement today's reply about the secret
        (rebuilt when the secret changes)."""
        if self._knowledge is None or self._knowledge[0] != self.secret:
            catalogue, has = self.catalogue, self.catalogue.yes[self.secret]
            facts = [Fact(attribute, f"{catalogue.questions[attribute]} {'Yes' if attribute in has else 'No'}.",
                          catalogue.phrases[attribute], attribute in has)
                     for attribute in catalogue.attributes]
            persona = (f"You are playing twenty questions. You are thinking of {catalogue.called(self.secret)}. "
                       "Answer each question with Yes or No, truthfully, following the facts below.")
            self._knowledge = (self.secret, Knowledge(facts, persona=persona, max_facts=1))
        return self._knowledge[1]

    def play(self, action: str) -> Feedback:
        kind, value, sentence = self._parse(action)
        said: bool | None = None
        record: dict[str, Any] | None = None
        if kind == "ask":
            answer = self.responder.answer(sentence, self.knowledge, self.dialogue)
            record = {"responder": answer.record()}
            if answer.error is None:
                # what it said is part of the conversation, even without a yes or no: asked
                # again, a policy then sees its last reply and need not repeat it
                self.dialogue.append((answer.question, answer.text))
                said = (self.knowledge[value].value if isinstance(self.responder, RuleResponder)
                        else yes_or_no(answer.text))
            if said is None:  # the responder failed, or said neither yes nor no: the question is free
                return self._responder_failed(answer, record)
        before = self.remaining
        self.asked += 1
        left = QUESTIONS - self.asked
        if kind == "guess":
            if value == self.secret:
                self.transcript.append((f"Is it {self.catalogue.called(value)}?", "Yes"))
                used = f"{self.asked} question" + ("s" if self.asked > 1 else "")
                return Feedback(f"Yes! It is {self.catalogue.called(value)}. You found it with "
                                f"{used}.", {"outcome": 1.0}, terminated=True, success=True)
            self.remaining &= ~(1 << self._index[value]) if value in self._index else self._all
            self.transcript.append((f"Is it {self.catalogue.called(value)}?", "No"))
            reply = f"No, it is not {self.catalogue.called(value)}."
        else:
            self.remaining &= self._masks[value] if said else ~self._masks[value]
            question = self.catalogue.questions[value]
            self.transcript.append((question, "Yes" if said else "No"))
            reply = f"{question} {'Yes' if said else 'No'}."
        rewards = {}
        if self.dense_reward:
            # nothing left to rule out once an erring responder has contradicted itself
            possible = before.bit_count()
            rewards["progress"] = 1.0 - self.remaining.bit_count() / possible if possible else 0.0
        if left == 0:
            return Feedback(f"{reply} You have no questions left: it was "
                            f"{self.catalogue.called(self.secret)}. You lose.",
                            {"outcome": 0.0, **rewards}, terminated=True, info=record)
        plural = "question" if left == 1 else "questions"
        return Feedback(f"{reply} {left} {plural} left.", rewards, info=record)

    def _responder_failed(self, answer: Answer, record: dict[str, Any]) -> Feedback:
        """A question the responder did not answer with a yes or no: an error observation that
        costs no question (the agent did nothing wrong; ``error_kind`` is ``other``)."""
        # The reply itself is not shown: a chatty responder may name the secret (it is in info).
        why = (f"the responder failed ({answer.error[:200]})" if answer.error is not None
               else "the responder's reply said neither yes nor no")
        message = f"{why}; ask again. {QUESTIONS - self.asked} questions left."
        return Feedback(f"No answer: {message}", {}, error=message, info=record, error_kind=ErrorKind.OTHER)

    def _interpret(self, action: str) -> tuple[str, str]:
        """("guess", thing) or ("ask", attribute); raises InvalidAction."""
        kind, value, _ = self._parse(action)
        return kind, value

    def _parse(self, action: str) -> tuple[str, str, str]:
        """``_interpret``'s answer and the sentence it read (the question the responder gets)."""
        sentences = [s for s in _SENTENCE_END.split(action) if s.strip()]
        questions = [s for s in sentences if "?" in s]
        asked_sentence = (questions or sentences or [""])[-1].strip()
        text = normalize(asked_sentence)
        mark = _GUESS_MARK.search(text)
        if mark:
            thing = self.catalogue.last_thing_in(text[mark.end():])
        else:
            leads = list(_IS_IT.finditer(text))
            named = text[leads[-1].end():].strip() if leads else text
            article = _ARTICLE.match(named)
            thing = self.catalogue.thing_named(named[article.end():] if article else named)
        if thing:
            return "guess", thing, asked_sentence
        asked = {fact.key for fact in self.knowledge.asked(text)}
        if len(asked) == 1:
            return "ask", asked.pop(), asked_sentence
        if len(asked) > 1:
            topics = " / ".join(self.catalogue.questions[a] for a in sorted(asked))
            raise InvalidAction(f"ask about one property at a time; your question mixes: {topics}")
        if mark:
            raise InvalidAction("that guess names nothing I know; guess an everyday thing, "
                                "e.g. guess: penguin.")
        raise InvalidAction("I can only answer yes/no questions about these properties: "
                            + " ".join(self._canonical) + " Or guess, e.g. 'Is it a penguin?'.")

    def close(self) -> None:
        """Close the responder too (it closes a policy only when it owns one)."""
        self.responder.close()
        super().close()

    def random_action(self, rng: random.Random) -> str:
        if rng.random() < 0.125:
            return f"guess: {rng.choice(self.candidates)}"
        return rng.choice(self._canonical)

    def oracle_action(self) -> str:
        """The question that splits the still-possible things most evenly; a guess once one
        thing is left. When no thing is possible (a responder that erred contradicted itself),
        it splits every candidate instead."""
        remaining = self.remaining or self._all
        count = remaining.bit_count()
        if count == 1:
            return f"guess: {self.candidates[remaining.bit_length() - 1]}"
        best_attribute, best_gap = None, count
        for attribute in self.catalogue.attributes:
            yes = (remaining & self._masks[attribute]).bit_count()
            gap = abs(2 * yes - count)
            if 0 < yes < count and gap < best_gap:
                best_attribute, best_gap = attribute, gap
        # The catalogue gives every thing its own attributes, so some question always splits.
        return self.catalogue.questions[best_attribute]

    def render_text(self) -> str:
        lines = [f"TwentyQuestions ({self.difficulty}): {self.asked}/{QUESTIONS} questions, "
                 f"{self.remaining.bit_count()} of {len(self.candidates)} things still possible"]
        lines += [f"  {question} -> {answer}" for question, answer in self.transcript]
        return "\n".join(lines)
