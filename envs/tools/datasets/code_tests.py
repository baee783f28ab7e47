"""Code answers checked by unit tests run in the sandbox.

:func:`extract_code` finds the solution in a response (the last closed ```` ```python ````,
```` ```py ```` or unlabelled fenced block, else the last ``<answer>...</answer>``), and
:func:`run_tests` runs a dataset's tests against it in a fresh one-shot sandbox
(:meth:`agentgym.sandbox.Sandbox.run_python` / :meth:`~agentgym.sandbox.Sandbox.run`) and
returns a :class:`CodeVerdict`: tests passed, tests run, one line per failure for the agent, or
why the run itself failed.

Tests are Python, in one of these forms:

* a list of strings, each one test (``"assert add(1, 2) == 3"``, MBPP's ``test_list``), or,
  when it only defines test functions (``"def test_add(): ..."``), those tests;
* a string of code: its ``test_*`` functions and the ``test*`` methods of its ``Test*``
  classes are the tests, as pytest collects them (the rest of the module is set-up; a
  ``unittest.TestCase`` runs with its ``setUpClass`` and ``setUp``/``tearDown``, another class
  with ``setup_class`` and ``setup_method``; an ``async`` test runs to its end, under either
  runner), or, without any, each top-level ``assert`` statement is a test and the other
  statements are set-up run in order (HumanEval-style ``check`` functions can be written as
  ``def test_check(): check(candidate)``).

Two runners:

* ``"asserts"`` (default, ~0.1 s): a small harness executes the solution, then each test in
  the solution's namespace, each under ``per_test_seconds``; a failing ``assert x == y`` reports
  the value it got.
* ``"pytest"``: ``pytest`` in the sandbox (plugin autoload off, ~0.25 s) over ``solution.py``
  and ``test_solution.py`` (``from solution import *`` then the tests), for tests that use
  fixtures or ``pytest.raises``. Only the dataset's tests are collected, not the solution's own
  ``test*`` functions (MBPP's ``test_duplicate`` is the function asked for); a skipped test or
  an expected failure (``xfail``) is not counted.

Either way the result is read from a report line tagged with a random nonce that the harness
reads from stdin before the solution runs, so a solution that prints "5 passed" or exits early
gets no credit. The report is bounded (at most :data:`MAX_FAILURES` failures of
:data:`FAILURE_CHARS` characters) and comes before anything else the run prints (the asserts
harness sends the solution's stdout to ``/dev/null``; pytest prints its failure details after
it), so the sandbox's output cap never cuts it off, however much a solution prints. This
guards against accidents and naive tricks, not against code written to subvert the harness
from inside its own process (it runs there: a determined program could find the nonce in
memory); the sandbox keeps the host safe either way.
"""

from __future__ import annotations

import ast
import io
import json
import re
import secrets
import tokenize
from dataclasses import dataclass
from typing import Any, Sequence

RUNNERS = ("asserts", "pytest")
#: Failures listed in a report (the rest are counted).
MAX_FAILURES = 5
FAILURE_CHARS = 240

_FENCE_LINE = re.compile(r"^[ \t]*(`{3,})[ \t]*([^\n`]*?)[ \t]*$", re.MULTILINE)
_PYTHON_LABELS = ("python", "python3", "py", "")
_ANSWER = re.compile(r"<answer>((?:(?!<answer>).)*?)</answer>", re.IGNORECASE | re.DOTALL)


def extract_code(response: str) -> str | None:
    """The solution in ``response``: the last closed fenced block labelled ``python``/``py``
    or unlabelled, else the content of the last ``<answer>...</answer>``; ``None`` when there
    is none or it is blank. Windows line ends (CRLF) read as ``\\n``."""
    if not isinstance(response, str):
        return None
    response = response.replace("\r\n", "\n")
    blocks = _python_blocks(response)
    if blocks:
        return blocks[-1]
    tagged = [body for body in _ANSWER.findall(response) if body.strip()]
    if tagged:
        body = tagged[-1].strip("\n")
        inner = _python_blocks(body)
        return inner[-1] if inner else body
    return None


