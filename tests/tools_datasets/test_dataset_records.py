"""Reading datasets: JSONL, JSON, Parquet, Hugging Face datasets (in memory and saved to disk),
pandas, lists of dicts; renamed fields; GSM8K/MATH-style answers; and every malformed source or
record refused with a message naming the record and the field."""

from __future__ import annotations

import json

import pytest

from agentgym.core import ConfigError
from agentgym.envs.tools.datasets.records import Fields, Problem, load_problems

MATH_ROWS = [
    {"id": "a", "question": "What is 2 + 2?", "answer": "4", "difficulty": "easy"},
    {"id": "b", "question": "Half of 3?", "answer": 1.5},
    {"question": "Natalia sold clips...", "answer": "She sold 48 + 24 = 72.\n#### 72"},
    {"question": "Compute 1/2 + 1/4.", "answer": "We add: $\\boxed{\\frac{3}{4}}$."},
]
CODE_ROWS = [
    {"question": "Write add(a, b).", "tests": ["assert add(1, 2) == 3"], "solution": "def add(a, b):\n    return a + b\n"},
    {"question": "Write neg(x).", "tests": "def test_neg():\n    assert neg(1) == -1\n"},
]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_a_list_of_dicts():
    problems = load_problems(MATH_ROWS, "math")
    assert problems[0] == Problem(0, "a", "What is 2 + 2?", "4", None, None, "easy")
    assert [p.answer for p in problems] == ["4", "1.5", "72", "\\frac{3}{4}"]
    assert [p.id for p in problems] == ["a", "b", "2", "3"] and problems[1].level is None
    code = load_problems(CODE_ROWS, "code")
    assert code[0].tests == ("assert add(1, 2) == 3",) and code[1].tests.startswith("def test_neg")
    assert code[0].solution.startswith("def add") and code[1].solution is None


def test_jsonl_json_and_blank_lines(tmp_path):
    path = tmp_path / "math.jsonl"
    path.write_text(json.dumps(MATH_ROWS[0]) + "\n\n" + json.dumps(MATH_ROWS[1]) + "\n", encoding="utf-8")
    assert [p.answer for p in load_problems(path, "math")] == ["4", "1.5"]
    listed = tmp_path / "math.json"
    listed.write_text(json.dumps(MATH_ROWS), encoding="utf-8")
    assert len(load_problems(str(listed), "math")) == 4


def test_renamed_fields(tmp_path):
    rows = [{"problem": "1+1?", "solution_text": "2", "level": "hard", "uid": 7}]
    fields = Fields(question="problem", answer="solution_text", difficulty="level", id="uid")
    assert load_problems(rows, "math", fields) == (Problem(0, "7", "1+1?", "2", None, None, "hard"),)
    with pytest.raises(ConfigError) as refused:
        load_problems(rows, "math")
    assert "'list' record 0 has no 'question' field (its fields: 'problem', 'solution_text', 'level', 'uid')" in str(refused.value)
    assert "question_field=" in str(refused.value)


def test_parquet(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")  # the export extra; installed with dev
    import pyarrow.parquet as parquet

    path = tmp_path / "code.parquet"
    rows = [CODE_ROWS[0], {"question": "Write neg(x).", "tests": ["assert neg(1) == -1", "assert neg(0) == 0"]}]
    parquet.write_table(pyarrow.Table.from_pylist(rows), str(path))  # a column holds lists or strings, not both
    problems = load_problems(path, "code")
    assert problems[0].tests == ("assert add(1, 2) == 3",) and problems[1].tests[1] == "assert neg(0) == 0"
    assert problems[0].solution.startswith("def add") and problems[1].solution is None
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ConfigError, match="not a readable Parquet file"):
        load_problems(broken, "code")


def test_hugging_face_datasets_in_memory_and_on_disk(tmp_path):
    datasets = pytest.importorskip("datasets")  # the export extra; installed with dev
    table = datasets.Dataset.from_list([{"question": r["question"], "answer": str(r["answer"])} for r in MATH_ROWS])
    assert [p.answer for p in load_problems(table, "math")] == ["4", "1.5", "72", "\\frac{3}{4}"]
    splits = datasets.DatasetDict({"train": table, "test": table.select([0])})
    with pytest.raises(ConfigError, match="several splits .*train.*pass split="):
        load_problems(splits, "math")
    assert len(load_problems(splits, "math", split="test")) == 1
    with pytest.raises(ConfigError, match="no split 'dev'"):
        load_problems(splits, "math", split="dev")
    folder = tmp_path / "saved"
    splits.save_to_disk(str(folder))
    assert len(load_problems(folder, "math", split="train")) == 4


