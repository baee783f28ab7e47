"""Exploratory round 7 of the dataset environments: answers the verifier misread and records
the loader misread, each found by a probe and fixed."""

from __future__ import annotations

from decimal import Decimal

import numpy
import pytest

from agentgym.core import ConfigError
from agentgym.envs.tools.datasets import DatasetEnv
from agentgym.envs.tools.datasets.code_tests import RUNNERS, extract_code, normalize_tests, run_tests
from agentgym.envs.tools.datasets.math_answers import (
    equivalent,
    extract_final_answer,
    reference_answer,
    verify_math,
)
from agentgym.envs.tools.datasets.records import Fields, load_problems


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


def test_a_dataframe_s_missing_values_are_missing_fields():
    # pandas fills a record's missing value with NaN (these rows are what DataFrame.to_dict("records")
    # gives a load_problems of a DataFrame): a missing answer became the answer 'nan', a missing
    # optional field (solution, difficulty) a refused record ("must be text, got float").
    nan = float("nan")
    rows = [{"question": "1 + 1?", "answer": "2", "solution": "s", "difficulty": "easy", "id": "a"},
            {"question": "2 + 2?", "answer": "4", "solution": nan, "difficulty": nan, "id": nan}]
    problems = load_problems(rows, "math")
    assert [(p.id, p.solution, p.level) for p in problems] == [("a", "s", "easy"), ("1", None, None)]
    with pytest.raises(ConfigError, match="record 1 has no 'answer' field"):
        load_problems([{"question": "1 + 1?", "answer": 2.0}, {"question": "2 + 2?", "answer": nan}], "math")
    with pytest.raises(ConfigError, match="record 0 has no 'tests' field"):
        load_problems([{"question": "Write f.", "tests": nan}], "code")


def test_numpy_and_decimal_numbers_as_answers():
    # A datasets.Dataset in numpy format gives np.float64 answers, a Parquet decimal column
    # Decimal ones: np.float64(2.5) became the answer text 'np.float64(2.5)' (no reply could
    # match), np.int64 and Decimal were refused as "not a number".
    raw = [numpy.float64(2.5), numpy.int64(7), numpy.float32(0.1), Decimal("1.50"), numpy.int32(-3)]
    assert [reference_answer(value) for value in raw] == ["2.5", "7", "0.1", "1.50", "-3"]
    rows = [{"question": numpy.str_("Half of 5?"), "answer": numpy.float64(2.5)}]
    assert load_problems(rows, "math")[0].answer == "2.5"
    for bad in (numpy.bool_(True), complex(1, 2)):
        with pytest.raises(TypeError):
            reference_answer(bad)


@pytest.mark.parametrize("given, expected, wrong", [
    ("2\\frac{1}{4}", "9/4", "1/2"), ("9/4", "2\\frac{1}{4}", "1/2"), ("2.25", "2\\frac14", "0.5"),
    ("-1\\frac{1}{2}", "-1.5", "-0.5"), ("$3\\dfrac{2}{3}$ cups", "11/3", "2"),
    ("1\\frac{1}{2}, 2", "2, 1.5", "0.5, 2"),
])
def test_a_whole_number_before_a_proper_fraction_is_a_mixed_number(given, expected, wrong):
    # MATH's "express your answer as a mixed number" references (2\frac{1}{4}) were read as the
    # product 2 * 1/4: the right 9/4 was graded wrong, and 1/2 right.
    assert equivalent(given, expected)
    assert not equivalent(given, wrong)


@pytest.mark.parametrize("given, expected", [
    ("2\\frac{x}{4}", "x/2"), ("2\\frac{5}{4}", "5/2"), ("x\\frac{1}{2}", "x/2"), ("3 \\cdot 2\\frac{1}{2}", "3"),
])
def test_other_products_with_a_fraction_stay_products(given, expected):
    assert equivalent(given, expected)


def test_an_indented_fenced_block_is_the_code_without_the_fence_s_indentation(sandbox):
    # A chat model's code block inside a numbered list is indented with its fence; the indentation
    # was kept, so a right solution failed as "the solution does not compile: unexpected indent".
    reply = ("1. Define the function:\n\n   ```python\n   def add(a, b):\n       return a + b\n   ```\n")
    assert extract_code(reply) == "def add(a, b):\n    return a + b\n"
    assert extract_code("\t```python\n\tx = 1\n\t\ty = 2\n\t```") == "x = 1\n\ty = 2\n"
    verdict = run_tests(sandbox, extract_code(reply), ["assert add(1, 2) == 3"])
    assert verdict.correct, verdict.feedback()


