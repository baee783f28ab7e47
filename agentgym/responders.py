"""Responders: whoever answers the agent's questions in an information-seeking environment.

A patient in a clinical interview, the person holding the missing number of a word problem, the
player who thinks of the secret in twenty questions: each knows some **facts** the agent must
ask for. The environment keeps the facts of its episode in a :class:`Knowledge`; a
:class:`Responder` turns one question into an :class:`Answer`::

    knowledge = Knowledge([Fact("fever", "Yes, I have had a fever since Monday.", ("fever", "temperature")),
                           Fact("cough", "No, I have no cough.", ("cough", "coughing"))],
                          persona="You are the patient.")
    answer = RuleResponder().answer("Any fever lately?", knowledge)
    answer.text   # 'Yes, I have had a fever since Monday.'
    answer.facts  # ('fever',)

Two kinds, chosen by the environment's ``responder`` argument (:func:`responder_from`):

* :class:`RuleResponder` (the default): finds the facts a question asks about by their phrases
  (lower-cased, punctuation-free, whole words, plural ``s``/``es`` accepted, the longest phrase
  first) and answers with their statements; a question about nothing known gets
  ``knowledge.unknown``. Deterministic and free.
* :class:`PolicyResponder`: any :class:`~agentgym.policies.base.Policy` (a hosted model through
  the OpenAI-compatible client, vLLM, a local model, a scripted one) plays the responder from a
  system prompt holding the persona and the facts. Its ``facts`` are what the question asked
  about (found as the rule responder finds them), so rewards that weigh revealed facts work
  with either kind. A policy that fails gives an answer with ``error`` set and the reply
  ``knowledge.unavailable``: the episode goes on.

Every answer is recorded: environments put :meth:`Answer.record` into the step's
``info["responder"]``, which the rollout engine keeps in ``turn.info``, so a trajectory shows
who answered what, and with which facts.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from agentgym.core import ConfigError
from agentgym.event_loops import run_sync

if TYPE_CHECKING:  # policies import torch lazily; the core must not import them
    from agentgym.policies.base import Policy, SamplingParams

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces ("It's man-made?" -> "its man made")."""
    return _NOT_WORD.sub(" ", text.lower().replace("'", "").replace("\u2019", "")).strip()


@dataclass(frozen=True)
class Fact:
    """One thing the responder knows.

    Attributes:
        key: its name, as rewards and logs refer to it (``"fever"``).
        statement: the answer to a question about it, in the responder's words.
        phrases: words or short phrases a question about it contains (``"fever"``,
            ``"temperature"``); matched as whole words after :func:`normalize`.
        value: what the fact says, as data (``True`` for a present finding, a number...), for
            rewards and oracles; never shown to the agent unless the statement says it.
    """

    key: str
    statement: str
    phrases: tuple[str, ...]
    value: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ConfigError(f"Fact.key must be a non-empty string, got {self.key!r}")
        if isinstance(self.phrases, str):
            object.__setattr__(self, "phrases", (self.phrases,))
        if not self.phrases or any(not isinstance(p, str) or not normalize(p) for p in self.phrases):
            raise ConfigError(f"Fact {self.key!r}: phrases must be non-empty strings with a letter or digit, "
                              f"got {self.phrases!r}")


@dataclass(frozen=True)
class Knowledge:
    """The facts of one episode, and how the responder speaks.

    Attributes:
        facts: what can be asked about (keys unique).
        persona: who answers, for a policy responder's system prompt ("You are the patient...").
        unknown: the reply to a question that asks about no known fact.
        unavailable: the reply when the responder failed (a policy error).
        max_facts: how many facts one question may ask about before it counts as too broad
            (the reply is then ``too_broad`` and no fact is revealed).
        too_broad: that reply; ``{topics}`` is replaced by the facts' keys.
    """

    facts: Sequence[Fact]
    persona: str = ""
    unknown: str = "I don't know."
    unavailable: str = "(no answer)"
    max_facts: int = 3
    too_broad: str = "Please ask about one thing at a time ({topics})."
    _index: dict[str, Fact] = field(init=False, repr=False, compare=False)
    _phrases: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        facts = tuple(self.facts)
        if any(not isinstance(fact, Fact) for fact in facts):
            raise ConfigError("Knowledge.facts must be Fact objects")
        index: dict[str, Fact] = {}
        phrases: dict[str, str] = {}
        for fact in facts:
            if fact.key in index:
                raise ConfigError(f"Knowledge: two facts are called {fact.key!r}")
            index[fact.key] = fact
            for phrase in fact.phrases:
                phrases.setdefault(normalize(phrase), fact.key)  # the first fact to claim a phrase keeps it
        if not isinstance(self.max_facts, int) or isinstance(self.max_facts, bool) or self.max_facts < 1:
            raise ConfigError(f"Knowledge.max_facts must be a positive integer, got {self.max_facts!r}")
        _check_replies(self)
        object.__setattr__(self, "facts", facts)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_phrases", phrases)

    def __getitem__(self, key: str) -> Fact:
        return self._index[key]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def asked(self, question: str) -> list[Fact]:
        """The facts ``question`` asks about, in the order they are mentioned (each once)."""
        text = normalize(question)
        if not text or not self._phrases:  # no phrases: the pattern would match '' everywhere
            return []
        keys = [self._phrases[match.group(1)] for match in _pattern(tuple(self._phrases)).finditer(text)]
        return [self._index[key] for key in dict.fromkeys(keys)]

    def describe(self) -> str:
        """The facts as a list for a policy responder's system prompt."""
        return "\n".join(f"- {fact.key}: {fact.statement}" for fact in self.facts)


