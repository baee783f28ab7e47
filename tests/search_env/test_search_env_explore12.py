"""Exploratory round 12 of the search environments: Corpus-v0's retrieval server key, paths."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from agentgym.core import ConfigError
from agentgym.envs.search.byo import detect_shape, read_tasks
from agentgym.envs.search.corpus_env import API_KEY_ENV, corpus_search_env
from agentgym.envs.search.env import SearchEnv
from agentgym.envs.search.retrievers import search_cache_dir


@pytest.fixture
def question_file(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps({"question": "Where is the Bar?", "answer": "Paris"}) + "\n", encoding="utf-8")
    return str(path)


def test_a_server_key_with_a_line_break_is_a_config_error_that_hides_it(question_file, monkeypatch):
    # a key read from a file with Windows line ends was taken, and every search then failed with an
    # observation quoting the key ("Illegal header value b'Bearer k3y-value\r'")
    monkeypatch.setenv(API_KEY_ENV, "k3y-value\r")
    with pytest.raises(ConfigError, match=r"\$AGENTGYM_API_KEY: api_key holds a line break") as caught:
        corpus_search_env(tasks=question_file, retriever_url="http://127.0.0.1:9")
    assert "k3y-value" not in str(caught.value)


def test_paths_starting_with_a_tilde_are_in_the_home_folder(tmp_path, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    (home / "questions.jsonl").write_text(json.dumps({"question": "Where is the Bar?", "answer": "Paris"}) + "\n",
                                          encoding="utf-8")
    (home / "documents.jsonl").write_text(json.dumps({"id": "1", "title": "Bar", "text": "The Bar is in Paris."})
                                          + "\n", encoding="utf-8")
    # cache_dir="~/..." made a folder named "~" in the working directory; tasks="~/..." did not exist
    assert search_cache_dir("~/agentgym-cache") == home / "agentgym-cache"
    monkeypatch.setenv("AGENTGYM_CACHE", "~/cache-root")
    assert search_cache_dir() == home / "cache-root" / "search"
    env = corpus_search_env(tasks="~/questions.jsonl", corpus="~/documents.jsonl", cache_dir="~/agentgym-cache")
    env.reset(seed=0)
    assert env.step("<search>Bar</search>")[4]["retrieved"] == ["1"]
    assert not (work / "~").exists() and (home / "agentgym-cache" / "corpora").is_dir()


@pytest.mark.parametrize("action", [
    "<search>Gefoba Ri Accord <answer>1841</answer></search>",  # searched "... <answer>1841</answer>"
    "<answer>the <search>Gefoba Ri Accord</search></answer>",  # answered "the <search>...</search>"
    "<search>Gefoba <answer>Ri</search> Accord</answer>",
])
def test_a_block_of_one_tag_inside_one_of_the_other_is_a_nested_tag(make_env, action):
    # the module docstring: "an unclosed, stray, nested or empty tag ... is a format error"
    env = make_env(turn_budget=3)
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step(action)
    assert observation.startswith("Your previous action is invalid: a <search> and an <answer> block overlap")
    assert info["error_kind"] == "format" and not terminated
    assert info["queries"] == [] and "answer" not in info


@pytest.mark.parametrize("context", [["The Bar is in Paris.", "Another passage."],
                                     {"passages": ["The Bar is in Paris."]}])
def test_nq_rows_with_a_list_of_passages_are_nq_rows(tmp_path, context):
    # a RAG set's "context" as a list of passage strings made the row HotpotQA-shaped, which then
    # said "row 0: no answer (fields: ['answers', ...])" of a row that has its answers
    path = tmp_path / "rag.jsonl"
    path.write_text(json.dumps({"question": "Where is the Bar?", "answers": ["Paris", "paris, France"],
                                "context": context}) + "\n", encoding="utf-8")
    [task] = read_tasks(str(path))
    assert (task.answer, task.aliases, task.gold_documents) == ("Paris", ("paris, France",), ())
    hotpot = {"question": "q", "answer": "a", "context": [["Title", ["One.", " Two."]]]}
    assert detect_shape(hotpot) == "hotpotqa"  # paragraphs [title, [sentences]]: HotpotQA's
    assert detect_shape({**hotpot, "context": {"title": ["T"], "sentences": [["S."]]}}) == "hotpotqa"


def test_a_numpy_task_index_picks_that_task(make_env):
    # np.int64 (np.arange, a sampler's draw) was refused: "options['task_index'] must be an int ..."
    env = make_env()
    observation, _ = env.reset(options={"task_index": np.int64(2)})
    assert env.task == env.tasks[2] and env.tasks[2].question in observation
    with pytest.raises(ConfigError, match="task_index"):
        env.reset(options={"task_index": np.bool_(True)})


def test_the_oracle_sends_each_hop_query_once_when_queries_are_cut(make_env):
    # it compared the hop query with the logged (cut) query, never equal: a cut query whose results
    # missed the gold document was sent again every turn, and the oracle never answered
    env = make_env(max_query_chars=10, turn_budget=8)
    for index in range(40):
        env.reset(options={"task_index": index})
        sent = []
        while True:
            _, reward, terminated, truncated, info = env.step(env.oracle_action())
            sent += info["queries"]
            if terminated or truncated:
                break
        assert len(sent) == len(set(sent)) <= env.task.hops, (index, sent)
        assert info["episode"]["answered"] and reward == 1.0


def test_the_random_agent_never_answers_an_untitled_documents_empty_title(tmp_path):
    # documents without titles (passages): the random agent "answered a title it had seen", the
    # empty one, as <answer></answer>, a format error and not an answer
    questions, documents = tmp_path / "q.jsonl", tmp_path / "d.jsonl"
    questions.write_text(json.dumps({"question": "Where is the Bar?", "answer": "Paris"}) + "\n", encoding="utf-8")
    documents.write_text("".join(json.dumps({"id": str(i), "text": f"The Bar {i} is in Paris."}) + "\n"
                                 for i in range(5)), encoding="utf-8")
    env = corpus_search_env(tasks=str(questions), corpus=str(documents), cache_dir=str(tmp_path / "cache"))
    rng = random.Random(0)
    answers = 0
    for episode in range(20):
        env.reset(seed=episode)
        terminated = False
        while not terminated:
            _, _, terminated, truncated, info = env.step(env.random_action(rng))
            assert "error_kind" not in info, info
            terminated = terminated or truncated
        answers += info["episode"]["answered"]
    assert answers > 0


def test_tasks_given_as_a_generator_are_all_kept(world_kwargs):
    # a generator was used up by the type check and left no task: reset then raised
    # "ValueError: empty range for randrange()"; a number raised "TypeError: 'int' object is not iterable"
    listed = list(SearchEnv(**world_kwargs, kinds="single", questions=6).tasks)
    env = SearchEnv(**world_kwargs, tasks=(task for task in listed if task.hops == 1))
    assert env.tasks == tuple(listed)
    observation, _ = env.reset(seed=0)
    assert env.task in listed and env.task.question in observation
    for bad in (5, filter(None, [1, 2])):
        with pytest.raises(ConfigError, match="tasks must be a list of SearchTask"):
            SearchEnv(**world_kwargs, tasks=bad)
    with pytest.raises(ConfigError, match="tasks is empty"):
        SearchEnv(**world_kwargs, tasks=iter(()))
