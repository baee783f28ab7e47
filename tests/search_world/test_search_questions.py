"""Questions: gold documents support every hop, answers are not in the question, splits by entity."""
import collections

import pytest

from agentgym.envs.search.corpus import build_corpus
from agentgym.envs.search.questions import KINDS, generate_questions
from agentgym.envs.search.world import World

SIZE, SEED = 3000, 11


@pytest.fixture(scope="module")
def world():
    return World(SIZE, SEED)


@pytest.fixture(scope="module")
def questions(world):
    return generate_questions(world, 600, seed=3)


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    corpus = build_corpus(SIZE, SEED, tmp_path_factory.mktemp("corpus"))
    return {d["id"]: d["text"] for d in corpus.iter_documents()}


def test_deterministic_from_the_seed(world, questions):
    assert generate_questions(world, 600, seed=3) == questions
    assert generate_questions(world, 600, seed=4) != questions


def test_all_kinds_and_hop_counts_occur(questions):
    assert len(questions) == 600 and len({q.question for q in questions}) == 600
    kinds = collections.Counter(q.kind for q in questions)
    assert set(kinds) == set(KINDS)
    bridge_hops = {q.hops for q in questions if q.kind == "bridge"}
    assert bridge_hops == {2, 3, 4}
    assert {q.hops for q in questions if q.kind == "single"} == {1}
    for q in questions:
        assert q.hops == len(q.gold) and q.difficulty >= q.hops


def test_every_gold_document_states_the_fact_of_its_hop(world, questions, texts):
    for q in questions:
        for hop in q.gold:
            assert hop.fact in texts[hop.doc_id], (q, hop)
            assert hop.fact.startswith(world.name(hop.entity)) or \
                hop.fact.startswith("The " + world.name(hop.entity))
        if q.kind in ("single", "bridge"):  # each hop names the next hop's entity
            for hop, nxt in zip(q.gold, q.gold[1:]):
                assert world.name(nxt.entity) in hop.fact
        forms = (q.answer, *q.aliases)
        assert any(f in q.gold[-1].fact or f in q.gold[-2 if q.hops > 1 else -1].fact for f in forms)


def test_answers_never_appear_in_the_question(questions):
    for q in questions:
        for form in (q.answer, *q.aliases):
            assert form.lower() not in q.question.lower(), q


def test_splits_are_disjoint_by_entity(world, questions):
    by_split = collections.defaultdict(set)
    for q in questions:
        by_split[q.split].update(q.entities)
        assert {int(world.split[e]) for e in q.entities} == {q.split == "held_out"}
    assert by_split["train"] and by_split["held_out"]
    assert not by_split["train"] & by_split["held_out"]
    held = generate_questions(world, 50, seed=3, split="held_out")
    assert len(held) == 50 and {q.split for q in held} == {"held_out"}


def test_bad_arguments_are_refused(world):
    for kwargs in ({"split": "dev"}, {"kinds": ("trivia",)}, {"kinds": ()}):
        with pytest.raises(ValueError):
            generate_questions(world, 5, **kwargs)
    with pytest.raises(ValueError):
        generate_questions(world, -1)
