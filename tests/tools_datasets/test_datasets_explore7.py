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


@pytest.mark.parametrize("given, expected, wrong", [
    ("25 \\text{ cm}^2", "25", "625"), ("25\\text{ cm}^{2}", "25", "625"), ("8 \\mathrm{m}^3", "8", "512"),
    ("12 \\text{ square units}", "12", "13"), ("4 \\text{ and } 5", "4 and 5", "20"),
    ("2 \\text{ or } 3", "2 or 3", "6"),
])
def test_units_in_text_are_dropped_only_after_the_number(given, expected, wrong):
    # A unit's power was left behind as the number's ("25 \text{ cm}^2" read as 625), and words in
    # the middle were dropped too ("4 \text{ and } 5" read as 4 5, a product: 20).
    assert equivalent(given, expected)
    assert not equivalent(given, wrong)
