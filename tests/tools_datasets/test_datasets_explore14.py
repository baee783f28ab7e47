"""Exploratory round 14 of the dataset environments: defects found by a probe and fixed."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.envs.tools.datasets import DatasetEnv, register_dataset
from agentgym.envs.tools.datasets.code_tests import FAILURE_CHARS, run_tests
from agentgym.envs.tools.datasets.math_answers import equivalent


def test_failures_are_reported_however_much_the_solution_prints(sandbox):
    # The asserts harness wrote its report after everything the solution printed: past the
    # output cap the report fell out of the kept head and the tail (a quarter of output_chars)
    # could not hold it, so a wrong solution with debug prints was told "the run ended without a
    # test report: the solution exited or crashed the interpreter" instead of which tests failed.
    solution = "print('debug line ' * 2000)\ndef f(x):\n    return list(range(x))\n"
    long = ("a long expected value, so that the test is long, and longer still: the harness keeps 160 characters "
            "of a test as its label")
    tests = [f"assert f({n}) == [{n}, {long!r}, {n}]" for n in range(50, 58)]
    verdict = run_tests(sandbox, solution, tests)
    assert verdict.error is None, verdict.error
    assert (verdict.passed, verdict.total, len(verdict.failures)) == (0, 8, 5)
    assert verdict.failures[0].startswith("assert f(50) == [50,") and "(got [0, 1, 2," in verdict.failures[0]


def test_a_long_assertion_message_is_clipped_not_the_report_lost(sandbox):
    # A failed test's message went whole into the report (the pytest runner's "E" lines too):
    # tests whose messages held a long value made a report past the output cap, lost.
    tests = [f"assert f({n}) == {n + 1}, 'expected {n + 1}, got ' + repr(list(range(3000)))" for n in range(8)]
    for runner in ("asserts", "pytest"):
        verdict = run_tests(sandbox, "def f(x):\n    return x\n", tests, runner=runner)
        assert verdict.error is None, (runner, verdict.error)
        assert (verdict.passed, verdict.total, len(verdict.failures)) == (0, 8, 5), runner
        assert all("expected" in failure and len(failure) <= FAILURE_CHARS for failure in verdict.failures), runner


INC = "def inc(x):\n    return x + 1\n"
CLASS_TESTS = ("class TestInc:\n    def setup_method(self, method):\n        self.start = 1\n\n"
               "    def test_one(self):\n        assert inc(self.start) == 2\n\n"
               "    def test_two(self):\n        assert inc(2) == 3\n")
UNITTEST_TESTS = ("import unittest\n\nclass TestInc(unittest.TestCase):\n"
                  "    def setUp(self):\n        self.start = 1\n\n"
                  "    def test_one(self):\n        self.assertEqual(inc(self.start), 2)\n")


def test_the_asserts_runner_runs_test_classes(sandbox):
    # normalize_tests takes a Test* class as a test "for either runner", but the asserts runner
    # (the default) ran only test_* functions and top-level asserts: class-based tests (pytest's
    # or unittest's) were "no tests were found" for every reply, the oracle's too.
    verdict = run_tests(sandbox, INC, CLASS_TESTS)
    assert (verdict.passed, verdict.total, verdict.error) == (2, 2, None) and verdict.correct
    verdict = run_tests(sandbox, INC, UNITTEST_TESTS)
    assert (verdict.passed, verdict.total, verdict.error) == (1, 1, None)
    wrong = run_tests(sandbox, "def inc(x):\n    return x\n", UNITTEST_TESTS)
    assert (wrong.passed, wrong.total) == (0, 1) and wrong.failures == ("TestInc.test_one failed: 1 != 2",)


def test_a_wrong_solution_does_not_pass_by_the_tests_the_runner_skipped(sandbox):
    # With a test function beside a Test* class, the class was left out: a solution failing
    # the class's test was graded correct (1 of 1 passed).
    tests = "def test_a():\n    assert inc(1) == 2\n\nclass TestB:\n    def test_b(self):\n        assert inc(5) == 7\n"
    verdict = run_tests(sandbox, INC, tests)
    assert not verdict.correct and (verdict.passed, verdict.total) == (1, 2)
    assert verdict.failures == ("TestB.test_b failed",)


def test_an_async_test_runs_to_its_end(sandbox):
    # An async test function was called and its coroutine never run: under the asserts runner any
    # solution passed it; under pytest (no asyncio plugin in the sandbox) every solution failed it.
    tests = ("import asyncio\n\nasync def test_one():\n    await asyncio.sleep(0)\n    assert inc(1) == 2\n\n"
             "async def test_negative():\n    await asyncio.sleep(0)\n    assert inc(-1) == 0\n")
    for runner in ("asserts", "pytest"):
        verdict = run_tests(sandbox, "def inc(x):\n    return abs(x) + 1\n", tests, runner=runner)
        assert (verdict.passed, verdict.total, verdict.error) == (1, 2, None), (runner, verdict)
        assert verdict.failures[0].startswith("test_negative"), (runner, verdict)


@pytest.mark.parametrize("given, expected, wrong", [
    ("1,000 dollars", "1000", "0"), ("1,250 apples", "1250", "250"), ("1,000,000 people", "10^6", "1"),
    ("2,500 cm^2", "2500", "500"), ("1 000 dollars", "1000", "0"), ("12,500\\%", "125", "500"),
    ("x = 1,000", "1000", "1"), ("y = 1 000 000", "1000000", "0"),
])
def test_thousands_separators_with_units_a_percent_or_a_variable(given, expected, wrong):
    # Separators were read only when the whole answer was the number: "1,000 dollars" was the
    # list {1, 0} (its unit dropped after the check), "1 000 dollars" the product 1 * 000 = 0,
    # "12,500%" and "x = 1,000" lists too.
    assert equivalent(given, expected)
    assert not equivalent(given, wrong)


def test_a_listed_test_that_defines_test_functions_runs_them(sandbox):
    # Each listed test ran as one block of code: an item written as a test function only defined
    # it (the pytest runner nested it in its own test), so every solution, a wrong one too,
    # passed every test.
    tests = ["def test_small():\n    assert add(1, 2) == 3", "def test_zero():\n    assert add(0, 0) == 0",
             "assert add(2, 2) == 4"]
    for runner in ("asserts", "pytest"):
        verdict = run_tests(sandbox, "def add(a, b):\n    return a * 2\n", tests, runner=runner)
        assert (verdict.passed, verdict.total, verdict.error) == (2, 3, None), (runner, verdict)
        assert verdict.failures[0].startswith("test_small"), (runner, verdict)
    # an item that calls the function it defines is a block of code, as before
    called = run_tests(sandbox, "def add(a, b):\n    return a * 2\n", ["def test_it():\n    assert add(1, 2) == 3\n"
                                                                      "test_it()", "assert add(2, 2) == 4"])
    assert (called.passed, called.total, called.error) == (1, 2, None), called


def test_the_pytest_runner_counts_the_dataset_s_tests_that_ran_and_nothing_else(sandbox):
    # test_solution.py imports the solution with `from solution import *`, so pytest collected the
    # solution's test* functions as tests: MBPP's test_duplicate(arraynums) failed as "fixture
    # 'arraynums' not found" (every right solution lost), and a solution's own self-check counted.
    # And a skipped test (a skipif mark, pytest.skip) or an expected failure (xfail) was counted as
    # a failed test: a right solution failed tests that use pytest's own features.
    solution = ("def test_duplicate(numbers):\n    return len(numbers) != len(set(numbers))\n\n"
                "class TestHelper:\n    def test_x(self):\n        assert False\n\n"
                "def test_own():\n    assert False  # the model's own wrong self-check\n")
    tests = ("import sys\nimport pytest\n\ndef test_one():\n    assert test_duplicate([1, 2, 2])\n\n"
             "def test_two():\n    assert not test_duplicate([1, 2, 3])\n\n"
             "@pytest.mark.skipif(sys.version_info < (99,), reason='later')\ndef test_future():\n    assert False\n\n"
             "@pytest.mark.xfail(reason='known')\ndef test_known():\n    assert test_duplicate([1])\n\n"
             "def test_skip_inside():\n    pytest.skip('not here')\n")
    verdict = run_tests(sandbox, solution, tests, runner="pytest")
    assert (verdict.passed, verdict.total, verdict.error) == (2, 2, None) and verdict.correct, verdict


def test_register_dataset_reads_a_one_shot_iterable_once():
    # A generator or a map object (records.py takes "anything iterable over dicts") registered,
    # then every make failed: the registration's check had used it up ("the dataset 'map' has no
    # records"), or make could not copy it ("cannot pickle 'generator' object").
    rows = [{"question": "1 + 1?", "answer": "2"}, {"question": "2 + 2?", "answer": "4"}]
    for number, source in enumerate(((row for row in rows), map(dict, rows))):
        info = register_dataset(f"explore14/OneShot{number}-v0", source, kind="math", override=True)
        assert info.kwargs["source"] == rows and info.description == "Math problems from 2 records."
        env = agentgym.make(f"explore14/OneShot{number}-v0")
        try:
            assert [problem.answer for problem in env.unwrapped.problems] == ["2", "4"]
        finally:
            env.close()


def test_a_record_whose_level_is_all_does_not_list_all_twice():
    # A record's difficulty 'all' (the name of every level together) was listed as a level of its
    # own: difficulties ('all', 'easy', 'all'), so a sweep over the levels played 'all' twice.
    rows = [{"question": "1 + 1?", "answer": "2", "difficulty": "all"},
            {"question": "2 + 2?", "answer": "4", "difficulty": "easy"}]
    env = DatasetEnv(rows, "math")
    assert env.difficulties == ("all", "easy") and len(env.pool) == 2
    assert len(DatasetEnv(rows, "math", difficulty="easy").pool) == 1


def test_a_test_class_s_class_set_up_runs_once_before_its_tests(sandbox):
    # The asserts runner ran a TestCase's tests without its setUpClass (and a pytest-style class's
    # without setup_class): what they set was missing, and every solution failed every test.
    tests = ("import unittest\n\nclass TestInc(unittest.TestCase):\n    @classmethod\n    def setUpClass(cls):\n"
             "        cls.start = 1\n\n    def test_one(self):\n        self.assertEqual(inc(self.start), 2)\n\n"
             "class TestPlain:\n    @classmethod\n    def setup_class(cls):\n        cls.calls = [0]\n\n"
             "    def test_a(self):\n        self.calls[0] += 1\n        assert inc(self.calls[0]) == 2\n\n"
             "    def test_b(self):\n        self.calls[0] += 1\n        assert inc(self.calls[0]) == 3\n")
    verdict = run_tests(sandbox, INC, tests)
    assert (verdict.passed, verdict.total, verdict.error) == (3, 3, None), verdict
