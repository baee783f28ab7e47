"""``SearchTask``: one question of a search environment, whatever its source.

Generated questions (:mod:`.questions`) and questions a user brings (NQ / HotpotQA files) both
become ``SearchTask``\\ s, so the environment, its oracle and the reward providers see one shape.

Contract:
    ``answer`` is the reference answer, with a word that exact match compares (an answer that
    SQuAD's normalisation empties, such as ``"A"`` or ``"?!"``, would match no prediction: a
    ``ValueError``); ``aliases`` are other accepted answers (never containing ``answer``).
    ``gold_documents`` lists the supporting document ids in hop order, one per hop where known (a
    document may support two hops, so ids can repeat; ``()`` when the source has none, e.g. NQ).
    ``hop_queries`` are, per hop, a query that finds that hop's document (what the oracle
    searches; ``()`` when unknown). ``hops`` >= 1; ``kind`` and ``difficulty`` describe
    the question for stratified reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentgym.rewards.search import normalise_answer

from .questions import Question
from .world import World


@dataclass(frozen=True)
class SearchTask:
    qid: str
    question: str
    answer: str
    aliases: tuple[str, ...] = ()
    gold_documents: tuple[str, ...] = ()
    hop_queries: tuple[str, ...] = ()
    kind: str = "open"
    hops: int = 1
    difficulty: int = 1
    split: str = "train"

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError(f"task {self.qid!r}: the question must be a non-empty string")
        if not isinstance(self.answer, str) or not self.answer.strip():
            raise ValueError(f"task {self.qid!r}: the answer must be a non-empty string")
        if not normalise_answer(self.answer):
            raise ValueError(f"task {self.qid!r}: the answer {self.answer!r:.60} normalises to nothing for exact "
                             f"match (SQuAD's normalisation drops articles and punctuation): no answer could match it")
        if isinstance(self.hops, bool) or not isinstance(self.hops, int) or self.hops < 1:
            raise ValueError(f"task {self.qid!r}: hops must be a positive int, got {self.hops!r}")
        for name in ("aliases", "gold_documents", "hop_queries"):
            object.__setattr__(self, name, self._strings(name))
        object.__setattr__(self, "aliases", tuple(a for a in dict.fromkeys(self.aliases) if a != self.answer))

    def _strings(self, name: str) -> tuple[str, ...]:
        """Field ``name`` as a tuple of strings; a ``ValueError`` naming it for a string (whose
        characters would each become an item: answering one letter of an alias scored 1) or an
        item that is not a string."""
        value = getattr(self, name)
        if isinstance(value, (str, bytes)):
            raise ValueError(f"task {self.qid!r}: {name} must be a list of strings, got the string {value!r:.80}")
        items = tuple(value)
        if not all(isinstance(item, str) for item in items):
            raise ValueError(f"task {self.qid!r}: {name} must be a list of strings, got {list(items)!r:.80}")
        return items

    @property
    def answers(self) -> tuple[str, ...]:
        """Every accepted answer: the reference first, then the aliases."""
        return (self.answer, *self.aliases)

    @classmethod
    def from_question(cls, question: Question, world: World) -> "SearchTask":
        """A generated question of ``world``; each hop's query is the name of the hop's entity
        (what an agent knows once the previous hop is read; the article's title)."""
        return cls(qid=question.qid, question=question.question, answer=question.answer,
                   aliases=question.aliases, gold_documents=tuple(h.doc_id for h in question.gold),
                   hop_queries=tuple(world.name(h.entity) for h in question.gold), kind=question.kind,
                   hops=question.hops, difficulty=question.difficulty, split=question.split)
