"""``search/Corpus-v0``: the search environment over the user's files (NQ questions with a
documents file, a HotpotQA file that carries its own paragraphs) or a retrieval server, and its
out-of-the-box sample; indexes cached under the search cache and shared; clear errors."""

from __future__ import annotations

import json
import os

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.envs.search.corpus import iter_documents
from agentgym.envs.search.questions import generate_questions
from agentgym.envs.search.retrievers import world_retriever
from agentgym.envs.search.world import World
from agentgym.retrieval.server import serve_retriever
from agentgym.testing import check_llm_env, oracle_agent, play_episode

ENV_ID = "search/Corpus-v0"


def _write_jsonl(path, rows) -> str:
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return str(path)


@pytest.fixture
def own_files(tmp_path):
    """An NQ-shaped question file and a wiki-18-style corpus (``contents``: '"Title"\\ntext')
    exported from a small generated world, as a user would bring them."""
    world = World(400, 5)
    questions = generate_questions(world, 30, 5, kinds=("single",))
    tasks = _write_jsonl(tmp_path / "nq.jsonl", ({"question": q.question, "answers": [q.answer, *q.aliases]}
                                                 for q in questions))
    corpus = _write_jsonl(tmp_path / "wiki.jsonl", ({"id": d["id"], "contents": f'"{d["title"]}"\n{d["text"]}'}
                                                    for d in iter_documents(world)))
    return tasks, corpus, questions


def test_the_sample_runs_out_of_the_box(search_cache):
    env = agentgym.make(ENV_ID)  # AGENTGYM_CACHE points at the session's cache (conftest)
    check_llm_env(env, hostile=40)
    assert os.path.isdir(os.path.join(search_cache, "search", "samples"))
    assert len(env.unwrapped.retriever) == 1000 and len(env.unwrapped.tasks) == 200
    env.close()


def test_own_questions_over_an_own_corpus(own_files, search_cache):
    tasks, corpus, questions = own_files
    env = agentgym.make(ENV_ID, tasks=tasks, corpus=corpus, cache_dir=search_cache, top_k=2)
    again = agentgym.make(ENV_ID, tasks=tasks, corpus=corpus, cache_dir=search_cache, action_format="tools")
    assert again.unwrapped.retriever is env.unwrapped.retriever  # one index per corpus file
    folders = os.listdir(os.path.join(search_cache, "corpora"))
    assert any(name.startswith("wiki.jsonl-") for name in folders)
    env.reset(seed=0, options={"task_index": 0})
    task, question = env.unwrapped.task, questions[0]
    assert (task.question, task.answer, task.aliases) == (question.question, question.answer, question.aliases)
    assert env.unwrapped.gold_documents is None and task.kind == "open"
    subject = question.gold[0]
    _, _, _, _, info = env.step(f"<search>{World(400, 5).name(subject.entity)}</search>")
    assert info["retrieved"][0] == subject.doc_id and len(info["retrieved"]) == 2
    _, reward, terminated, _, info = env.step(f"<answer>{question.answer}</answer>")
    assert terminated and reward == 1.0
    check_llm_env(env, hostile=30)
    env.close()
    again.close()


def test_a_changed_corpus_file_gets_a_new_index(own_files, tmp_path):
    tasks, corpus, _ = own_files
    cache = str(tmp_path / "cache")
    first = agentgym.make(ENV_ID, tasks=tasks, corpus=corpus, cache_dir=cache)
    with open(corpus, "a", encoding="utf-8") as out:
        out.write(json.dumps({"id": "extra", "contents": '"Extra"\nOne more document.'}) + "\n")
    second = agentgym.make(ENV_ID, tasks=tasks, corpus=corpus, cache_dir=cache)
    assert len(first.unwrapped.retriever) == 400 and len(second.unwrapped.retriever) == 401
    indexes = [name for name in os.listdir(os.path.join(cache, "corpora")) if not name.startswith(".")]
    assert len(indexes) == 2  # (cache_dir is the search cache itself; the dot files are build locks)
    first.close()
    second.close()


