"""read_tasks / hotpotqa_documents: NQ-shaped and HotpotQA-shaped question files as SearchTasks."""

from __future__ import annotations

import json

import pytest

from agentgym.envs.search.byo import detect_shape, hotpotqa_documents, read_tasks
from agentgym.envs.search.tasks import SearchTask
from agentgym.retrieval.base import Document

# Rows as the original HotpotQA JSON files hold them (supporting_facts and context as lists).
HOTPOT_ROWS = [
    {"_id": "5a8b57f25542995d1e6f1371", "question": "Were Scott Derrickson and Ed Wood of the same nationality?",
     "answer": "yes", "type": "comparison", "level": "hard",
     "supporting_facts": [["Scott Derrickson", 0], ["Ed Wood", 0]],
     "context": [["Ed Wood (film)", ["Ed Wood is a 1994 American biographical film.", " It was directed by Tim."]],
                 ["Scott Derrickson", ["Scott Derrickson (born 1966) is an American director.", " He lives in LA."]],
                 ["Ed Wood", ["Edward Davis Wood Jr. was an American filmmaker."]]]},
    {"_id": "5a8c7595554299585d9e36b6", "question": "What government position was held by the woman who portrayed "
     "Corliss Archer in the film Kiss and Tell?", "answer": "Chief of Protocol", "type": "bridge",
     "level": "medium",
     "supporting_facts": [["Kiss and Tell (1945 film)", 0], ["Shirley Temple", 0], ["Shirley Temple", 1]],
     "context": [["Kiss and Tell (1945 film)", ["Kiss and Tell is a 1945 American comedy film", "starring Shirley "
                                                "Temple as Corliss Archer."]],
                 ["Shirley Temple", ["Shirley Temple Black was an American actress.", " She served as Chief of "
                                     "Protocol of the United States."]],
                 ["Ed Wood", ["A second paragraph titled Ed Wood: the first one is kept."]]]},
]

# Rows of Search-R1's nq_search parquet: FlashRAG's columns plus the verl ones their script adds.
SEARCH_R1_NQ_ROWS = [
    {"id": "train_0", "question": "total number of death row inmates in the us?", "golden_answers": ["2,718"],
     "data_source": "nq", "prompt": [{"role": "user", "content": "Answer the given question. ..."}],
     "ability": "fact-reasoning", "reward_model": {"style": "rule", "ground_truth": {"target": ["2,718"]}},
     "extra_info": {"split": "train", "index": 0}},
    {"id": "train_1", "question": "big little lies season 2 how many episodes?", "golden_answers": ["seven", "7"],
     "data_source": "nq", "prompt": [{"role": "user", "content": "Answer the given question. ..."}],
     "ability": "fact-reasoning", "reward_model": {"style": "rule", "ground_truth": {"target": ["seven", "7"]}},
     "extra_info": {"split": "train", "index": 1}},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_hotpotqa_json_file_gives_tasks_with_gold_titles_in_order(tmp_path):
    path = tmp_path / "hotpot_dev_distractor_v1.json"
    path.write_text(json.dumps(HOTPOT_ROWS))
    tasks = read_tasks(path, split="validation")
    assert tasks == [
        SearchTask(qid="5a8b57f25542995d1e6f1371", question=HOTPOT_ROWS[0]["question"], answer="yes",
                   gold_documents=("Scott Derrickson", "Ed Wood"), hop_queries=("Scott Derrickson", "Ed Wood"),
                   kind="comparison", hops=2, difficulty=3, split="validation"),
        SearchTask(qid="5a8c7595554299585d9e36b6", question=HOTPOT_ROWS[1]["question"], answer="Chief of Protocol",
                   gold_documents=("Kiss and Tell (1945 film)", "Shirley Temple"),
                   hop_queries=("Kiss and Tell (1945 film)", "Shirley Temple"), kind="bridge", hops=2,
                   difficulty=2, split="validation"),
    ]


def test_hotpotqa_documents_are_the_context_paragraphs_once_each(tmp_path):
    path = write_jsonl(tmp_path / "hotpot.jsonl", HOTPOT_ROWS)
    docs = list(hotpotqa_documents(path))
    assert [d.id for d in docs] == ["Ed Wood (film)", "Scott Derrickson", "Ed Wood", "Kiss and Tell (1945 film)",
                                    "Shirley Temple"]
    assert docs[0] == Document("Ed Wood (film)", "Ed Wood (film)",
                               "Ed Wood is a 1994 American biographical film. It was directed by Tim.")
    assert docs[2].text == "Edward Davis Wood Jr. was an American filmmaker."  # the first paragraph of that title
    assert docs[3].text == "Kiss and Tell is a 1945 American comedy film starring Shirley Temple as Corliss Archer."
    ids = {d.id for d in docs}
    for task in read_tasks(path):  # one file: a corpus that holds every gold document of its tasks
        assert set(task.gold_documents) <= ids


def test_huggingface_hotpot_qa_rows_with_dict_columns(tmp_path):
    datasets = pytest.importorskip("datasets")
    hf_rows = [{"id": row["_id"], "question": row["question"], "answer": row["answer"], "type": row["type"],
                "level": row["level"],
                "supporting_facts": {"title": [t for t, _ in row["supporting_facts"]],
                                     "sent_id": [i for _, i in row["supporting_facts"]]},
                "context": {"title": [t for t, _ in row["context"]], "sentences": [s for _, s in row["context"]]}}
               for row in HOTPOT_ROWS]
    dataset = datasets.Dataset.from_list(hf_rows)
    tasks = read_tasks(dataset)
    path = tmp_path / "hotpot.json"
    path.write_text(json.dumps(HOTPOT_ROWS))
    assert tasks == read_tasks(path)
    dataset.to_parquet(str(tmp_path / "hotpot.parquet"))
    assert read_tasks(tmp_path / "hotpot.parquet") == tasks
    assert list(hotpotqa_documents(dataset)) == list(hotpotqa_documents(path))


def test_search_r1_nq_parquet_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(SEARCH_R1_NQ_ROWS), path)
    tasks = read_tasks(path)
    assert tasks == [
        SearchTask(qid="train_0", question="total number of death row inmates in the us?", answer="2,718",
                   kind="nq", split="train"),
        SearchTask(qid="train_1", question="big little lies season 2 how many episodes?", answer="seven",
                   aliases=("7",), kind="nq", split="train"),
    ]
    assert all(t.gold_documents == () and t.hops == 1 for t in tasks)


