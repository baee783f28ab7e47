"""Exploratory round 7 of the dataset environments: answers the verifier misread and records
the loader misread, each found by a probe and fixed."""

from __future__ import annotations

import pytest

from agentgym.envs.tools.datasets.math_answers import equivalent, extract_final_answer, verify_math


@pytest.mark.parametrize("response, answer", [
    ("**Answer:** 42", "42"),
    ("**Answer**: 42", "42"),
    ("The answer is **42**.", "42"),
    ("Final answer: __42__", "42"),
    ("Answer: `42`", "42"),
    ("Reasoning...\n**Final answer:** $\\frac{3}{4}$", "$\\frac{3}{4}$"),
    ("**42**", "42"),
])
def test_markdown_emphasis_around_the_final_answer_is_not_part_of_it(response, answer):
    # A chat model's usual "**Answer:** 42" was read as the answer "** 42" and graded wrong.
    assert extract_final_answer(response) == answer
    assert verify_math(response, "42" if "42" in answer else "0.75").correct


@pytest.mark.parametrize("given, expected", [
    ("10{,}000", "10000"), ("10000", "10{,}000"), ("1{,}234{,}567", "1,234,567"), ("\\$10{,}000", "10000"),
    ("2{,}500.5", "2500.5"),
])
def test_latex_braced_thousands_separators(given, expected):
    # MATH writes large numbers as 10{,}000: the reference was compared as text, so 10000 was wrong.
    assert equivalent(given, expected)
    assert not equivalent(given, "10001")
