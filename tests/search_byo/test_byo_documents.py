"""read_documents: a user's corpus from JSONL / JSON / Parquet files and Hugging Face datasets."""

from __future__ import annotations

import gzip
import json

import pytest

from agentgym.retrieval.base import Document
from agentgym.retrieval.sources import iter_records, join_contents, read_documents, split_contents

WIKI18_ROWS = [  # Search-R1's wiki-18 corpus rows, as in their example/corpus.jsonl
    {"id": "0", "contents": '"Evan Morris"\nEvan Morris Evan L. Morris (January 26, 1977 - July 9, 2015) was a '
                            "lobbyist for Genentech.\nHe began his career in Washington."},
    {"id": "1", "contents": '"Horatio Hale"\nconsisted of an Algonkin vocabulary, which he gathered.'},
]


def write_jsonl(path, rows, *, gz=False):
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_split_and_join_contents_follow_wiki18():
    assert split_contents('"Evan Morris"\nEvan L. Morris was\na lobbyist.') == ("Evan Morris",
                                                                                "Evan L. Morris was\na lobbyist.")
    assert split_contents("no title line here") == ("", "no title line here")
    assert split_contents('"unterminated\ntext') == ("", '"unterminated\ntext')
    assert split_contents(join_contents('A "quoted" title', "body\nmore")) == ('A "quoted" title', "body\nmore")


def test_wiki18_jsonl_contents_are_split_into_title_and_text(tmp_path):
    docs = list(read_documents(write_jsonl(tmp_path / "wiki-18.jsonl", WIKI18_ROWS)))
    assert docs == [
        Document("0", "Evan Morris", "Evan Morris Evan L. Morris (January 26, 1977 - July 9, 2015) was a lobbyist for "
                                     "Genentech.\nHe began his career in Washington."),
        Document("1", "Horatio Hale", "consisted of an Algonkin vocabulary, which he gathered."),
    ]


def test_gzipped_jsonl_and_json_array_read_the_same(tmp_path):
    gz = write_jsonl(tmp_path / "c.jsonl.gz", WIKI18_ROWS, gz=True)
    array = tmp_path / "c.json"
    array.write_text(json.dumps(WIKI18_ROWS, indent=2))
    lines_json = write_jsonl(tmp_path / "lines.json", WIKI18_ROWS)
    expected = list(read_documents(write_jsonl(tmp_path / "c.jsonl", WIKI18_ROWS)))
    assert list(read_documents(gz)) == list(read_documents(array)) == list(read_documents(lines_json)) == expected


def test_a_byte_order_mark_at_the_start_of_a_file_is_skipped(tmp_path):
    """A JSONL or JSON file saved with a UTF-8 byte-order mark (Windows editors, some exports) was
    refused ("Unexpected UTF-8 BOM")."""
    expected = list(read_documents(write_jsonl(tmp_path / "plain.jsonl", WIKI18_ROWS)))
    lines = "\n".join(json.dumps(row) for row in WIKI18_ROWS)
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + lines.encode())
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(WIKI18_ROWS).encode())
    with gzip.open(tmp_path / "bom.jsonl.gz", "wb") as handle:
        handle.write(b"\xef\xbb\xbf" + lines.encode())
    for name in ("bom.jsonl", "bom.json", "bom.jsonl.gz"):
        assert list(read_documents(tmp_path / name)) == expected, name


def test_fields_are_detected_and_missing_ids_become_row_numbers(tmp_path):
    rows = [{"_id": "a", "title": "Alpha", "text": "first text"},
            {"title": "Beta", "text": "second text"},  # no id: its row number
            {"_id": 7, "title": None, "text": "third"}]
    docs = list(read_documents(write_jsonl(tmp_path / "c.jsonl", rows)))
    assert docs == [Document("a", "Alpha", "first text"), Document("1", "Beta", "second text"),
                    Document("7", "", "third")]
    passages = [{"docid": "p1", "passage": "a passage"}, {"docid": "p2", "passage": "another"}]
    assert [d.id for d in read_documents(write_jsonl(tmp_path / "p.jsonl", passages))] == ["p1", "p2"]
    bodies = [{"body": "only a body"}]
    assert list(read_documents(write_jsonl(tmp_path / "b.jsonl", bodies))) == [Document("0", "", "only a body")]


def test_a_title_field_beside_wiki18_contents_drops_the_repeated_title_line(tmp_path):
    rows = [{"id": "x", "title": "Evan Morris", "contents": '"Evan Morris"\nEvan was a lobbyist.'},
            {"id": "y", "title": "Other", "contents": '"Not the title"\nkept whole'}]
    docs = list(read_documents(write_jsonl(tmp_path / "c.jsonl", rows)))
    assert docs == [Document("x", "Evan Morris", "Evan was a lobbyist."),
                    Document("y", "Other", '"Not the title"\nkept whole')]


