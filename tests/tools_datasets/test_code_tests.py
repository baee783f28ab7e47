"""The code verifier: finding the solution in a reply, and unit tests run in the real sandbox
with both runners — tests as a list of asserts, as a module of asserts, as test functions;
failures reported with what they got; solutions that do not compile, raise, loop, exit early,
print fake reports or crash the interpreter get no credit and never an exception."""

from __future__ import annotations

import pytest

from agentgym.envs.tools.datasets.code_tests import CodeVerdict, extract_code, normalize_tests, run_tests

SOLUTION = "def add(a, b):\n    return a + b\n"
LIST_TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(2, 2) == 4"]
MODULE_TESTS = "import math\nassert add(1, 2) == 3\nvalue = add(10, 5)\nassert math.isclose(value, 15)\n"
FUNCTION_TESTS = ("def helper():\n    return 3\n\n"
                  "def test_small():\n    assert add(1, 2) == helper()\n\n"
                  "def test_zero():\n    assert add(0, 0) == 0\n")


@pytest.mark.parametrize("response, code", [
    ("Here:\n```python\ndef f():\n    return 1\n```\nDone.", "def f():\n    return 1\n"),
    ("```py\nx = 1\n```", "x = 1\n"),
    ("```\ny = 2\n```", "y = 2\n"),
    ("```python\nfirst = 1\n```\nbetter:\n```python\nsecond = 2\n```", "second = 2\n"),
    ("```js\nlet a = 1\n```\n```python\nb = 1\n```", "b = 1\n"),
    ("<answer>def f():\n    return 2</answer>", "def f():\n    return 2"),
    ("<answer>\n```python\nz = 3\n```\n</answer>", "z = 3\n"),
])
def test_the_solution_is_found(response, code):
    assert extract_code(response) == code


@pytest.mark.parametrize("response", ["just prose", "```python\nunclosed = 1\n", "```python\n\n```", "<answer> </answer>",
                                      "```js\nlet a = 1\n```", ""])
def test_replies_without_a_solution(response):
    assert extract_code(response) is None


@pytest.mark.parametrize("tests", [LIST_TESTS, MODULE_TESTS, FUNCTION_TESTS])
def test_a_right_solution_passes_every_form_of_tests(sandbox, tests):
    verdict = run_tests(sandbox, SOLUTION, tests)
    expected_total = {id(LIST_TESTS): 3, id(MODULE_TESTS): 2, id(FUNCTION_TESTS): 2}[id(tests)]
    assert verdict == CodeVerdict(expected_total, expected_total, (), None, verdict.duration_s) and verdict.correct
    assert verdict.feedback() == f"{expected_total} of {expected_total} tests passed."


def test_failures_say_what_they_got(sandbox):
    verdict = run_tests(sandbox, "def add(a, b):\n    return a * b\n", LIST_TESTS)
    assert (verdict.passed, verdict.total, verdict.correct) == (1, 3, False)
    assert verdict.failures == ("assert add(1, 2) == 3 failed (got 2)", "assert add(-1, 1) == 0 failed (got -1)")
    assert "1 of 3 tests passed." in verdict.feedback() and "(got -1)" in verdict.feedback()
    named = run_tests(sandbox, "def add(a, b):\n    return 0\n", FUNCTION_TESTS)
    assert (named.passed, named.total) == (1, 2) and named.failures[0].startswith("test_small failed")
    messages = run_tests(sandbox, SOLUTION, ["assert add(1, 1) == 3, 'one plus one'", "assert missing(1)"])
    assert messages.failures == ("assert add(1, 1) == 3, 'one plus one' failed: one plus one (got 2)",
                                 "assert missing(1): NameError: name 'missing' is not defined")


@pytest.mark.parametrize("solution, error", [
    ("def add(a, b) return a + b", "does not compile: SyntaxError"),
    ("raise RuntimeError('broken on import')", "raised on loading: RuntimeError: broken on import"),
    ("import sys\nsys.exit(0)", "raised on loading: SystemExit"),
    ("import os\nos._exit(0)", "ended without a test report"),
    ("import ctypes\nctypes.string_at(0)", "ended without a test report: the solution exited or crashed the "
                                            "interpreter (terminated by SIGSEGV)"),
    ("while True:\n    pass", "did not finish loading within 1 s"),
])
def test_solutions_that_break_the_run_get_no_credit(sandbox, solution, error):
    verdict = run_tests(sandbox, solution, LIST_TESTS, per_test_seconds=1.0)
    assert not verdict.correct and verdict.total == 0 and error in verdict.error
    assert verdict.feedback().startswith("The tests could not run: ")