def test_a_reply_with_windows_line_ends_has_its_code_found():
    # "```python\r\n" was a fence labelled "python\r" and "```\r\n" no closing fence: no code found,
    # an invalid action for a right solution sent with CRLF line ends.
    assert extract_code("Here:\r\n```python\r\ndef f():\r\n    return 1\r\n```\r\n") == "def f():\n    return 1\n"
    assert extract_code("```\r\nx = 1\r\n```") == "x = 1\n"


HUMANEVAL_TESTS = "METADATA = {}\n\n\ndef check(candidate):\n    assert candidate(1) == 2\n"


def test_tests_that_hold_no_test_are_a_bad_record_at_load():
    # HumanEval's test field defines check(candidate) and never calls it: the record loaded, and
    # every reply -- the oracle's too -- failed with "no tests were found" at every step.
    rows = [{"question": "Write inc(x).", "tests": HUMANEVAL_TESTS, "solution": "def inc(x):\n    return x + 1\n"}]
    with pytest.raises(ConfigError, match=r"record 0: 'tests': the tests hold no test .*def test_check\(\)"):
        load_problems(rows, "code")
    with pytest.raises(ValueError, match="hold no test"):
        normalize_tests("x = 1\nprint(x)\n")
    for tests in (HUMANEVAL_TESTS + "\n\ndef test_check():\n    check(inc)\n", "assert inc(1) == 2\n",
                  "async def test_a():\n    pass\n", "class TestInc:\n    def test_one(self):\n        assert True\n"):
        assert normalize_tests(tests) == tests


def test_a_humaneval_record_with_a_test_calling_check_is_solved(sandbox):
    tests = HUMANEVAL_TESTS + "\n\ndef test_check():\n    check(inc)\n"
    assert run_tests(sandbox, "def inc(x):\n    return x + 1\n", tests).correct


