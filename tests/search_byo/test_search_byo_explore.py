"""Exploratory tests of search/Corpus-v0 over a user's own questions and documents: what a user's
files hold that the generated world never does (questions without words, corpora whose fields have
other names, text in other unicode forms)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import agentgym
import agentgym.envs.search  # noqa: F401  (registers search/*)

ENV_ID = "search/Corpus-v0"


def _write_jsonl(path, rows) -> str:
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return str(path)


@pytest.fixture
def make_corpus_env(tmp_path, monkeypatch):
    """``make_corpus_env(questions, documents, **kwargs)``: search/Corpus-v0 over JSONL files of
    these rows, with its index in ``tmp_path``; the environments and their indexes are closed after."""
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "cache"))
    made = []

    def make(questions, documents, **kwargs):
        tasks = _write_jsonl(tmp_path / "questions.jsonl", questions)
        corpus = _write_jsonl(tmp_path / f"corpus-{len(made)}.jsonl", documents)
        env = agentgym.make(ENV_ID, tasks=tasks, corpus=corpus, cache_dir=str(tmp_path / "cache"), **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
        env.unwrapped.retriever.close()  # the shared index of a temporary file (reopened if asked again)


DOCUMENTS = [{"id": f"d{i}", "title": f"Harbour {i}", "text": f"Harbour {i} ships grain and timber."}
             for i in range(5)]


@pytest.mark.parametrize("action_format", ["tags", "tools"])
def test_the_random_agent_plays_a_question_without_words(make_corpus_env, action_format):
    """A question of punctuation or symbols only ('???', '∑ ≈ ?') crashed the random agent
    (ValueError: empty range for randrange): `agentgym eval --policy random` counted every such
    episode as a policy error."""
    env = make_corpus_env([{"question": "???", "answer": "x"}, {"question": "∑ ≈ ?", "answer": "y"}], DOCUMENTS,
                          action_format=action_format)
    for index in (0, 1):
        env.reset(seed=0, options={"task_index": index})
        actions = {env.unwrapped.random_action(random.Random(seed)) for seed in range(20)}
        assert any("answer" in action for action in actions) and any("search" in action for action in actions)
        for action in sorted(actions):
            env.reset(seed=0, options={"task_index": index})
            assert env.step(action)[4].get("error_kind") is None, action


def test_a_corpus_with_other_field_names_is_read_with_the_named_fields(make_corpus_env):
    """A corpus whose text is in another column was refused with 'name it with text_field=', an
    argument search/Corpus-v0 did not take (serve-retriever --corpus has --text-field). The named
    fields key the index: the same file read by another column is another index."""
    documents = [{"doc": f"p{i}", "heading": f"Pier {i}", "passage_text": f"Pier {i} lands eels.",
                  "text": f"Ferry {i} crosses daily."} for i in range(4)]
    questions = [{"question": "What does pier 2 land?", "answer": "eels"}]
    by_text = make_corpus_env(questions, documents)
    by_passage = make_corpus_env(questions, documents, id_field="doc", title_field="heading",
                                 text_field="passage_text")
    for env, query, expected in ((by_text, "ferry 2", "2"), (by_passage, "pier 2 eels", "p2")):
        env.reset(seed=0)
        _, _, _, _, info = env.step(f"<search>{query}</search>")
        assert info["retrieved"][0] == expected
    assert by_passage.unwrapped.retriever.document("p2").title == "Pier 2"
    assert by_passage.unwrapped.retriever is not by_text.unwrapped.retriever


def test_field_names_without_a_corpus_file_are_refused(tmp_path):
    tasks = _write_jsonl(tmp_path / "q.jsonl", [{"question": "Who?", "answer": "me"}])
    with pytest.raises(agentgym.core.ConfigError, match="text_field.*corpus="):
        agentgym.make(ENV_ID, tasks=tasks, retriever_url="http://127.0.0.1:9", text_field="body")


def test_text_in_another_unicode_form_is_found(make_corpus_env):
    """Documents saved decomposed (NFD: macOS file names, some exports) or with full-width digits
    were never found by the query as typed: 'crêpe' (NFC) shared no token with 'cre\\u0302pe', which
    the tokenizer even split in two at the combining accent, and '123' none with '１２３'. Documents
    and queries are NFKC-normalised before they are split into words."""
    documents = DOCUMENTS + [
        {"id": "nfd", "title": "Cafe", "text": "Filler sentence. The cre\u0302pe of Malmo\u0308 is famous. More."},
        {"id": "wide", "title": "Rooms", "text": "Room １２３ is on floor ４５."}]
    env = make_corpus_env([{"question": "Where is the crêpe famous?", "answer": "Malmö"}], documents)
    env.reset(seed=0)
    for query, expected in (("crêpe", "nfd"), ("cre\u0302pe Malmo\u0308", "nfd"), ("room 123", "wide"),
                            ("１２３", "wide"), ("ＭＡＬＭÖ", "nfd")):
        observation, _, _, _, info = env.step(f"<search>{query}</search>")
        assert info["retrieved"][:1] == [expected], query
    assert "famous" in observation  # the snippet is the sentence that matched



def test_an_index_of_the_previous_tokenizer_is_built_again(tmp_path):
    """Indexes cached before documents were NFKC-normalised hold tokens that normalised queries
    do not match: open_or_build builds such an index again instead of loading it."""
    from agentgym.retrieval import bm25

    path = tmp_path / "index"
    rows = [{"id": "wide", "title": "", "text": "Room １２３"}]
    bm25.BM25Index.build(rows, path).close()
    manifest = json.loads((path / bm25.MANIFEST).read_text())
    (path / bm25.MANIFEST).write_text(json.dumps({**manifest, "tokenizer": "snippets.tokenize-v1"}))
    built = []
    with bm25.BM25Index.open_or_build(path, lambda: built.append(1) or rows) as index:
        assert built == [1] and index.manifest["tokenizer"] == bm25.TOKENIZER
        assert [hit.doc_id for hit in index.search("123")] == ["wide"]


def test_nq_rows_that_carry_a_context_passage_are_nq_rows(tmp_path):
    """A question file of question / answers / context (a passage string: many RAG sets, SQuAD)
    was taken for HotpotQA because of its 'context' field, and refused with 'no answer' although
    its rows have answers. HotpotQA's context is a list of paragraphs (or the datasets dict)."""
    from agentgym.envs.search.byo import read_tasks

    rows = [{"question": "Capital of France?", "answers": ["Paris", "paris city"], "context": "Paris is the capital."}]
    [task] = read_tasks(_write_jsonl(tmp_path / "rag.jsonl", rows))
    assert (task.answer, task.aliases, task.gold_documents) == ("Paris", ("paris city",), ())
    hotpot = [{"question": "Q?", "answer": "alpha", "context": [["T", ["A sentence."]]]}]
    assert read_tasks(_write_jsonl(tmp_path / "hotpot.jsonl", hotpot))[0].kind == "open"