def _check_replies(knowledge: Knowledge) -> None:
    """The texts a responder says are strings, and ``too_broad`` names no placeholder but
    ``{topics}``: each is checked when the knowledge is made, not at the agent's step."""
    for name in ("persona", "unknown", "unavailable", "too_broad"):
        value = getattr(knowledge, name)
        if not isinstance(value, str):
            raise ConfigError(f"Knowledge.{name} must be a string, got {value!r}")
    try:
        knowledge.too_broad.format(topics="fever, cough")
    except (KeyError, IndexError, AttributeError, ValueError) as exc:
        raise ConfigError(f"Knowledge.too_broad may hold only the placeholder {{topics}}, got "
                          f"{knowledge.too_broad!r} ({type(exc).__name__}: {exc})") from None


@functools.lru_cache(maxsize=256)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-word alternatives, longest first ("shortness of breath" before "breath"), each
    also matched with a plural ``s`` or ``es``."""
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"\b({alternatives})(?:e?s)?\b")


@dataclass(frozen=True)
class Answer:
    """What the responder said to one question.

    Attributes:
        question: the agent's question, as asked.
        text: the reply the agent sees.
        facts: the keys of the facts the answer revealed (empty when it revealed none).
        responder: the responder's name (``"rules"``, or the policy's).
        error: why the responder could not answer (``None`` when it did).
    """

    question: str
    text: str
    facts: tuple[str, ...] = ()
    responder: str = "rules"
    error: str | None = None

    @property
    def understood(self) -> bool:
        """The question asked about some known fact."""
        return bool(self.facts)

    def record(self) -> dict[str, Any]:
        """JSON-safe, for ``info["responder"]``."""
        return {"responder": self.responder, "question": self.question, "answer": self.text,
                "facts": list(self.facts), "error": self.error}


class Responder(ABC):
    """Answers one question from the episode's :class:`Knowledge`. Stateless between calls
    (everything an answer depends on is passed in), so one responder serves many environments."""

    name: str = "responder"

    @abstractmethod
    def answer(self, question: str, knowledge: Knowledge,
               history: Sequence[tuple[str, str]] = ()) -> Answer:
        """The answer to ``question``. ``history`` holds the earlier (question, answer) pairs of
        the episode. Never raises for anything the agent wrote."""

    async def aanswer(self, question: str, knowledge: Knowledge,
                      history: Sequence[tuple[str, str]] = ()) -> Answer:
        """Async :meth:`answer` (defaults to the sync one)."""
        return self.answer(question, knowledge, history)

    def close(self) -> None:
        """Release what the responder holds (a policy it owns)."""


def _asked_keys(question: str, knowledge: Knowledge) -> tuple[tuple[str, ...], str | None]:
    """The keys a question reveals and, when it asks about too much, the reply saying so."""
    asked = knowledge.asked(question)
    if len(asked) > knowledge.max_facts:
        return (), knowledge.too_broad.format(topics=", ".join(fact.key for fact in asked))
    return tuple(fact.key for fact in asked), None


class RuleResponder(Responder):
    """Answers with the statements of the facts a question names (see the module docstring)."""

    name = "rules"

    def answer(self, question: str, knowledge: Knowledge,
               history: Sequence[tuple[str, str]] = ()) -> Answer:
        keys, refusal = _asked_keys(question, knowledge)
        if refusal is not None:
            return Answer(question, refusal, (), self.name)
        if not keys:
            return Answer(question, knowledge.unknown, (), self.name)
        return Answer(question, " ".join(knowledge[key].statement for key in keys), keys, self.name)


_RESPONDER_RULES = (
    "Answer the question you are asked in one or two sentences, in character, using only the facts "
    "below. Reveal only what the question asks about; never volunteer other facts. If the question "
    "asks about nothing below, say you don't know."
)


class PolicyResponder(Responder):
    """A :class:`~agentgym.policies.base.Policy` plays the responder.

    Args:
        policy: any policy (``agenerate`` is used; a sync environment calls it through
            ``asyncio.run`` in its own thread).
        sampling: how it samples (default: greedy, 128 tokens, no log-probs).
        instructions: the rules placed before the persona and facts in its system prompt.
        owns_policy: close the policy with the responder.
    """

    def __init__(self, policy: "Policy", *, sampling: "SamplingParams | None" = None,
                 instructions: str = _RESPONDER_RULES, owns_policy: bool = False) -> None:
        from agentgym.policies.base import Policy, SamplingParams

        if not isinstance(policy, Policy):
            raise ConfigError(f"PolicyResponder needs a Policy, got {type(policy).__name__}")
        self.policy = policy
        self.sampling = sampling or SamplingParams(max_tokens=128, temperature=0.0, logprobs=False)
        self.instructions = instructions
        self.owns_policy = owns_policy
        self.name = f"policy:{getattr(policy, 'name', type(policy).__name__)}"

    def messages(self, question: str, knowledge: Knowledge,
                 history: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
        """The conversation the policy continues: system prompt (rules, persona, facts), then
        the earlier questions and answers, then the question."""
        system = "\n\n".join(part for part in (self.instructions, knowledge.persona,
                                                "Facts:\n" + knowledge.describe()) if part)
        messages = [{"role": "system", "content": system}]
        for asked, answered in history:
            messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
        return messages + [{"role": "user", "content": question}]

    async def aanswer(self, question: str, knowledge: Knowledge,
                      history: Sequence[tuple[str, str]] = ()) -> Answer:
        from agentgym.policies.base import Request

        from agentgym.policies.base import Generation

        keys, _ = _asked_keys(question, knowledge)
        try:
            generations = await self.policy.agenerate([Request(self.messages(question, knowledge, history))],
                                                      self.sampling)
        except Exception as exc:  # noqa: BLE001 - a failing responder must not end the episode
            return Answer(question, knowledge.unavailable, (), self.name, f"{type(exc).__name__}: {exc}")
        generation = generations[0] if isinstance(generations, list) and len(generations) == 1 else None
        if not isinstance(generation, Generation) or not isinstance(generation.text, str):
            return Answer(question, knowledge.unavailable, (), self.name,
                          f"the responder policy returned {generations!r:.80}, not a list of one Generation with text")
        if generation.error is not None or generation.finish_reason == "error":
            return Answer(question, knowledge.unavailable, (), self.name, generation.error or "policy error")
        text = generation.text.strip()
        if not text:  # an empty reply revealed nothing: the agent is told the responder does not know
            return Answer(question, knowledge.unknown, (), self.name)
        return Answer(question, text, keys, self.name)

    def answer(self, question: str, knowledge: Knowledge,
               history: Sequence[tuple[str, str]] = ()) -> Answer:
        return run_sync(self.aanswer(question, knowledge, history),
                        "PolicyResponder.answer() was called inside a running event loop: "
                        "await aanswer() instead (or step the environment with astep)")

    def close(self) -> None:
        if self.owns_policy:
            self.policy.close()


def responder_from(spec: Any) -> Responder:
    """The responder an environment's ``responder`` argument names: ``None`` or ``"rules"``
    for :class:`RuleResponder`, a :class:`Responder` as it is, a
    :class:`~agentgym.policies.base.Policy` wrapped in :class:`PolicyResponder`."""
    if spec is None or spec == "rules":
        return RuleResponder()
    if isinstance(spec, Responder):
        return spec
    from agentgym.policies.base import Policy

    if isinstance(spec, Policy):
        return PolicyResponder(spec)
    raise ConfigError(f"responder must be 'rules', a Responder or a Policy, got {spec!r}")


def facts_from(pairs: Iterable[tuple[str, str, Sequence[str]]]) -> list[Fact]:
    """``[Fact(key, statement, tuple(phrases)), ...]`` from plain triples."""
    return [Fact(key, statement, tuple(phrases)) for key, statement, phrases in pairs]