def test_a_json_file_of_json_lines_is_read(tmp_path):
    # datasets' Dataset.to_json("data.json") writes JSON lines: reading it back failed with
    # "is not valid JSON: Extra data: line 2 column 1".
    path = tmp_path / "data.json"
    path.write_text('{"question": "1 + 1?", "answer": "2"}\n\n{"question": "2 + 2?", "answer": 4}\n', encoding="utf-8")
    assert [(p.question, p.answer) for p in load_problems(path, "math")] == [("1 + 1?", "2"), ("2 + 2?", "4")]
    path.write_text('{"question": "1 + 1?", "answer": "2"}\n{"question": "2 + 2?"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"json' line 2 is not valid JSON: Expecting ',' delimiter"):
        load_problems(path, "math")
    path.write_text('[{"question": "1 + 1?", "answer": "2"}]', encoding="utf-8")
    assert load_problems(path, "math")[0].answer == "2"


def test_tests_in_a_numpy_array_are_a_list_of_tests():
    # pandas.read_parquet (and a datasets.Dataset in numpy format) gives a list column's cells as
    # numpy arrays: MBPP's test_list was refused, "not ndarray".
    cell = numpy.array(["assert add(1, 2) == 3", "assert add(0, 0) == 0"], dtype=object)
    rows = [{"question": "Write add(a, b).", "test_list": cell}, {"question": "Again.", "test_list": cell.astype(str)}]
    problems = load_problems(rows, "code", Fields(tests="test_list"))
    assert [p.tests for p in problems] == [("assert add(1, 2) == 3", "assert add(0, 0) == 0")] * 2
    assert all(type(test) is str for test in problems[1].tests)
    with pytest.raises(ValueError, match="non-empty strings"):
        normalize_tests(numpy.array([[1, 2]]))


@pytest.mark.parametrize("given, expected", [
    ("\\begin{pmatrix} -1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}-1\\\\2\\end{pmatrix}"),
    ("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\begin{pmatrix} 1&2\\\\3&4 \\end{pmatrix}"),
])
def test_a_latex_line_break_followed_by_a_space_is_kept(given, expected):
    # "\\ " (a row break, then a space) lost a backslash as if it were the spacing command "\ ":
    # MATH's vector answers matched only when spaced exactly as the reference.
    assert equivalent(given, expected)
    assert not equivalent(given, expected.replace("2", "5"))


@pytest.mark.parametrize("given, expected", [("25 cm^2", "25"), ("25 cm^{2}", "25"), ("8 ft^3", "8"),
                                             ("12 square meters", "12")])
def test_a_unit_word_with_a_power_is_dropped_after_a_number(given, expected):
    # "12 apples" lost its unit, "25 cm^2" did not: it was compared as the text '25cm^2'.
    assert equivalent(given, expected)
    assert not equivalent(given, "26")


def test_a_numpy_integer_chooses_the_problem():
    # reset(options={"index": i}) over numpy.arange(len(env.pool)) was refused, "must be an integer"
    # (agentgym's integer arguments take numpy integers, agentgym.core.is_int).
    env = DatasetEnv([{"question": f"{n} + 1?", "answer": str(n + 1)} for n in range(3)], "math")
    try:
        for index in numpy.arange(3):
            observation, info = env.reset(options={"index": index})
            assert observation.startswith(f"{index} + 1?")
        with pytest.raises(ConfigError, match="options\\['index'\\] must be an integer from 0 to 2"):
            env.reset(options={"index": numpy.bool_(True)})
    finally:
        env.close()


STATEFUL = "calls = []\n\n\ndef nxt():\n    calls.append(1)\n    return len(calls)\n"


@pytest.mark.parametrize("tests", [["assert nxt() == 5", "assert len(calls) == 1"],
                                   "assert nxt() == 5\nassert len(calls) == 1\n"])
def test_a_failed_assert_reports_the_value_it_got_computed_once(sandbox, tests):
    # What a failed `assert a == b` got was computed by running `a` again: a stateful call reported
    # its second value (got 2, not 1) and the next test saw the state changed (failed, not passed).
    verdict = run_tests(sandbox, STATEFUL, tests)
    assert (verdict.passed, verdict.total) == (1, 2), verdict
    assert verdict.failures == ("assert nxt() == 5 failed (got 1)",)



def test_a_fence_of_four_backticks_holds_a_solution_that_writes_three():
    # Markdown fences may be longer than three backticks, so that the code can hold ``` lines; such
    # a block was no block at all ("no code found").
    code = 'def fence(text):\n    return "```\\n" + text + "\\n```"\n'
    reply = "Here:\n````python\n" + code + "````\n"
    assert extract_code(reply) == code
    nested = "````python\nprint('''\n```\n''')\n````"
    assert extract_code(nested) == "print('''\n```\n''')\n"
    assert extract_code("```python\nx = 1\n````") == "x = 1\n"  # a longer closing fence closes


def test_the_pytest_runner_keeps_a_test_s_multi_line_strings_as_written(sandbox):
    # A listed test became a pytest function by indenting every line, the lines inside a multi-line
    # string too: its text changed ('a\n    b'), and a right solution failed under pytest alone.
    solution = "def lines(text):\n    return text.split('\\n')\n"
    tests = ['assert lines("""a\nb""") == ["a", "b"]', "assert lines('x\\\ny') == ['xy']",
             'if True:\n    assert lines(f"""{1}\n2""") == ["1", "2"]']
    for runner in RUNNERS:
        verdict = run_tests(sandbox, solution, tests, runner=runner)
        assert verdict.correct, (runner, verdict)



@pytest.mark.parametrize("response", ["<answer>**42**</answer>", "<answer> `42` </answer>", "<answer>*42*.</answer>"])
def test_markdown_emphasis_inside_an_answer_tag_is_not_part_of_it(response):
    # "**Answer:** 42" was fixed for answer lines; in the tag "<answer>**42**</answer>" was still
    # the answer "**42**", graded wrong.
    assert extract_final_answer(response) == "42"
    assert verify_math(response, "42").correct


@pytest.mark.parametrize("kind, tools", [("code", False), ("code", True), ("math", True)])
def test_a_sandbox_that_is_not_a_sandbox_is_a_config_error(kind, tools):
    # DatasetEnv(kind="code", sandbox="my-sandbox") was built, reset, and crashed at the first
    # reply with AttributeError: 'str' object has no attribute 'run_python'.
    rows = [{"question": "q", "tests": ["assert True"], "answer": "1"}]
    with pytest.raises(ConfigError, match="DatasetEnv: sandbox must be an agentgym.sandbox.Sandbox, not str"):
        DatasetEnv(rows, kind, sandbox="my-sandbox", tools=tools)


@pytest.mark.parametrize("kind", ["code", "math"])
def test_an_unknown_isolation_is_a_config_error_when_made(kind):
    # isolation="docker" was accepted: a code dataset failed at reset with a bare ValueError, a math
    # dataset never said it was ignored.
    rows = [{"question": "q", "tests": ["assert True"], "answer": "1"}]
    with pytest.raises(ConfigError, match="DatasetEnv: isolation must be one of bubblewrap, rlimits, got 'docker'"):
        DatasetEnv(rows, kind, isolation="docker")