def test_a_hotpotqa_file_brings_its_own_paragraphs(tmp_path, search_cache):
    world = World(600, 3)
    documents = {d["id"]: d for d in iter_documents(world)}
    rows, expected_gold = [], {}
    for q in generate_questions(world, 12, 3, kinds=("bridge",)):
        gold = list(dict.fromkeys(hop.doc_id for hop in q.gold))
        expected_gold[q.question] = [documents[d]["title"] for d in gold]  # HotpotQA's ids are titles
        distractors = [doc for doc in list(documents)[:3] if doc not in gold]
        context = [[documents[d]["title"], documents[d]["text"].replace("\n\n", " ").split(". ")]
                   for d in gold + distractors]
        rows.append({"_id": q.qid, "question": q.question, "answer": q.answer, "type": "bridge", "level": "hard",
                     "supporting_facts": [[documents[d]["title"], 0] for d in gold], "context": context})
    path = tmp_path / "hotpot.json"
    path.write_text(json.dumps(rows))
    env = agentgym.make(ENV_ID, tasks=str(path), cache_dir=search_cache)
    for seed in range(6):
        run = play_episode(env, oracle_agent, seed=seed)
        episode = run["infos"][-1]["episode"]
        assert run["success"] and episode["gold_recall"] == 1.0
        assert env.unwrapped.gold_documents == expected_gold[env.unwrapped.task.question]
        assert env.unwrapped.task.hop_queries == tuple(expected_gold[env.unwrapped.task.question])
    env.close()


def test_a_retrieval_server_as_the_corpus(own_files, world_kwargs):
    tasks, _, _ = own_files
    index = world_retriever(world_kwargs["size"], world_kwargs["seed"], world_kwargs["cache_dir"])
    with serve_retriever(index) as server:
        env = agentgym.make(ENV_ID, tasks=tasks, retriever_url=server.url)
        other = agentgym.make(ENV_ID, tasks=tasks, retriever_url=server.url + "/", action_format="tools")
        assert other.unwrapped.retriever is env.unwrapped.retriever
        env.reset(seed=0)
        _, _, _, _, info = env.step("<search>Gefoba Ri Accord</search>")
        assert info["retrieved"][0] == "e0000199"  # the served world's article
        env.close()
        other.close()


def test_a_retrieval_server_that_requires_a_key_gets_the_one_in_the_environment_variable(
        own_files, world_kwargs, monkeypatch):
    tasks, _, _ = own_files
    index = world_retriever(world_kwargs["size"], world_kwargs["seed"], world_kwargs["cache_dir"])
    with serve_retriever(index, api_key="s3cret") as server:
        monkeypatch.delenv("AGENTGYM_API_KEY", raising=False)
        keyless = agentgym.make(ENV_ID, tasks=tasks, retriever_url=server.url)
        keyless.reset(seed=0)
        observation, _, _, _, _ = keyless.step("<search>Gefoba Ri Accord</search>")
        assert "401" in observation, "without the key the server refuses"
        monkeypatch.setenv("AGENTGYM_API_KEY", "s3cret")
        env = agentgym.make(ENV_ID, tasks=tasks, retriever_url=server.url)
        assert env.unwrapped.retriever is not keyless.unwrapped.retriever, "one shared client per key"
        env.reset(seed=0)
        _, _, _, _, info = env.step("<search>Gefoba Ri Accord</search>")
        assert info["retrieved"][0] == "e0000199"
        assert "s3cret" not in json.dumps(env.spec.kwargs, default=str), "the key is not an argument"
        for made in (env, keyless):
            made.close()


@pytest.mark.parametrize("kwargs, message", [
    ({"corpus": "x.jsonl"}, "give tasks=PATH"),
    ({"tasks": "missing.jsonl", "corpus": "x.jsonl"}, "does not exist"),
    ({"tasks": "NQ", "corpus": "CORPUS", "retriever_url": "http://127.0.0.1:1"}, "not both"),
    ({"tasks": "NQ"}, "nq questions carry no documents"),
    ({"tasks": "NQ", "retriever_url": "ftp://host"}, "must be an http:// or https:// URL"),
    ({"tasks": "NQ", "corpus": "CORPUS", "shape": "trivia"}, "shape must be one of"),
    ({"tasks": "NQ", "corpus": "CORPUS", "shape": "hotpotqa"}, "cannot read the tasks"),
    ({"tasks": "CORPUS", "corpus": "CORPUS"}, "cannot tell the shape"),
    ({"tasks": "NQ", "corpus": "CORPUS", "size": 1000}, "has no constructor argument 'size'; it takes: tasks, shape, corpus"),
    ({"tasks": "NQ", "corpus": "CORPUS", "top_k": 0}, "top_k must be at least 1"),
])
def test_bad_arguments_are_config_errors(own_files, tmp_path, kwargs, message):
    tasks, corpus, _ = own_files
    names = {"NQ": tasks, "CORPUS": corpus}
    kwargs = {key: names.get(value, value) if isinstance(value, str) else value for key, value in kwargs.items()}
    with pytest.raises(ConfigError) as raised:
        agentgym.make(ENV_ID, cache_dir=str(tmp_path / "cache"), **kwargs)
    assert message in str(raised.value)