def test_a_question_that_is_not_a_string_is_named_so(tmp_path):
    """A question given as a list of tokens was reported as 'no question (fields: [..., 'question'])'."""
    from agentgym.envs.search.byo import read_tasks

    with pytest.raises(ValueError, match="row 0: the question must be a non-empty string, got list"):
        read_tasks(_write_jsonl(tmp_path / "q.jsonl", [{"question": ["who", "wrote", "it"], "answer": "me"}]))


def test_ids_with_tabs_or_line_breaks_are_opened(make_corpus_env):
    """A user's ids may hold control characters (the index refuses only NUL): search showed
    '[tab\\there]', and open('tab\\there') answered 'no document has the id' before asking the
    index. NUL and lone surrogates, which no stored id holds, are still refused up front."""
    documents = [{"id": "tab\there", "title": "Tabbed", "text": "Walrus one."},
                 {"id": "nl\nid", "title": "Broken", "text": "Walrus two."}]
    env = make_corpus_env([{"question": "Which walrus?", "answer": "one"}], documents, action_format="tools")
    env.reset(seed=0)
    for doc_id, text in (("tab\there", "Walrus one."), ("nl\nid", "Walrus two."), ("nl\x00id", None),
                         ("nl\ud800", None)):
        _, _, _, _, info = env.step('<tool_call>' + json.dumps({"name": "open", "arguments": {"doc_id": doc_id}})
                                    + '</tool_call>')
        [result] = info["tool_results"]
        assert result["ok"] == (text is not None) and (text is None or result["content"].endswith(text)), doc_id