def _python_blocks(text: str) -> list[str]:
    """The non-blank bodies of the closed fenced blocks labelled python/py or unlabelled (a
    block opens at a fence line of three or more backticks with any label and closes at the next
    bare fence line at least as long); an indented fence's indentation is removed from its
    lines, as markdown does (a block in a list)."""
    if "```" not in text:
        return []
    fences = list(_FENCE_LINE.finditer(text))
    blocks, index = [], 0
    while index < len(fences):
        opening = fences[index]
        ticks = len(opening.group(1))
        closing = next((k for k in range(index + 1, len(fences))
                        if not fences[k].group(2) and len(fences[k].group(1)) >= ticks), None)
        if closing is None:
            break
        body = text[opening.end() + 1:fences[closing].start()]
        indent = len(opening.group()) - len(opening.group().lstrip(" \t"))
        if indent:
            body = re.sub(r"(?m)^[ \t]{1,%d}" % indent, "", body)
        if opening.group(2).lower() in _PYTHON_LABELS and body.strip():
            blocks.append(body)
        index = closing + 1
    return blocks


@dataclass(frozen=True)
class CodeVerdict:
    """The outcome of one test run.

    Attributes:
        passed: tests that passed.
        total: tests that ran (0 when the run failed before any).
        failures: one line per failed test (at most :data:`MAX_FAILURES`), for the agent.
        error: why the run itself failed (the solution does not compile or raises on import,
            the run timed out or ended without a report), else ``None``.
        duration_s: wall-clock seconds of the sandboxed run.
    """

    passed: int
    total: int
    failures: tuple[str, ...] = ()
    error: str | None = None
    duration_s: float = 0.0

    @property
    def correct(self) -> bool:
        """Every test ran and passed (and there was at least one)."""
        return self.error is None and self.total > 0 and self.passed == self.total

    def feedback(self) -> str:
        """What the agent reads about this run."""
        if self.error is not None:
            return f"The tests could not run: {self.error}"
        lines = [f"{self.passed} of {self.total} tests passed."]
        lines += [f"- {failure}" for failure in self.failures]
        hidden = self.total - self.passed - len(self.failures)
        if hidden > 0:
            lines.append(f"(and {hidden} more failed)")
        return "\n".join(lines)


def normalize_tests(tests: Any) -> str | tuple[str, ...]:
    """A dataset's tests as a string of code or a tuple of test strings; TypeError/ValueError
    naming the problem otherwise -- tests that do not compile, or a string that holds no test
    (no ``test*`` function, ``Test*`` class or top-level ``assert``: HumanEval's ``check``
    alone) included: no solution could pass them. A numpy array of strings (a list column's
    cell read by pandas.read_parquet) is a list."""
    if hasattr(tests, "tolist") and hasattr(tests, "ndim"):  # a numpy array
        tests = tests.tolist()
    if isinstance(tests, str):
        if not tests.strip():
            raise ValueError("the tests are empty")
        _check_compiles(tests, "the tests do")
        _check_holds_a_test(tests)
        return tests
    if isinstance(tests, Sequence) and not isinstance(tests, (bytes, bytearray)):
        items = tuple(tests)
        if not items or not all(isinstance(item, str) and item.strip() for item in items):
            raise ValueError("tests given as a list must be non-empty strings of code")
        for number, item in enumerate(items, start=1):
            _check_compiles(item, f"test {number} does")
        return items
    raise TypeError(f"tests must be a string of code or a list of strings, not {type(tests).__name__}")


def _check_compiles(code: str, subject: str) -> None:
    """ValueError ``"<subject> not compile: ..."`` when ``code`` is not Python."""
    try:
        compile(code, "<tests>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise ValueError(f"{subject} not compile: SyntaxError: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, UnicodeEncodeError, MemoryError, RecursionError) as exc:  # NUL bytes, lone surrogates
        raise ValueError(f"{subject} not compile: {exc}") from None


