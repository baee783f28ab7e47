"""Multi-hop questions over the synthetic world, with their gold supporting documents.

Contract:
    ``generate_questions(world, n, seed, split=None, kinds=None)`` returns up to ``n`` distinct
    ``Question``s, deterministically from (world, seed). Kinds:

    * ``single``       -- one relation or numeric attribute of a named entity (1 hop);
    * ``bridge``       -- a chain of 2-4 relations/attributes ("the founding year of the employer
                          of the author of X");
    * ``comparison``   -- which of two bridged entities has the larger/earlier value (4 hops:
                          both sources, both targets); the answer is a name not in the question;
    * ``intersection`` -- the unique entity satisfying two relations (2 hops, both stated in the
                          answer's own article).

    Each question carries ``gold``: one ``Hop(doc_id, entity, fact)`` per reasoning step, where
    ``fact`` is the exact sentence the article ``doc_id`` states (see ``corpus.fact_sentences``)
    and contains that step's intermediate answer. ``hops == len(gold)``. ``difficulty`` is
    ``hops`` plus the number of gold entities that have near-duplicate names in the corpus.
    ``split`` is "train" or "held_out": every entity a question touches lies in that split
    (``World.split``), so no entity, hence no entity answer, is shared across splits.
    A question is rejected when its answer or any answer alias appears (case-insensitively)
    in the question text. An entity answer's ``aliases`` are its ``World.unique_aliases``: an
    alias another entity shares (two organisations' "FFS-1006") would accept an answer that
    names the wrong one.
"""
from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from .corpus import doc_id, fact_sentences
from .world import CITY, NUMERIC, ORG, PERSON, RELATIONS, WORK, World

KINDS = ("single", "bridge", "comparison", "intersection")
SPLITS = ("train", "held_out")

REL_NOUN = {"birth_city": "birthplace", "employer": "employer", "hq": "headquarters city",
            "founder": "founder", "author": "author", "publisher": "publisher",
            "location": "location", "organiser": "organiser"}
ATTR_NOUN = {"birth_year": "birth year", "population": "population",
             "founded_year": "founding year", "year": "year of first appearance",
             "event_year": "year"}
# (source type, relation, target attribute, question wording, pick larger value?)
COMPARISONS = (
    (PERSON, "birth_city", "population",
     "Which city has the larger population: the birthplace of {a} or the birthplace of {b}?", True),
    (WORK, "author", "birth_year",
     "Who was born earlier: the author of {a} or the author of {b}?", False),
    (PERSON, "employer", "founded_year",
     "Which organisation was founded earlier: the employer of {a} or the employer of {b}?", False),
    (ORG, "hq", "population",
     "Which city has the larger population: the headquarters city of the {a} or that of the {b}?",
     True),
)
# (answer type, relation 1, relation 2, wording)
INTERSECTIONS = (
    (PERSON, "birth_city", "employer", "Which person was born in {x} and worked for the {y}?"),
    (WORK, "author", "publisher", "Which work was written by {x} and published by the {y}?"),
)


@dataclass(frozen=True)
class Hop:
    doc_id: str
    entity: int
    fact: str


@dataclass(frozen=True)
class Question:
    qid: str
    kind: str
    question: str
    answer: str
    aliases: tuple[str, ...]
    gold: tuple[Hop, ...]
    hops: int
    difficulty: int
    split: str
    entities: tuple[int, ...]


def _answer_forms(world: World, step: str, value: int) -> tuple[str, tuple[str, ...]]:
    if step in NUMERIC:
        return str(value), ((f"{value:,}",) if value >= 1000 and step == "population" else ())
    return world.name(value), tuple(world.unique_aliases(value))


def _value(world: World, eid: int, step: str) -> int:
    return int(world.columns[step][eid])