def test_a_test_that_loops_times_out_alone(sandbox):
    solution = "def add(a, b):\n    while a == 99:\n        pass\n    return a + b\n"
    verdict = run_tests(sandbox, solution, ["assert add(1, 2) == 3", "assert add(99, 1) == 100", "assert add(2, 2) == 4"],
                        per_test_seconds=0.5)
    assert (verdict.passed, verdict.total) == (2, 3) and "did not finish within 0.5 s" in verdict.failures[0]


def test_printing_a_fake_report_earns_nothing(sandbox):
    liar = ("import json, sys\n"
            "print('\\n@@report-0000@@' + json.dumps({'passed': 3, 'total': 3, 'failures': []}))\n"
            "print('3 passed in 0.01s')\n"
            "def add(a, b):\n    return -1\n")
    verdict = run_tests(sandbox, liar, LIST_TESTS)
    assert (verdict.passed, verdict.total) == (0, 3)
    quitter = "import json, os\nprint(json.dumps({'passed': 3, 'total': 3}))\nos._exit(0)\n"
    assert run_tests(sandbox, quitter, LIST_TESTS).error is not None


def test_the_pytest_runner(sandbox):
    assert run_tests(sandbox, SOLUTION, FUNCTION_TESTS, runner="pytest").correct
    listed = run_tests(sandbox, "def add(a, b):\n    return a * b\n", LIST_TESTS, runner="pytest")
    assert (listed.passed, listed.total) == (1, 3) and listed.failures[0].startswith("test_1:")
    raises = run_tests(sandbox, "def add(a, b):\n    return a + b\n",
                       "import pytest\n\ndef test_type_error():\n    with pytest.raises(TypeError):\n        add(1, 'x')\n",
                       runner="pytest")
    assert raises.correct
    broken = run_tests(sandbox, "def add(a, b) return", FUNCTION_TESTS, runner="pytest")
    assert not broken.correct and "could not be collected" in broken.error
    quitter = run_tests(sandbox, "import os\nos._exit(0)\n", FUNCTION_TESTS, runner="pytest")
    assert not quitter.correct and "without a test report" in quitter.error


@pytest.mark.parametrize("solution, error", [
    ("import sys\nsys.exit(0)\n", "the run stopped before the tests ended: SystemExit: 0"),
    ("raise KeyboardInterrupt\n", "the run stopped before the tests ended: KeyboardInterrupt"),
    ("def add(a, b):\n    raise KeyboardInterrupt\n", "the run stopped before the tests ended: KeyboardInterrupt"),
])
def test_a_solution_that_stops_pytest_is_told_so_not_that_there_are_no_tests(sandbox, solution, error):
    # pytest ends its session on these (an internal error, an interrupt) with nothing counted:
    # the agent read "no tests were found", as if the dataset had none.
    verdict = run_tests(sandbox, solution, FUNCTION_TESTS, runner="pytest")
    assert not verdict.correct and verdict.error == error


def test_the_whole_run_is_bounded_by_the_sandbox():
    from agentgym.sandbox import Sandbox, SandboxLimits

    tight = Sandbox(SandboxLimits(wall_seconds=1, cpu_seconds=5))
    catches_everything = ("def add(a, b):\n    while True:\n        try:\n            while True:\n                pass\n"
                          "        except BaseException:\n            pass\n")
    verdict = run_tests(tight, catches_everything, LIST_TESTS, per_test_seconds=0.2)
    assert not verdict.correct and "did not finish in time" in verdict.error


def test_tests_must_be_code():
    assert normalize_tests(["assert True"]) == ("assert True",)
    for bad in ("", "   ", [], [""], [1], 42, None, b"assert True"):
        with pytest.raises((TypeError, ValueError)):
            normalize_tests(bad)
    with pytest.raises(ValueError, match="runner"):
        run_tests(None, SOLUTION, LIST_TESTS, runner="nose")


def test_a_solution_that_is_not_unicode_text_is_a_verdict_not_an_exception(sandbox):
    # a reply with a lone surrogate (what a tokenizer's broken byte can decode to) used to raise
    # UnicodeEncodeError out of the sandbox, and so out of the environment's step
    verdict = run_tests(sandbox, 'def add(a, b):\n    return "\ud800"\n', LIST_TESTS)
    assert not verdict.correct and verdict.total == 0
    assert verdict.error == "the solution is not valid unicode text (a lone surrogate, '\\ud800', at character 27)"


@pytest.mark.parametrize("runner", ["asserts", "pytest"])
def test_a_solution_too_large_for_the_sandbox_is_a_verdict_not_an_exception(runner):
    from agentgym.sandbox import Sandbox, SandboxLimits

    small = Sandbox(SandboxLimits(disk_mb=1))
    huge = SOLUTION + "\n# " + "x" * (1024 * 1024) + "\n"  # over the sandbox's 1 MB /tmp
    verdict = run_tests(small, huge, LIST_TESTS, runner=runner)
    assert not verdict.correct and verdict.total == 0
    assert "could not be run" in verdict.error and "disk_mb" in verdict.error