def _check_holds_a_test(tests: str) -> None:
    """ValueError when the string of tests defines no test for either runner."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # compiled, but too deep for Python's AST
        return
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    if any(isinstance(node, ast.Assert) or (isinstance(node, functions) and node.name.startswith("test"))
           or (isinstance(node, ast.ClassDef) and node.name.startswith("Test")) for node in tree.body):
        return
    defined = [node.name for node in tree.body if isinstance(node, functions)]
    hint = (f"; to run {defined[0]}(...), add a test that calls it: def test_{defined[0]}(): "
            f"{defined[0]}(<the function>)" if defined else "")
    raise ValueError("the tests hold no test (no test_* function, Test* class or top-level assert)" + hint)


def run_tests(sandbox: Any, solution: str, tests: str | Sequence[str], *, runner: str = "asserts",
              per_test_seconds: float = 5.0) -> CodeVerdict:
    """Run ``tests`` against ``solution`` in a fresh run of ``sandbox`` (an
    :class:`~agentgym.sandbox.Sandbox`; its limits bound the whole run). Never raises for
    anything the solution does."""
    if runner not in RUNNERS:
        raise ValueError(f"runner must be one of {RUNNERS}, got {runner!r}")
    if not isinstance(solution, str):
        raise TypeError(f"solution must be a str, not {type(solution).__name__}")
    tests = normalize_tests(tests)
    try:
        solution.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate: no file can hold it as text
        return CodeVerdict(0, 0, (), f"the solution is not valid unicode text (a lone surrogate, "
                                     f"{solution[error.start]!r}, at character {error.start})")
    nonce = "@@report-" + secrets.token_hex(16) + "@@"
    try:
        if runner == "asserts":
            tests_json = json.dumps(tests if isinstance(tests, str) else list(tests))
            files = {"solution.py": solution, "tests.json": tests_json}
            result = sandbox.run_python(_bounded(_HARNESS).replace("PER_TEST_SECONDS", repr(float(per_test_seconds))),
                                        files=files, stdin=nonce + "\n")
        else:
            files = {"solution.py": solution, "test_solution.py": _pytest_module(tests),
                     "run_pytest.py": _bounded(_PYTEST_RUNNER)}
            result = sandbox.run(["python", "run_pytest.py"], files=files, stdin=nonce + "\n")
    except ValueError as error:  # the files the solution makes do not fit the sandbox (its disk_mb)
        return CodeVerdict(0, 0, (), f"the solution could not be run: {error}")
    return _read_report(result, nonce)


def _bounded(script: str) -> str:
    """A runner's script with the report's bounds filled in."""
    return script.replace("KEEP_FAILURES", str(MAX_FAILURES)).replace("FAILURE_CHARS", str(FAILURE_CHARS))


# The head of test_solution.py: the solution's names, and pytest told not to collect the solution's
# own test* functions and Test* classes (MBPP's test_duplicate(arraynums) is the function asked for;
# a chat model's self-check is not one of the dataset's tests).
_PYTEST_HEADER = """from solution import *  # noqa: F401,F403
import solution as __solution

for __name, __value in vars(__solution).items():
    if __name.startswith(("test", "Test")) and globals().get(__name) is __value:
        try:
            __value.__test__ = False
        except (AttributeError, TypeError):
            pass

