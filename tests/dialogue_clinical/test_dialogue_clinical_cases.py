"""Case generation: seeded and reproducible, the chief complaint present and stated, the
draws following the table's probabilities."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from agentgym.envs.dialogue.clinical.cases import generate_case
from agentgym.envs.dialogue.clinical.env import ClinicalInterview
from agentgym.envs.dialogue.clinical.table import load_table


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_same_seed_same_case_and_other_seeds_other_cases(difficulty):
    first, second = ClinicalInterview(difficulty), ClinicalInterview(difficulty)
    cases = []
    for seed in range(12):
        observation, _ = first.reset(seed=seed)
        again, _ = second.reset(seed=seed)
        assert observation == again and first.case == second.case
        cases.append(first.case)
    assert len({(c.condition, c.age, c.sex, tuple(c.findings.items())) for c in cases}) == len(cases)
    assert all(case.condition in first.candidates for case in cases)


def test_the_chief_complaint_is_present_known_and_in_the_first_observation():
    env, table = ClinicalInterview("hard"), load_table()
    for seed in range(40):
        observation, _ = env.reset(seed=seed)
        case = env.case
        finding = table.finding(case.chief_complaint)
        assert case.findings[case.chief_complaint] and finding.complaint
        assert observation.startswith(f"A {case.age}-year-old {case.sex} comes in with {finding.complaint}.")
        assert env.known == {case.chief_complaint: True} and 18 <= case.age <= 80
        assert case.condition not in observation.lower()


def test_the_condition_can_be_chosen_and_must_be_a_candidate():
    env = ClinicalInterview("easy")
    env.reset(seed=3, options={"condition": "UTI"})
    assert env.case.condition == "urinary tract infection"
    with pytest.raises(ValueError, match="candidates"):
        env.reset(seed=3, options={"condition": "influenza"})  # a medium condition


def test_draws_follow_the_prevalences_and_the_probabilities():
    table, rng = load_table(), random.Random(7)
    candidates = table.candidates("easy")
    cases = [generate_case(rng, table, candidates) for _ in range(3000)]
    counts = Counter(case.condition for case in cases)
    weights = {name: table.conditions[table.column(name)].prevalence for name in candidates}
    for name in candidates:
        expected = weights[name] / sum(weights.values())
        assert counts[name] / len(cases) == pytest.approx(expected, abs=0.03), name
    strep = [generate_case(rng, table, candidates, "strep throat") for _ in range(1000)]
    assert sum(c.findings["tonsillar_exudate"] for c in strep) / 1000 == pytest.approx(0.7, abs=0.05)
    assert sum(c.tests["rapid_strep"] for c in strep) / 1000 == pytest.approx(0.9, abs=0.03)
    assert sum(c.findings["smoker"] for c in strep) / 1000 == pytest.approx(0.2, abs=0.04)  # the default
    assert Counter(c.chief_complaint for c in strep).most_common(1)[0][0] == "sore_throat"