def test_explicit_field_names(tmp_path):
    rows = [{"key": "k1", "heading": "H", "paragraph": "P text", "text": "not this one"}]
    path = write_jsonl(tmp_path / "c.jsonl", rows)
    assert list(read_documents(path, id_field="key", title_field="heading", text_field="paragraph")) == [
        Document("k1", "H", "P text")]
    with pytest.raises(ValueError, match=r"c\.jsonl: the text field 'missing' is not in the first row .*heading"):
        list(read_documents(path, text_field="missing"))


def test_parquet_is_streamed_by_row_groups(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"id": f"d{i}", "contents": join_contents(f"Title {i}", f"text number {i}")} for i in range(10_000)]
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=1000)
    assert pq.ParquetFile(path).num_row_groups == 10
    docs = read_documents(path)
    first = next(docs)
    assert first == Document("d0", "Title 0", "text number 0")
    rest = list(docs)
    assert len(rest) == 9_999 and rest[-1] == Document("d9999", "Title 9999", "text number 9999")


def test_huggingface_dataset_object_and_saved_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_list(WIKI18_ROWS)
    expected = [Document("0", *split_contents(WIKI18_ROWS[0]["contents"])),
                Document("1", *split_contents(WIKI18_ROWS[1]["contents"]))]
    assert list(read_documents(dataset)) == expected
    dataset.save_to_disk(str(tmp_path / "saved"))
    assert list(read_documents(tmp_path / "saved")) == expected
    datasets.DatasetDict(train=dataset).save_to_disk(str(tmp_path / "saved_dict"))
    assert list(read_documents(tmp_path / "saved_dict")) == expected  # one split: that split
    two = datasets.DatasetDict(train=dataset, test=dataset)
    with pytest.raises(ValueError, match=r"splits \['train', 'test'\]; pass one split"):
        list(read_documents(two))
    folder = tmp_path / "data_files"
    folder.mkdir()
    write_jsonl(folder / "part-0.jsonl", WIKI18_ROWS)
    assert list(read_documents(folder)) == expected  # a folder of data files: datasets.load_dataset(folder)


def test_a_row_without_text_names_the_file_and_row(tmp_path):
    rows = [{"id": "a", "text": "fine"}, {"id": "b", "text": "also fine"}, {"id": "c", "title": "no text"}]
    path = write_jsonl(tmp_path / "broken.jsonl", rows)
    docs = read_documents(path)
    assert next(docs).id == "a"
    with pytest.raises(ValueError, match=r"broken\.jsonl: row 2 has no text \(field 'text'\)"):
        list(docs)
    with pytest.raises(ValueError, match=r"row 0 has text of type int"):
        list(read_documents(write_jsonl(tmp_path / "n.jsonl", [{"text": 5}])))
    with pytest.raises(ValueError, match=r"no text field in the first row .*\['id', 'name'\]"):
        list(read_documents(write_jsonl(tmp_path / "t.jsonl", [{"id": 1, "name": "x"}])))


def test_unreadable_inputs_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl: no such file or directory"):
        list(read_documents(tmp_path / "nope.jsonl"))
    bad_line = tmp_path / "bad.jsonl"
    bad_line.write_text('{"id": 1, "text": "ok"}\n{"id": 2, "text": \n')
    with pytest.raises(ValueError, match=r"bad\.jsonl: line 2 is not valid JSON"):
        list(read_documents(bad_line))
    not_object = tmp_path / "list.jsonl"
    not_object.write_text('["a", "b"]\n')
    with pytest.raises(ValueError, match=r"list\.jsonl: line 1 is a JSON list, not an object"):
        list(read_documents(not_object))
    other = tmp_path / "corpus.csv"
    other.write_text("id,text\n1,a\n")
    with pytest.raises(ValueError, match=r"corpus\.csv: unknown file type"):
        list(read_documents(other))
    not_gzip = tmp_path / "fake.jsonl.gz"
    not_gzip.write_text('{"text": "plain"}\n')
    with pytest.raises(ValueError, match=r"fake\.jsonl\.gz: cannot be read as gzipped UTF-8"):
        list(read_documents(not_gzip))
    not_parquet = tmp_path / "fake.parquet"
    not_parquet.write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=r"fake\.parquet: not a readable Parquet file"):
        list(read_documents(not_parquet))
    with pytest.raises(TypeError, match="cannot read documents or questions from the list object"):
        list(read_documents([{"text": "a"}]))


def test_iter_records_skips_blank_lines(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_text('\n{"a": 1}\n\n{"a": 2}\n\n')
    assert list(iter_records(path)) == [{"a": 1}, {"a": 2}]