"""


def _pytest_module(tests: str | tuple[str, ...]) -> str:
    header = _PYTEST_HEADER
    if isinstance(tests, str):
        return header + tests + "\n"
    functions = [test if _defines_tests(test) else f"def test_{number}():\n" + _indented(test)
                 for number, test in enumerate(tests, start=1)]
    return header + "\n\n".join(functions)


def _defines_tests(test: str) -> bool:
    """Whether a listed test only defines things, test functions or classes among them
    (``def test_x(): ...``): they are its tests, run as they are, not a block of code whose
    definitions are never called."""
    try:
        tree = ast.parse(test)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    definitions = (*functions, ast.ClassDef, ast.Import, ast.ImportFrom)
    return all(isinstance(node, definitions) for node in tree.body) and any(
        (isinstance(node, functions) and node.name.startswith("test"))
        or (isinstance(node, ast.ClassDef) and node.name.startswith("Test")) for node in tree.body)


def _indented(test: str) -> str:
    """``test`` as a function's body: its lines indented, but not those that continue a string
    (a multi-line or backslash-continued literal), whose text would change."""
    test = test.replace("\r\n", "\n").replace("\r", "\n")  # as Python reads a source file
    inside: set[int] = set()
    starts: list[int] = []  # open f-strings (Python 3.12 tokenizes their parts)
    try:
        for token in tokenize.generate_tokens(io.StringIO(test).readline):
            if token.type == getattr(tokenize, "FSTRING_START", None):
                starts.append(token.start[0])
            elif token.type == getattr(tokenize, "FSTRING_END", None) and starts:
                inside.update(range(starts.pop() + 1, token.end[0] + 1))
            elif token.type == tokenize.STRING:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):  # compiled already: cannot happen, but never fail here
        pass
    lines = test.split("\n")
    return "".join(("" if number in inside else "    ") + line + "\n" for number, line in enumerate(lines, start=1))


def _read_report(result: Any, nonce: str) -> CodeVerdict:
    report = None
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(nonce):
            try:
                report = json.loads(line[len(nonce):])
            except ValueError:
                report = None
            break
    duration = result.duration_s
    if not isinstance(report, dict):
        if result.timed_out:
            error = f"the tests did not finish in time ({result.killed_reason})"
        else:
            why = f" ({result.killed_reason})" if result.killed_reason else ""
            tail = result.stderr.strip()[-FAILURE_CHARS:]
            error = (f"the run ended without a test report: the solution exited or crashed the interpreter{why}"
                     + (f": {tail}" if tail else ""))
        return CodeVerdict(0, 0, (), error, duration)
    if report.get("error"):
        return CodeVerdict(0, 0, (), _clip(str(report["error"])), duration)
    failures = tuple(_clip(str(f)) for f in report.get("failures", [])[:MAX_FAILURES])
    passed, total = int(report.get("passed", 0)), int(report.get("total", 0))
    if total == 0:
        return CodeVerdict(0, 0, (), "no tests were found", duration)
    return CodeVerdict(passed, total, failures, None, duration)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= FAILURE_CHARS else text[:FAILURE_CHARS - 1] + "…"


# The harness of the "asserts" runner: main.py in the sandbox, next to solution.py and tests.json.
_HARNESS = r'''
import ast, json, os, signal, sys, types

NONCE = sys.stdin.readline().strip()
REPORT = os.fdopen(os.dup(1), "w")
# what the solution prints is nobody's: past the output cap it would push the report out
NULL = os.open(os.devnull, os.O_WRONLY)
os.dup2(NULL, 1)
os.close(NULL)
PER_TEST = PER_TEST_SECONDS


def clip(text):
    text = " ".join(str(text).split())
    return text if len(text) <= FAILURE_CHARS else text[:FAILURE_CHARS - 1] + "\u2026"


def finish(result):
    REPORT.write("\n" + NONCE + json.dumps(result) + "\n")
    REPORT.flush()
    os._exit(0)


def describe(exc):
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:400]


class TestTimeout(BaseException):
    pass


def on_alarm(signum, frame):
    raise TestTimeout()


signal.signal(signal.SIGALRM, on_alarm)
namespace = {"__name__": "solution", "__builtins__": __builtins__}
with open("tests.json", encoding="utf-8") as handle:
    tests = json.load(handle)
with open("solution.py", encoding="utf-8") as handle:
    source = handle.read()
try:
    code = compile(source, "solution.py", "exec")
except SyntaxError as exc:
    finish({"error": f"the solution does not compile: SyntaxError: {exc.msg} (line {exc.lineno})"})
except (ValueError, OverflowError) as exc:
    finish({"error": f"the solution does not compile: {describe(exc)}"})
signal.setitimer(signal.ITIMER_REAL, PER_TEST)
try:
    exec(code, namespace)
except TestTimeout:
    finish({"error": f"the solution did not finish loading within {PER_TEST:g} s"})
except BaseException as exc:
    finish({"error": "the solution raised on loading: " + describe(exc)})
finally:
    signal.setitimer(signal.ITIMER_REAL, 0)


def plan(tests):
    """(label, code object -- or the (name, method) of a test function or method -- or None,
    why a test does not compile, is_test) in order."""
    if isinstance(tests, list):
        steps = []
        for number, text in enumerate(tests, start=1):
            try:
                tree = ast.parse(text)
            except SyntaxError as exc:
                steps.append((text, None, f"SyntaxError in the test: {exc.msg}", True))
                continue
            only_definitions = all(isinstance(node, DEFINITIONS) for node in tree.body)
            named = collected(tree) if only_definitions else []
            if named:  # a listed test written as test functions: they are its tests
                steps.append((text, compile(tree, f"<test {number}>", "exec"), None, False))
                steps += [(label, target, None, True) for label, target in named]
                continue
            if len(tree.body) == 1 and isinstance(tree.body[0], ast.Assert):
                tree.body = capturing(tree.body[0])
            steps.append((text, compile(tree, f"<test {number}>", "exec"), None, True))
        return steps
    tree = ast.parse(tests)
    named = collected(tree)
    steps = []
    if named:
        steps.append(("set-up", compile(tree, "<tests>", "exec"), None, False))
        steps += [(label, target, None, True) for label, target in named]
        return steps
    for node in tree.body:
        label = ast.get_source_segment(tests, node) or ast.unparse(node)
        module = ast.Module(body=capturing(node) if isinstance(node, ast.Assert) else [node], type_ignores=[])
        steps.append((label, compile(module, "<tests>", "exec"), None, isinstance(node, ast.Assert)))
    return steps


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def collected(tree):
    """(label, (name, method)) of the tests ``tree`` defines, as pytest collects them: test*
    functions, and test* methods of Test* classes."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    named = []
    for node in tree.body:
        if isinstance(node, functions) and node.name.startswith("test"):
            named.append((node.name, (node.name, None)))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            named += [(f"{node.name}.{item.name}", (node.name, item.name)) for item in node.body
                      if isinstance(item, functions) and item.name.startswith("test")]
    return named


