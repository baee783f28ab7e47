"""Patient cases drawn from the clinical table with the episode's seeded generator.

:func:`generate_case` draws, in this order (so the same ``random.Random`` state gives the same
case):

1. the condition, among the level's candidates, with probability proportional to its
   prevalence (the Bayes model's prior, :mod:`~agentgym.envs.dialogue.clinical.bayes`);
2. the patient's age (18 to 80) and sex, independently of the condition: in this simplified
   table they carry no information;
3. each finding present with its probability given the condition, then each test positive with
   its probability (all independent given the condition: the naive-Bayes assumption holds
   exactly for the generated findings);
4. the chief complaint: one of the present findings that has a ``complaint``, drawn with weight
   ``P(finding | condition)²`` (a condition's typical symptom is what patients usually come in
   with). A draw with no such finding present is redrawn (step 3), up to
   :data:`MAX_REDRAWS` times; after that the condition's most likely complaint is made present.

The chief complaint is given in the first observation ("A 34-year-old woman comes in with a
sore throat.") and is known from the start (``Case.presenting``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping, Sequence

from .table import Table

MAX_REDRAWS = 100
AGES = (18, 80)


@dataclass(frozen=True)
class Case:
    """One patient.

    Attributes:
        condition: the hidden diagnosis (a condition name of the table).
        age, sex: as the first observation gives them (``sex`` is ``"woman"`` or ``"man"``).
        findings: every finding of the table, present or not.
        tests: every test of the table, positive or not.
        chief_complaint: the finding the patient comes in with (present).
    """

    condition: str
    age: int
    sex: str
    findings: Mapping[str, bool]
    tests: Mapping[str, bool]
    chief_complaint: str

    @property
    def presenting(self) -> dict[str, bool]:
        """What is known before the first question: ``{chief_complaint: True}``."""
        return {self.chief_complaint: True}

    def value(self, key: str) -> bool:
        """A finding's presence or a test's result."""
        return self.findings[key] if key in self.findings else self.tests[key]

    def opening(self, table: Table) -> str:
        """The first observation's sentence."""
        return f"A {self.age}-year-old {self.sex} comes in with {table.finding(self.chief_complaint).complaint}."


def generate_case(rng: random.Random, table: Table, candidates: Sequence[str], condition: str | None = None) -> Case:
    """A case drawn as the module docstring says; ``condition`` fixes step 1 (still consuming
    its draw, so the rest of the case depends only on the seed and the condition)."""
    weights = [table.conditions[table.column(name)].prevalence for name in candidates]
    drawn = rng.choices(list(candidates), weights=weights)[0]
    condition = drawn if condition is None else condition
    disease = table.conditions[table.column(condition)]
    age, sex = rng.randint(*AGES), rng.choice(("woman", "man"))
    complaints = [f.key for f in table.findings if f.complaint]
    for _ in range(MAX_REDRAWS):
        findings = {f.key: rng.random() < disease.findings.get(f.key, f.default) for f in table.findings}
        tests = {t.key: rng.random() < disease.tests.get(t.key, t.default) for t in table.tests}
        present = [key for key in complaints if findings[key]]
        if present:
            break
    else:
        likeliest = max(complaints, key=lambda key: disease.findings.get(key, table.finding(key).default))
        findings[likeliest] = True
        present = [likeliest]
    chances = [disease.findings.get(key, table.finding(key).default) ** 2 for key in present]
    chief = rng.choices(present, weights=chances)[0]
    return Case(condition, age, sex, findings, tests, chief)