def test_pandas_data_frames():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame([{"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": "4"}])
    assert [p.answer for p in load_problems(frame, "math")] == ["2", "4"]


def test_files_are_read_once_until_they_change(tmp_path):
    path = _write_jsonl(tmp_path / "m.jsonl", MATH_ROWS[:2])
    first = load_problems(path, "math")
    assert load_problems(path, "math") is first
    _write_jsonl(path, MATH_ROWS[:3])
    assert len(load_problems(path, "math")) == 3


@pytest.mark.parametrize("rows, kind, message", [
    ([], "math", "has no records"),
    ([{"question": "q"}], "math", "record 0 has no 'answer' field"),
    ([{"question": "q", "answer": ""}], "math", "'answer' is empty"),
    ([{"question": "q", "answer": True}], "math", "an answer must be text or a number"),
    ([{"question": "q", "answer": [1, 2]}], "math", "an answer must be text or a number"),
    ([{"question": "", "answer": "1"}], "math", "'question' must be non-empty text"),
    ([{"question": 5, "answer": "1"}], "math", "'question' must be non-empty text"),
    (["a string"], "math", "must be an object"),
    ([{"question": "q"}], "code", "has no 'tests' field"),
    ([{"question": "q", "tests": ""}], "code", "the tests are empty"),
    ([{"question": "q", "tests": [1, 2]}], "code", "non-empty strings of code"),
    ([{"question": "q", "tests": ["assert f(1) == 1", "assert f(2) == (2"]}], "code",
     r"test 2 does not compile: SyntaxError: '\(' was never closed \(line 1\)"),
    ([{"question": "q", "tests": "def test_f():\n    assert f(1) = 1\n"}], "code",
     r"the tests do not compile: SyntaxError: .* \(line 2\)"),
    ([{"question": "q", "tests": ["assert f(1) == 1\x00"]}], "code", "test 1 does not compile: .*null bytes"),
    ([{"question": "q", "tests": "assert 1", "solution": 3}], "code", "'solution' must be text"),
    ([{"question": "q", "answer": "1", "difficulty": ""}], "math", "'difficulty' must be a non-empty string"),
])
def test_bad_records_are_named(rows, kind, message):
    with pytest.raises(ConfigError, match=message):
        load_problems(rows, kind)


def test_bad_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_problems(tmp_path / "missing.jsonl", "math")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(MATH_ROWS[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2 is not valid JSON"):
        load_problems(broken, "math")
    missing = _write_jsonl(tmp_path / "missing_field.jsonl", [MATH_ROWS[0], {"question": "no answer"}])
    with pytest.raises(ConfigError, match="line 2 has no 'answer' field"):
        load_problems(missing, "math")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"question": "caf\xe9", "answer": "1"}\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_problems(latin, "math")
    not_a_list = tmp_path / "object.json"
    not_a_list.write_text('{"question": "q", "answer": "1"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a JSON list"):
        load_problems(not_a_list, "math")
    unknown = tmp_path / "data.csv"
    unknown.write_text("question,answer\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown dataset format '.csv'"):
        load_problems(unknown, "math")
    with pytest.raises(ConfigError, match="kind must be one of math, code"):
        load_problems(MATH_ROWS, "prose")
    with pytest.raises(ConfigError, match="a path, a list of dicts"):
        load_problems(42, "math")
    with pytest.raises(ConfigError, match="split='train' was given"):
        load_problems(MATH_ROWS, "math", split="train")
    with pytest.raises(ConfigError, match="field name must be a non-empty string"):
        Fields(question="")


def test_files_that_start_with_a_utf8_byte_order_mark_are_read(tmp_path):
    # Windows tools (Notepad, PowerShell's Out-File -Encoding utf8) write one; json refused it.
    lines = tmp_path / "bom.jsonl"
    lines.write_text("".join(json.dumps(row) + "\n" for row in MATH_ROWS[:2]), encoding="utf-8-sig")
    listed = tmp_path / "bom.json"
    listed.write_text(json.dumps(MATH_ROWS[:2]), encoding="utf-8-sig")
    for path in (lines, listed):
        problems = load_problems(path, "math")
        assert [p.question for p in problems] == [row["question"] for row in MATH_ROWS[:2]]