def test_nq_answer_fields_and_ids(tmp_path):
    rows = [{"question": "q one", "answer": "a1"},
            {"question": " q two ", "answers": ["a2", "", "alias", "a2"]},
            {"_id": 77, "question": "q three", "answer": ["a3", "b3"]},
            {"question": "q four", "reward_model": {"ground_truth": {"target": "a4"}}}]
    tasks = read_tasks(write_jsonl(tmp_path / "nq.jsonl", rows), split="test")
    assert [(t.qid, t.question, t.answer, t.aliases, t.kind, t.split) for t in tasks] == [
        ("test-0", "q one", "a1", (), "open", "test"), ("test-1", "q two", "a2", ("alias",), "open", "test"),
        ("77", "q three", "a3", ("b3",), "open", "test"), ("test-3", "q four", "a4", (), "open", "test")]
    only_target = [{"question": "q", "reward_model": {"style": "rule", "ground_truth": {"target": ["t"]}}}]
    assert detect_shape(only_target[0]) == "nq"
    assert read_tasks(write_jsonl(tmp_path / "t.jsonl", only_target))[0].answer == "t"


def test_shape_is_forced_or_detected(tmp_path):
    path = write_jsonl(tmp_path / "hotpot.jsonl", HOTPOT_ROWS)
    as_nq = read_tasks(path, shape="nq")  # a HotpotQA row read as NQ: question and answer only
    assert [(t.answer, t.gold_documents, t.hops) for t in as_nq] == [("yes", (), 1), ("Chief of Protocol", (), 1)]
    with pytest.raises(ValueError, match=r"cannot tell the shape of the first row \(fields: \['prompt', 'q'\]\)"):
        read_tasks(write_jsonl(tmp_path / "other.jsonl", [{"q": "x", "prompt": "y"}]))
    with pytest.raises(ValueError, match="shape must be one of auto, nq, hotpotqa"):
        read_tasks(path, shape="squad")


def test_bad_rows_name_the_file_and_row(tmp_path):
    rows = [{"question": "fine", "answer": "ok"}, {"question": "no answer here", "golden_answers": []}]
    with pytest.raises(ValueError, match=r"nq\.jsonl: row 1: no answer"):
        read_tasks(write_jsonl(tmp_path / "nq.jsonl", rows))
    rows = [{"question": "fine", "answer": "ok"}, {"question": "  ", "answer": "x"}]
    with pytest.raises(ValueError, match=r"blank\.jsonl: row 1: no question"):
        read_tasks(write_jsonl(tmp_path / "blank.jsonl", rows))
    rows = [{"question": "q", "answers": [1, 2]}]
    with pytest.raises(ValueError, match=r"row 0: answers holds 1, not a string"):
        read_tasks(write_jsonl(tmp_path / "ints.jsonl", rows))
    broken = dict(HOTPOT_ROWS[0], supporting_facts=[["Scott Derrickson"]])
    with pytest.raises(ValueError, match=r"sf\.jsonl: row 0: a supporting fact must be \[title, sentence index\]"):
        read_tasks(write_jsonl(tmp_path / "sf.jsonl", [broken]))
    no_context = {k: v for k, v in HOTPOT_ROWS[0].items() if k != "context"}
    with pytest.raises(ValueError, match=r"ctx\.jsonl: row 0: no context"):
        list(hotpotqa_documents(write_jsonl(tmp_path / "ctx.jsonl", [no_context])))
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        read_tasks(tmp_path / "missing.parquet")
