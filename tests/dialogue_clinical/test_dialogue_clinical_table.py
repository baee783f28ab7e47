"""The bundled clinical table and the checks that refuse a broken one with a clear message."""

from __future__ import annotations

import json

import pytest

from agentgym.envs.dialogue.clinical.env import ClinicalInterview
from agentgym.envs.dialogue.clinical.table import ClinicalTableError, load_table, table_from_dict
from agentgym.responders import Fact, Knowledge


def test_the_bundled_table_has_its_promised_size_and_says_it_is_not_advice():
    table = load_table()
    assert 20 <= len(table.conditions) <= 30 and 40 <= len(table.findings) <= 60 and 6 <= len(table.tests) <= 10
    assert "not medical advice" in table.notice.lower()
    assert [len(table.candidates(level)) for level in ("easy", "medium", "hard")] == [6, 15, len(table.conditions)]
    assert set(table.candidates("easy")) < set(table.candidates("medium")) < set(table.candidates("hard"))
    assert {f.kind for f in table.findings} == {"symptom", "history", "exam"}
    assert table.probability.shape == (len(table.findings) + len(table.tests), len(table.conditions))
    assert ((table.probability > 0) & (table.probability < 1)).all()
    assert all(test.cost > 0 for test in table.tests)


def test_each_finding_question_asks_about_that_finding_alone():
    table = load_table()
    knowledge = Knowledge([Fact(f.key, f.present, f.phrases) for f in table.findings], max_facts=99)
    for finding in table.findings:
        assert [fact.key for fact in knowledge.asked(finding.question)] == [finding.key], finding.question


def test_names_resolve_by_name_alias_case_and_punctuation():
    table = load_table()
    assert table.condition_named("UTI") == "urinary tract infection"
    assert table.condition_named("  Myocardial-Infarction. ") == "heart attack"
    assert table.conditions_in("probably kidney stones, not a UTI") == ["kidney stone", "urinary tract infection"]
    assert table.test_named("CXR") == "chest_xray" and table.test_named("d-dimer") == "d_dimer"
    assert table.tests_in("an EKG please") == ["ecg"]


def _problem(raw, match):
    with pytest.raises(ClinicalTableError, match=match) as caught:
        table_from_dict(raw, "mine.json")
    assert str(caught.value).startswith("clinical table mine.json: ")


def test_broken_tables_are_refused_with_what_is_wrong(tiny):
    table_from_dict(tiny, "mine.json")  # the fixture itself is fine
    bad = json.loads(json.dumps(tiny))
    bad["conditions"][0]["findings"]["fever"] = 1.0
    _problem(bad, r"condition 'alpha fever'\.findings\.fever: must be a probability strictly between 0 and 1")
    bad = json.loads(json.dumps(tiny))
    bad["conditions"][1]["findings"]["sneeze"] = 0.5
    _problem(bad, r"'sneeze' is not one of the table's findings")
    bad = json.loads(json.dumps(tiny))
    bad["findings"][1]["phrases"].append("temperature")
    _problem(bad, r"finding phrases .*'temperature' appears twice")
    bad = json.loads(json.dumps(tiny))
    bad["findings"][1]["question"] = "Any cough or fever?"
    _problem(bad, r"finding 'cough'\.question: .* must ask about 'cough' alone")
    bad = json.loads(json.dumps(tiny))
    bad["difficulties"]["medium"]["conditions"] = ["alpha fever", "gamma pox"]
    _problem(bad, r"difficulties\.medium\.conditions: .*gamma pox")
    bad = json.loads(json.dumps(tiny))
    bad["conditions"][0]["findings"] = {"fever": 0.3}
    _problem(bad, r"condition 'alpha fever': needs a symptom with a 'complaint'")
    bad = json.loads(json.dumps(tiny))
    bad["tests"][0]["cost"] = -1
    _problem(bad, r"test 'swab'\.cost: must be a finite number >= 0")
    bad = json.loads(json.dumps(tiny))
    bad["conditions"][1]["aliases"] = ["alpha"]
    _problem(bad, r"condition names and aliases: 'alpha' appears twice")
    bad = json.loads(json.dumps(tiny))
    bad["findings"][0]["kind"] = "feeling"
    _problem(bad, r"finding 'fever'\.kind: must be one of symptom, history, exam")
    bad = json.loads(json.dumps(tiny))
    del bad["tests"]
    _problem(bad, r"the table: lacks 'tests'")
    _problem([], r"the table: must be a JSON object")


def test_your_own_table_file_runs_the_environment(tiny, tmp_path):
    path = tmp_path / "table.json"
    path.write_text(json.dumps(tiny))
    env = ClinicalInterview("medium", table=str(path))
    observation, _ = env.reset(seed=1)
    assert env.turn_budget == 5 and env.candidates == ("alpha fever", "beta flu")
    assert observation.endswith("You have 5 turns, the diagnosis included.")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ClinicalTableError, match="not valid JSON"):
        ClinicalInterview(table=str(tmp_path / "broken.json"))
    with pytest.raises(ClinicalTableError, match="cannot be read"):
        ClinicalInterview(table=str(tmp_path / "missing.json"))