class _Generator:
    def __init__(self, world: World, seed: int):
        self.world, self.rng = world, np.random.default_rng([int(seed), world.seed, world.size])
        self._unique_pairs: dict[int, np.ndarray] = {}
        self._facts: dict[int, dict[str, str]] = {}

    def _pick(self, t: int, split: int | None = None) -> int:
        ids = self.world.ids_of_type(t, split)
        return int(ids[self.rng.integers(len(ids))])

    def _hop(self, eid: int, step: str) -> Hop:
        if eid not in self._facts:  # a small world's entities recur in many draws
            self._facts[eid] = fact_sentences(self.world, eid)
        return Hop(doc_id(eid), eid, self._facts[eid][step])

    def chain(self, length: int):
        w, rng = self.world, self.rng
        start = int(rng.integers(w.size))
        if length > 1 and w.type[start] == CITY:  # cities have no outgoing relation
            start = self._pick(int(rng.choice([PERSON, ORG, WORK])))
        eid, steps, entities = start, [], [start]
        for k in range(length):
            t = w.type[eid]
            remaining = length - 1 - k  # steps still to take after this one
            rels = [r for r, (src, dst) in RELATIONS.items()
                    if src == t and (remaining < 2 or dst != CITY)]
            attrs = [a for a, src in NUMERIC.items() if src == t] if k == length - 1 else []
            options = rels + attrs
            if not options:  # a city mid-chain: it has no outgoing relation
                return None
            step = options[rng.integers(len(options))]
            steps.append(step)
            if step in RELATIONS:
                eid = _value(w, eid, step)
                entities.append(eid)
        phrase = w.name(start)
        for step in steps[:-1]:
            phrase = f"the {REL_NOUN[step]} of {phrase}"
        last = steps[-1]
        noun = REL_NOUN.get(last) or ATTR_NOUN[last]
        text = f"What is the {noun} of {phrase}?"
        gold = tuple(self._hop(e, s) for e, s in zip(entities, steps))
        value = entities[-1] if last in RELATIONS else _value(w, entities[-1], last)
        answer, aliases = _answer_forms(w, last, value)
        kind = "single" if length == 1 else "bridge"
        return kind, text, answer, aliases, gold, entities

    def comparison(self):
        w, rng = self.world, self.rng
        src, rel, attr, wording, larger = COMPARISONS[rng.integers(len(COMPARISONS))]
        a = self._pick(src)
        b = self._pick(src, int(w.split[a]))
        ta, tb = _value(w, a, rel), _value(w, b, rel)
        va, vb = _value(w, ta, attr), _value(w, tb, attr)
        if a == b or ta == tb or va == vb:
            return None
        winner = ta if (va > vb) == larger else tb
        text = wording.format(a=w.name(a), b=w.name(b))
        gold = (self._hop(a, rel), self._hop(b, rel), self._hop(ta, attr), self._hop(tb, attr))
        return "comparison", text, w.name(winner), tuple(w.unique_aliases(winner)), gold, [a, b, ta, tb]

    def intersection(self):
        w, rng = self.world, self.rng
        index = int(rng.integers(len(INTERSECTIONS)))
        t, r1, r2, wording = INTERSECTIONS[index]
        if index not in self._unique_pairs:
            ids = w.ids_of_type(t)
            keys = w.columns[r1][ids].astype(np.int64) * w.size + w.columns[r2][ids]
            _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
            self._unique_pairs[index] = ids[counts[inverse] == 1]
        candidates = self._unique_pairs[index]
        if len(candidates) == 0:
            return None
        answer = int(candidates[rng.integers(len(candidates))])
        x, y = _value(w, answer, r1), _value(w, answer, r2)
        text = wording.format(x=w.name(x), y=w.name(y))
        gold = (self._hop(answer, r1), self._hop(answer, r2))
        return "intersection", text, w.name(answer), tuple(w.unique_aliases(answer)), gold, [answer, x, y]


def generate_questions(world: World, n: int, seed: int = 0, *, split: str | None = None,
                       kinds: tuple[str, ...] | None = None) -> list[Question]:
    """Up to ``n`` distinct questions (fewer only if the world is too small: drawing stops once
    ``1000 + 10 * found`` draws in a row gave no new one); see module doc. ``kinds`` is drawn
    from in its order, repeats weighing more; a set of kinds is taken in ``KINDS`` order (its own
    order would change with ``PYTHONHASHSEED``, and the questions with it)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:  # numpy's, as for the seed
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    n = int(n)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")  # as World's
    seed = int(seed)
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    if isinstance(kinds, AbstractSet):  # unordered: a str set's order changes with PYTHONHASHSEED
        kinds = tuple(k for k in KINDS if k in kinds) if all(k in KINDS for k in kinds) else tuple(kinds)
    kinds = tuple(kinds) if kinds is not None else KINDS
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds!r}")
    gen = _Generator(world, seed)
    out: list[Question] = []
    seen: set[str] = set()
    idle = 0  # draws since the last new question
    for _ in range(max(50 * n, 100)):
        # a world too small for n questions runs dry: after this many draws without a new one,
        # it has given (almost) all it has (drawing on, up to 50 n, took minutes for nothing)
        if len(out) >= n or idle > 1000 + 10 * len(out):
            break
        idle += 1
        kind = kinds[gen.rng.integers(len(kinds))]
        if kind == "single":
            built = gen.chain(1)
        elif kind == "bridge":
            built = gen.chain(int(gen.rng.integers(2, 5)))
        elif kind == "comparison":
            built = gen.comparison()
        else:
            built = gen.intersection()
        if built is None:
            continue
        kind, text, answer, aliases, gold, entities = built
        splits = {int(world.split[e]) for e in entities}
        if len(splits) != 1 or text in seen:
            continue
        q_split = SPLITS[splits.pop()]
        if split is not None and q_split != split:
            continue
        lowered = text.lower()
        if any(form.lower() in lowered for form in (answer, *aliases)):
            continue
        seen.add(text)
        idle = 0
        # each gold entity once: an intersection's two hops are both in the answer's article
        near = sum(1 for e in dict.fromkeys(h.entity for h in gold) if world.near_duplicates(e))
        out.append(Question(
            qid=f"q{seed}-{len(out):06d}", kind=kind, question=text, answer=answer,
            aliases=tuple(aliases), gold=tuple(gold), hops=len(gold),
            difficulty=len(gold) + near, split=q_split, entities=tuple(int(e) for e in entities)))
    return out