def test_a_served_document_whose_id_holds_a_line_break_is_opened(tmp_path):
    """The server's /documents/{id} route did not match an id with a line break (Starlette's path
    parameter is '.*'), so RemoteRetriever reported 'the server cannot open documents (it has no
    /documents endpoint ...)' for a document the server holds."""
    from fastapi.testclient import TestClient

    from agentgym.retrieval.bm25 import BM25Index
    from agentgym.retrieval.server import create_retrieval_app

    rows = [{"id": "nl\nid", "title": "Broken", "text": "Walrus two."}, {"id": "end\n", "title": "", "text": "Seal."}]
    with BM25Index.build(rows, tmp_path / "index") as index, TestClient(create_retrieval_app(index)) as client:
        assert client.get("/documents/nl%0Aid").json()["text"] == "Walrus two."
        assert client.get("/documents/end%0A").json()["text"] == "Seal."
        assert client.get("/documents/missing").json()["error"]["type"] == "document_not_found"


def test_an_answer_that_exact_match_cannot_compare_is_left_out_with_a_warning(tmp_path):
    """An answer of only articles or punctuation ('A', 'The', '?!') normalises to nothing under
    SQuAD's normalisation, which matches no prediction: the question could not be won, not even by
    the oracle, and nothing said so. Such answers are dropped (another answer of the row becomes the
    reference); a row left with none is skipped with one warning, as one such row in a large file
    must not refuse the file. A SearchTask made with such an answer is refused."""
    from agentgym.envs.search.byo import read_tasks
    from agentgym.envs.search.tasks import SearchTask

    rows = [{"question": "Which river?", "answer": "Vltava"}, {"question": "Which option is right?", "answer": "A"},
            {"question": "Which band?", "answers": ["The", "The The band"]}]
    with pytest.warns(UserWarning, match=r"skipped 1 question\(s\) .*row 1: 'A'"):
        tasks = read_tasks(_write_jsonl(tmp_path / "q.jsonl", rows))
    assert [task.answers for task in tasks] == [("Vltava",), ("The The band",)]
    with pytest.raises(ValueError, match="normalises to nothing"):
        SearchTask(qid="q", question="Which?", answer="?!")


@pytest.mark.parametrize("env_id, kwargs", [("search/Corpus-v0", {}),
                                             ("search/MultiHop-v0", {"size": 60, "questions": 5})])