CLASSES_SET_UP = set()


def call_test(name, method):
    """Run the test function ``name`` or the test method ``method`` of the class ``name`` (a
    unittest.TestCase with its setUpClass and setUp/tearDown, another class with pytest's
    setup_class and setup_method); an async test runs to its end."""
    target = namespace[name]
    if method is None:
        awaited(target())
        return
    unittest = sys.modules.get("unittest")
    case = unittest is not None and isinstance(target, type) and issubclass(target, unittest.TestCase)
    if name not in CLASSES_SET_UP:  # once per class, before its first test
        CLASSES_SET_UP.add(name)
        class_set_up = getattr(target, "setUpClass" if case else "setup_class", None)
        if class_set_up is not None:
            class_set_up()
    if case:
        target(method).debug()
        return
    instance = target()
    bound = getattr(instance, method)
    if hasattr(instance, "setup_method"):
        instance.setup_method(bound)
    try:
        awaited(bound())
    finally:
        if hasattr(instance, "teardown_method"):
            instance.teardown_method(bound)


def awaited(result):
    if isinstance(result, types.CoroutineType):
        import asyncio

        asyncio.run(result)


GOT = "__agentgym_got__"


def capturing(node):
    """`assert a == b` as `GOT = a; assert GOT == b`: a failure can show what `a` was without
    running it again (a second run can return something else and change the state)."""
    test = node.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return [node]
    keep = ast.Assign(targets=[ast.Name(GOT, ast.Store())], value=test.left)
    check = ast.Assert(test=ast.Compare(ast.Name(GOT, ast.Load()), test.ops, test.comparators), msg=node.msg)
    return [ast.fix_missing_locations(ast.copy_location(new, node)) for new in (keep, check)]


