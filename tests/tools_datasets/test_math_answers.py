"""The math verifier: hand-written equivalent and non-equivalent answer pairs (numbers,
fractions, decimals, LaTeX, percentages, expressions, lists, text), final-answer extraction,
dataset reference answers, and hostile inputs that must neither raise nor take long."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from agentgym.envs.tools.datasets.math_answers import (
    Expression,
    Items,
    Number,
    Text,
    equivalent,
    extract_final_answer,
    last_boxed,
    parse_answer,
    reference_answer,
    verify_math,
)
from agentgym.testing import hostile_actions

EQUIVALENT = [
    # numbers, fractions, decimals
    ("0.5", "1/2"), ("\\frac{1}{2}", "1/2"), ("\\dfrac12", "0.5"), ("\\tfrac{3}{4}", ".75"), ("2/4", "\\frac{1}{2}"),
    ("5e-1", "1/2"), ("1.50", "1.5"), ("0.1+0.2", "0.3"), ("-\\frac{1}{3}", "\\frac{-1}{3}"), ("\\frac{-1}{3}", "-1/3"),
    ("+7", "7"), ("007", "7"), ("42.", "42"), ("10^{-3}", "0.001"), ("\\frac{\\frac{1}{2}}{2}", "1/4"),
    ("0.3333333", "1/3"), ("\\frac{22}{7}", "3.142857142857"),
    # thousands separators and dressing
    ("1,000,000", "1000000"), ("1 000 000", "1000000"), ("$42$", "42"), ("\\(42\\)", "42"), ("\\$5", "5"),
    ("\\left(\\frac{3}{4}\\right)", "0.75"), ("\\displaystyle \\frac{1}{2}", "0.5"), ("3\\,000", "3000"),
    ("90^\\circ", "90"), ("90°", "90"),
    # percentages
    ("50\\%", "1/2"), ("50%", "50"), ("12.5%", "0.125"),
    # operations
    ("3\\cdot 4", "12"), ("3 \\times 4", "12"), ("2^{10}", "1024"), ("2**10", "1024"), ("5!", "120"),
    ("\\sqrt{16}", "4"), ("\\sqrt[3]{27}", "3"), ("(-8)^{1/3}", "-2"), ("\\frac{6}{\\sqrt{4}}", "3"), ("-2^2", "-4"),
    # expressions and constants
    ("2\\sqrt{3}", "\\sqrt{12}"), ("\\frac{\\pi}{4}", "\\pi/4"), ("2\\pi", "2 pi"), ("π", "\\pi"),
    ("\\frac{\\sqrt{3}}{2}", "0.8660254"), ("x^2+5x+6", "(x+2)(x+3)"), ("3x", "x*3"), ("\\frac{x+1}{2}", "0.5x+0.5"),
    ("x_1+x_2", "x_2 + x_1"), ("3+4i", "4i+3"), ("e^2", "e*e"), ("\\log_2 8", "3"), ("\\log_{2}(8)", "3"),
    ("\\ln(e^3)", "3"), ("\\sin(\\pi/6)", "1/2"), ("2^{x+1}", "2 \\cdot 2^x"), ("\\infty", "oo"), ("-\\infty", "-\\infty"),
    # equations, lists, sets, tuples, intervals
    ("x = 5", "5"), ("x=\\frac{1}{2}", "0.5"), ("y = 2x + 1", "2x+1"), ("1, 2", "2, 1"), ("x = 2, x = 3", "3, 2"),
    ("\\{1, 2\\}", "\\{2,1\\}"), ("(1, 2)", "(1,2)"), ("(0.5, -1)", "(\\frac{1}{2}, -1)"), ("[1, 2)", "[1,2)"),
    ("1, 2", "(1, 2)"),
    # text
    ("yes", "Yes"), ("\\text{(B)}", "B"), ("(C)", "C"), ("No solution.", "no solution"), ("\\text{Monday}", "monday"),
    # units
    ("5 \\text{ cm}", "5"), ("12 apples", "12"), ("\\$12.50", "12.5"),
]

DIFFERENT = [
    ("0.33", "1/3"), ("0.333", "1/3"), ("0.5", "1/3"), ("2", "3"), ("-2", "2"), ("2", "20"), ("1/2", "2"),
    ("(1, 2)", "(2, 1)"), ("[1, 2]", "(1, 2)"), ("[1, 2)", "[1, 2]"), ("1, 2", "1, 2, 3"), ("1, 1, 2", "1, 2, 2"),
    ("x^2", "x^3"), ("x+1", "y+1"), ("x_1", "x_2"), ("(x+1)^2", "x^2+1"), ("2\\pi", "6.28"), ("\\sqrt{2}", "1.41"),
    ("3+4i", "3-4i"), ("e", "2.718"), ("-\\infty", "\\infty"), ("50%", "0.6"), ("yes", "no"), ("(B)", "(C)"),
    ("", "5"), ("x", "2"), ("1/0", "0"), ("x = 5", "x = 6"), ("x + y = 3", "3"), ("x < 3", "3"),
    ("2^{100000}", "1"), ("9^9^9^9", "1"), ("1000!", "1"), ("(", "1"), ("\\frac{1}{", "1"),
    ("1e308*1e308", "1"), ("\\sqrt{-1}", "1"), ("12 apples", "13"),
]


@pytest.mark.parametrize("given, expected", EQUIVALENT)
def test_equivalent_answers(given, expected):
    assert equivalent(given, expected), (parse_answer(given), parse_answer(expected))
    assert equivalent(expected, given)


@pytest.mark.parametrize("given, expected", DIFFERENT)
def test_different_answers(given, expected):
    assert not equivalent(given, expected), (parse_answer(given), parse_answer(expected))


def test_what_the_parser_makes_of_answers():
    assert parse_answer("\\frac{3}{4}") == Number(Fraction(3, 4))
    assert parse_answer("0.75") == Number(Fraction(3, 4), approximate=True)
    assert parse_answer("75%") == Number(Fraction(3, 4), percent=True)
    assert isinstance(parse_answer("2\\sqrt{3}"), Expression)
    assert parse_answer("(1, 2)") == Items((Number(Fraction(1)), Number(Fraction(2))), ordered=True, brackets="()")
    assert parse_answer("\\{1, 2\\}").ordered is False
    assert isinstance(parse_answer("no solution"), Text) and isinstance(parse_answer("2ab"), Text)


def test_the_tolerance_only_applies_to_decimals():
    assert equivalent("0.3333", "1/3", rel_tol=1e-3) and not equivalent("0.3333", "1/3")
    assert not equivalent("333333/1000000", "1/3", rel_tol=1e-3)  # exact forms compare exactly
    assert equivalent("1.4142136", "\\sqrt{2}") and not equivalent("1.4142136", "\\sqrt{2}", rel_tol=1e-12)


@pytest.mark.parametrize("response, answer", [
    ("The answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
    ("first \\boxed{1}, then \\boxed{2}", "2"),
    ("so \\boxed{\\frac{1}{\\boxed{2}}}", "\\frac{1}{\\boxed{2}}"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
    ("\\fbox{7}", "7"),
    ("thus \\boxed 5 done", "5"),
    ("Final Answer: The final answer is $5$. I hope it is correct.", "$5$"),
    ("Reasoning...\nThe answer is 12.", "12"),
    ("Answer: x = 3", "x = 3"),
    ("<answer>7</answer>", "7"),
    ("<answer>1</answer> and later <answer>2</answer>", "2"),
    ("\\boxed{3} <answer>4</answer>", "3"),
    ("42", "42"),
    ("  -3/4  ", "-3/4"),
])
def test_final_answer_extraction(response, answer):
    assert extract_final_answer(response) == answer


@pytest.mark.parametrize("response", ["", "   ", "I think\nit is hard", "\\boxed{", "<answer>", "<answer></answer>",
                                      "\\boxed{}", "x" * 300])
def test_responses_without_a_final_answer(response):
    assert extract_final_answer(response) is None
    verdict = verify_math(response, "1")
    assert not verdict.correct and verdict.answer is None and "\\boxed" in verdict.reason


def test_verify_math_reports_the_answer_it_found():
    verdict = verify_math("We get $\\boxed{0.5}$.", "\\frac{1}{2}")
    assert verdict.correct and verdict.answer == "0.5"
    wrong = verify_math("We get $\\boxed{0.6}$.", "\\frac{1}{2}")
    assert not wrong.correct and wrong.answer == "0.6" and "not equal" in wrong.reason
    assert last_boxed("no box") is None and last_boxed(None) is None


@pytest.mark.parametrize("raw, answer", [
    ("Natalia sold 48/2 = 24 clips in May.\n#### 72", "72"), ("The solution is $\\boxed{\\frac{3}{4}}$.", "\\frac{3}{4}"),
    ("  17 ", "17"), (17, "17"), (2.5, "2.5"), (Fraction(1, 3), "1/3"),
])
def test_reference_answers_of_datasets(raw, answer):
    assert reference_answer(raw) == answer


@pytest.mark.parametrize("raw", [True, None, [1], {"a": 1}])
def test_reference_answers_of_the_wrong_type(raw):
    with pytest.raises(TypeError):
        reference_answer(raw)


def test_hostile_answers_never_raise():
    # Bounded by construction (input length, nesting depth, exponent and factorial caps): an
    # unbounded computation here would hang this test rather than pass it.
    rng = random.Random(0)
    alphabet = "0123456789+-*/^()[]{}\\frac sqrt pi e i x y ,.%!=_ boxed $ cdot \x00 é🙂"
    cases = list(hostile_actions(200)) + [
        "(" * 5000 + "1" + ")" * 5000, "-" * 5000 + "1", "2^" * 2000 + "2", "\\frac{" * 3000, "1" + "!" * 100,
        "99999!", "x^x^x^x^x^x^x^x", "10^{4096}", "(10^{4096})^{4096}", "\\sqrt[0]{2}", "0^{-1}", "1/(x-x)",
        "e^{e^{e^{e^{e}}}}", "i^i", "1,2,3" * 300, "\\{" * 500, "1," * 400 + "1", "\\sqrt[" * 200,
    ] + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(800)]
    for case in cases:
        for reference in ("1/2", "x^2+1", "(1, 2)", "yes", "1, 2, 3"):
            assert isinstance(equivalent(case, reference), bool)
            assert isinstance(verify_math(case, reference).correct, bool)


def test_arguments_must_be_text():
    with pytest.raises(TypeError):
        equivalent(1, "1")
    with pytest.raises(TypeError):
        parse_answer(None)


def test_a_decimal_exponent_is_bounded_like_a_power():
    # 1e999999999 was read exactly: Fraction built a billion-digit integer, a hang of minutes.
    # Past MAX_EXPONENT a decimal exponent, as a power's, is not computed: the answer is text.
    for huge in ("1e5000", "1E-5000", "2.5e999999999", "1e-999999999"):
        assert isinstance(parse_answer(huge), Text), huge
        assert equivalent(huge, "1") is False
    assert verify_math("The answer is $\\boxed{3e99999999999}$.", "3").correct is False
    assert equivalent("1e999999999", "1e999999999") and equivalent("1.5e3", "1500")
    assert equivalent("1e4096", "10^{4096}") and equivalent("1e-4096", "10^{-4096}")


@pytest.mark.parametrize("piece", ["\\boxed{", "\\boxed{1", "\\fbox{{", "\\boxed 5 ", "\\boxed{}\\boxed{"])
def test_finding_the_last_box_is_linear_in_a_degenerate_response(piece):
    # A response repeating "\boxed{" 16,000 times (112,000 characters) took about a minute: each
    # unclosed box scanned the rest of the text for its closing brace (quadratic).
    import time

    response = piece * 16_000
    started = time.perf_counter()
    verify_math(response, "1")
    assert time.perf_counter() - started < 3.0, piece


def test_the_last_complete_box_wins_and_of_nested_ones_the_outer():
    assert last_boxed("\\boxed{1} then \\boxed{\\frac{1}{2}} and \\boxed{3") == "\\frac{1}{2}"
    assert last_boxed("\\boxed{a \\boxed{b} c}") == "a \\boxed{b} c"
    assert last_boxed("} \\boxed{x}} \\boxed {y}") == "y"
    assert last_boxed("\\boxed 5 and \\boxed{6}") == "6" and last_boxed("\\boxed{6} and \\boxed 5$") == "5"
    assert last_boxed("\\boxed{{}") is None and last_boxed("\\boxed{{x}") is None