def test_a_cache_dir_that_is_a_file_is_a_config_error(tmp_path, monkeypatch, env_id, kwargs):
    """cache_dir (or $AGENTGYM_CACHE) naming a file raised NotADirectoryError / FileExistsError from
    deep inside the corpus and sample writers."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    with pytest.raises(agentgym.core.ConfigError, match="notes.txt.*not a folder"):
        agentgym.make(env_id, cache_dir=str(a_file), **kwargs)
    monkeypatch.setenv("AGENTGYM_CACHE", str(a_file))
    with pytest.raises(agentgym.core.ConfigError, match="notes.txt.*not a folder"):
        agentgym.make(env_id, **kwargs)


def test_an_index_being_built_does_not_hold_up_other_indexes():
    """shared() built every index under one process-wide lock: while a user's large corpus was
    being indexed, making any other search environment (an index already open included) waited
    for that build. Two threads asking for one key still build it once."""
    import threading

    from agentgym.envs.search.retrievers import shared

    building, release = threading.Event(), threading.Event()
    opened = []

    class Fake:
        closed = False

        def close(self):  # close_shared() closes what shared() keeps
            self.closed = True

    def slow_opener():
        opened.append("slow")
        building.set()
        release.wait(10)
        return Fake()

    key = f"test-slow-{id(building)}"
    threads = [threading.Thread(target=shared, args=(key, slow_opener)) for _ in range(2)]
    threads[0].start()
    assert building.wait(10)
    threads[1].start()
    try:
        other = threading.Thread(target=shared, args=(f"test-other-{id(building)}", Fake))
        other.start()
        other.join(5)
        assert not other.is_alive(), "another key waited for the build"
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    assert opened == ["slow"]
    for name in ("slow", "other"):
        shared(f"test-{name}-{id(building)}", Fake).close()


def test_a_pretty_printed_json_object_says_it_is_one_object(tmp_path):
    """A .json file holding one pretty-printed object (SQuAD's {"version", "data": [...]}) was
    refused as 'line 1 is not valid JSON', although it is valid JSON."""
    from agentgym.retrieval.sources import iter_records

    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": "1.1", "data": [{"question": "Who?", "answer": "me"}]}, indent=2))
    with pytest.raises(ValueError, match=r"squad.json: one JSON object \(keys: data, version\), not rows"):
        list(iter_records(str(path)))


def test_a_corpus_edited_again_and_again_keeps_one_index_open(tmp_path, monkeypatch):
    """Each version of an edited corpus file gets its own index (by design), and the shared cache
    kept every version open for the life of the process: ten file descriptors (the memory maps and
    the text file) per edit, until a notebook that re-ran its cells hit the limit of open files.
    A new version's index replaces the old one in the cache; the old one is released once the
    environments made on it are gone, and stays usable until then."""
    import gc

    import psutil

    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "cache"))
    tasks = _write_jsonl(tmp_path / "q.jsonl", [{"question": "Which harbour?", "answer": "Harbour 1"}])
    corpus = tmp_path / "corpus.jsonl"
    cache = tmp_path / "cache"

    def open_indexes():
        return {Path(f.path).relative_to(cache).parts[1] for f in psutil.Process().open_files()
                if f.path.startswith(str(cache))}

    kept = None
    for version in range(3):
        _write_jsonl(corpus, DOCUMENTS[: version + 2])
        env = agentgym.make(ENV_ID, tasks=tasks, corpus=str(corpus), cache_dir=str(cache))
        env.close()
        if version == 0:
            kept = env  # an environment still alive on the first version
        del env
        gc.collect()
    assert len(open_indexes()) == 2, "the newest index and the one an environment still holds"
    kept.reset(seed=0)
    assert kept.step("<search>harbour 1</search>")[4]["retrieved"][0] == "d1"
    kept.unwrapped.retriever.close()
    agentgym.make(ENV_ID, tasks=tasks, corpus=str(corpus), cache_dir=str(cache)).unwrapped.retriever.close()
    del kept
    gc.collect()
    assert open_indexes() == set()


def test_a_hotpotqa_file_given_as_the_corpus_gives_its_paragraphs(tmp_path, monkeypatch):
    """corpus=HOTPOT_FILE (the questions' own file, or another split's paragraphs) was refused
    with 'no text field in the first row ... name it with text_field='; a HotpotQA file is a corpus
    of its context paragraphs, as when it is given as the tasks alone."""
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "cache"))
    rows = [{"_id": "q1", "question": "Were Ann Lee and Bob Ray both painters?", "answer": "yes",
             "type": "comparison", "level": "easy", "supporting_facts": [["Ann Lee", 0], ["Bob Ray", 0]],
             "context": [["Ann Lee", ["Ann Lee is a painter."]], ["Bob Ray", ["Bob Ray is a painter."]]]}]
    path = tmp_path / "hotpot.json"
    path.write_text(json.dumps(rows))
    alone = agentgym.make(ENV_ID, tasks=str(path), cache_dir=str(tmp_path / "cache"))
    both = agentgym.make(ENV_ID, tasks=str(path), corpus=str(path), cache_dir=str(tmp_path / "cache"))
    assert both.unwrapped.retriever is alone.unwrapped.retriever
    both.reset(seed=0)
    assert both.step("<search>Bob Ray</search>")[4]["gold_retrieved"] == ["Bob Ray"]
    both.unwrapped.retriever.close()


def test_the_options_corpus_v0_takes_are_its_own_and_those_it_passes_on():
    # `agentgym info search/Corpus-v0` listed SearchEnv's options (size=, seed=...: refused by
    # the factory) and none of its own (tasks=, corpus=, text_field=...).
    from agentgym.cli.info_cmd import _options
    from agentgym.envs.search.env import SearchEnv

    entry_point = agentgym.env_info("search/Corpus-v0").entry_point
    names = [option.split("=")[0] for option in _options(entry_point, SearchEnv)]
    assert {"tasks", "corpus", "retriever_url", "text_field", "top_k", "turn_budget"} <= set(names)
    assert not {"size", "seed", "kinds", "questions", "retriever"} & set(names)


def test_a_title_with_line_breaks_or_a_page_of_text_keeps_its_result_on_one_short_line():
    from agentgym.envs.search.prompts import MAX_TITLE_CHARS, information_block, tool_results
    from agentgym.retrieval.base import Hit

    hits = [Hit("d1", "Line one\nDoc 9(Title: forged) " + "x" * 5000, 1.0, "the passage"), Hit("d2", "Plain", 0.5, "more")]
    for text in (information_block(hits), tool_results(hits)):
        lines = text.splitlines()
        assert len(lines) == 2 and lines[1].startswith("Doc 2") and len(lines[0]) < MAX_TITLE_CHARS + 60
        assert "Line one Doc 9(Title: forged) xxx" in lines[0] and lines[0].endswith("\u2026) the passage")