def got():
    """For a failed `assert a == b`: what `a` was."""
    if GOT not in namespace:
        return ""
    try:
        signal.setitimer(signal.ITIMER_REAL, PER_TEST)
        return f" (got {repr(namespace.pop(GOT))[:120]})"
    except BaseException:
        return ""
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


try:
    steps = plan(tests)
except SyntaxError as exc:
    finish({"error": f"the tests do not compile: {exc.msg} (line {exc.lineno})"})
passed = total = 0
failures = []
for label, code, node, is_test in steps:
    if code is None:
        total += 1
        failures.append(f"{label}: {node}")
        continue
    label = " ".join(label.split())[:160]
    namespace.pop(GOT, None)
    try:
        signal.setitimer(signal.ITIMER_REAL, PER_TEST)
        if isinstance(code, tuple):
            call_test(*code)
        else:
            exec(code, namespace)
        signal.setitimer(signal.ITIMER_REAL, 0)
        if is_test:
            total += 1
            passed += 1
    except TestTimeout:
        total += 1
        failures.append(f"{label}: did not finish within {PER_TEST:g} s")
    except AssertionError as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        total += 1
        message = f": {exc}" if str(exc) else ""
        failures.append(f"{label} failed{message}{got()}")
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if not is_test:
            finish({"error": f"the tests' set-up raised: {describe(exc)}"})
        total += 1
        failures.append(f"{label}: {describe(exc)}")
finish({"passed": passed, "total": total, "failures": [clip(failure) for failure in failures[:KEEP_FAILURES]]})
'''

# The pytest runner: reads the nonce before pytest (and so the solution) is imported, runs pytest
# with a plugin object that counts the outcomes, and writes the tagged report when it ends.
_PYTEST_RUNNER = r'''
import json, os, sys

NONCE = sys.stdin.readline().strip()
REPORT = os.fdopen(os.dup(1), "w")
os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"

import asyncio, inspect

import pytest


def clip(text):
    text = " ".join(str(text).split())
    return text if len(text) <= FAILURE_CHARS else text[:FAILURE_CHARS - 1] + "\u2026"


class Outcomes:
    def __init__(self):
        self.results = {"passed": 0, "total": 0, "failures": [], "error": None}

    def pytest_runtest_logreport(self, report):
        results = self.results
        if report.skipped:  # a skip or an expected failure (xfail): no test that passed or failed
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            results["total"] += 1
            if report.passed:
                results["passed"] += 1
            elif len(results["failures"]) < KEEP_FAILURES:
                lines = [line[1:].strip() for line in str(report.longreprtext).splitlines() if line.startswith("E ")]
                results["failures"].append(clip(f"{report.nodeid.split('::')[-1]}: " + " ".join(lines[:2])))

    # no asyncio plugin here: an async test runs to its end, as the asserts runner runs it
    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        if not inspect.iscoroutinefunction(pyfuncitem.obj):
            return None
        arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**arguments))
        return True

    def pytest_collectreport(self, report):
        if report.failed:
            text = str(report.longreprtext).strip().splitlines()
            self.results["error"] = clip("the tests could not be collected: " + (text[-1] if text else "error"))

    # pytest ends the session on these (the solution's sys.exit while it is imported, a
    # KeyboardInterrupt it raises) with nothing counted: say why, not "no tests were found".
    def pytest_internalerror(self, excrepr, excinfo):
        self.stopped(excinfo)

    def pytest_keyboard_interrupt(self, excinfo):
        self.stopped(excinfo)

    def stopped(self, excinfo):
        if self.results["error"] is None:
            text = f"{excinfo.typename}: {excinfo.value}" if str(excinfo.value) else excinfo.typename
            self.results["error"] = "the run stopped before the tests ended: " + text[:300]

    def pytest_sessionfinish(self, session, exitstatus):
        REPORT.write("\n" + NONCE + json.dumps(self.results) + "\n")
        REPORT.flush()


sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "test_solution.py"], plugins=[Outcomes()]))
'''
