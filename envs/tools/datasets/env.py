"""Dataset-backed tasks: any file of problems becomes an environment with a verifier.

``DatasetEnv(source, kind="math" | "code")`` draws one problem per episode from ``source`` (a
JSONL / JSON / Parquet file, a Hugging Face ``datasets`` dataset, a list of dicts; see
:mod:`~agentgym.envs.tools.datasets.records`) and checks the agent's reply:

* ``kind="math"``: the final answer (``\\boxed{...}``, ``<answer>...</answer>``, an ``Answer:``
  line or a one-line reply) is compared with the reference by equivalence
  (:mod:`~agentgym.envs.tools.datasets.math_answers`: ``0.5`` = ``\\frac{1}{2}``,
  ``(x+2)(x+3)`` = ``x^2+5x+6``...). A reply without a final answer is an invalid action.
* ``kind="code"``: the solution (the last ```` ```python ```` block, or ``<answer>...</answer>``)
  runs against the problem's unit tests in a fresh sandbox
  (:mod:`~agentgym.envs.tools.datasets.code_tests`). A reply without code is an invalid action.

Reward ``outcome`` 1 when the reply is correct, else 0. With ``max_attempts`` > 1 the episode is
multi-turn: a wrong reply gets feedback (the answer found, or which tests failed and what they
got) and another try, until it is right or the attempts are used up; the outcome is 1 for a
right answer at any attempt (``info["attempt"]`` says which).

With ``tools=True`` the agent also has a sandboxed Python interpreter for the episode
(:class:`~agentgym.tools.PythonSandbox`, at most ``code_runs`` runs): ``<python>code</python>``
or a tool call (and, for math, a ```` ```python ```` block; for code, fenced blocks are the
submission, so only ``<python>`` and tool calls run code). An action that runs code submits
nothing.

Episodes draw problems with the seeded generator; ``reset(options={"index": i})`` plays the
``i``-th problem of the level instead (evaluating a whole dataset). Levels: ``"all"`` plus every
value of the records' ``difficulty`` field (``easy``/``medium``/``hard`` first; a record whose
level is ``"all"`` is in ``"all"`` only).

Baselines: the oracle answers the reference (math) or submits the record's ``solution``
(code; a dataset without solutions has no code oracle); the random agent answers another
problem's answer or solution, or a random number.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from agentgym.core import ConfigError, Feedback, InvalidAction, LLMEnv, check_int, check_number, is_int
from agentgym.envs.tools.datasets.code_tests import RUNNERS, CodeVerdict, extract_code, run_tests
from agentgym.envs.tools.datasets.math_answers import equivalent, extract_final_answer
from agentgym.envs.tools.datasets.records import KINDS, Fields, Problem, load_problems
from agentgym.envs.tools.python.env import sandbox_argument, sandbox_limits
from agentgym.tools import PythonSandbox

_LEVEL_ORDER = ("easy", "medium", "hard")
#: The sandbox limits of a test run or a code run, unless ``limits`` says otherwise.
DEFAULT_LIMITS: dict[str, Any] = {"cpu_seconds": 10, "wall_seconds": 20, "memory_mb": 1024, "output_chars": 8_000}


class DatasetEnv(LLMEnv):
    """Problems from a dataset, checked by a verifier (see the module docstring).

    Args:
        source: a path (``.jsonl``, ``.json``, ``.parquet``, a ``save_to_disk`` folder), a list
            of dicts, or a ``datasets.Dataset``.
        kind: ``"math"`` (answers by equivalence) or ``"code"`` (unit tests in the sandbox).
        difficulty: ``"all"`` (default) or one of the records' ``difficulty`` values.
        question_field, answer_field, tests_field, solution_field, id_field, difficulty_field:
            the names of the records' fields (:class:`~agentgym.envs.tools.datasets.records.Fields`).
        split: the split of a ``DatasetDict`` or saved dataset with several.
        max_attempts: replies per episode (1: single-turn; more: retries with feedback).
        tools: give the agent a sandboxed Python interpreter for the episode.
        code_runs: its runs per episode (with ``tools``).
        runner: how code is tested: ``"asserts"`` (fast harness) or ``"pytest"``.
        per_test_seconds: time limit of one test (``asserts`` runner).
        rel_tol: relative tolerance for answers written with a decimal point (math).
        limits: sandbox limits (a ``SandboxLimits`` or a dict of its fields) of a test run and of
            a code run; default :data:`DEFAULT_LIMITS`, whose values the fields a dict leaves out
            keep.
        sandbox: a :class:`~agentgym.sandbox.Sandbox` to use instead (then no ``limits``).
        isolation: ``"bubblewrap"`` or the weaker ``"rlimits"``.
        **kwargs: :class:`~agentgym.core.LLMEnv`'s.

    A source that cannot be read, or a record without the fields ``kind`` needs, is a
    :class:`~agentgym.core.ConfigError` here; ``reset`` raises
    :class:`~agentgym.sandbox.SandboxUnavailable` when code must run and the sandbox cannot work
    on this machine.
    """

    family: ClassVar[str] = "tools"
    #: Arguments that reach the host (see LLMEnv.host_arguments): the file or dataset read, the
    #: sandbox and its isolation and limits.
    host_arguments: ClassVar[frozenset[str]] = frozenset({"source", "sandbox", "isolation", "limits"})
    difficulties: ClassVar[tuple[str, ...]] = ("all",)  # an instance's own: "all" and its data's levels

    def __init__(self, source: Any, kind: str = "math", difficulty: str | None = None, *,
                 question_field: str = "question", answer_field: str = "answer", tests_field: str = "tests",
                 solution_field: str = "solution", id_field: str = "id", difficulty_field: str = "difficulty",
                 split: str | None = None, max_attempts: int = 1, tools: bool = False, code_runs: int = 5,
                 runner: str = "asserts", per_test_seconds: float = 5.0, rel_tol: float = 1e-6,
                 limits: Any = None, sandbox: Any = None, isolation: str = "bubblewrap", **kwargs: Any) -> None:
        owner = type(self).__name__
        if kind not in KINDS:
            raise ConfigError(f"{owner}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        fields = Fields(question_field, answer_field, tests_field, solution_field, id_field, difficulty_field)
        self.problems = load_problems(source, kind, fields, split=split)
        levels = {p.level for p in self.problems if p.level is not None}
        self.difficulties = ("all", *[lvl for lvl in _LEVEL_ORDER if lvl in levels],
                             *sorted(levels - {"all", *_LEVEL_ORDER}))  # a record's "all" is in "all"
        super().__init__("all" if difficulty is None else difficulty, **kwargs)
        self.kind = kind
        self.pool = tuple(p for p in self.problems if self.difficulty in ("all", p.level))
        self.max_attempts = check_int(owner, "max_attempts", max_attempts, minimum=1)
        if not isinstance(tools, bool):
            raise ConfigError(f"{owner}: tools must be true or false, got {tools!r}")
        self.code_runs = check_int(owner, "code_runs", code_runs, minimum=0)
        if runner not in RUNNERS:
            raise ConfigError(f"{owner}: runner must be one of {', '.join(RUNNERS)}, got {runner!r}")
        self.runner = runner
        self.per_test_seconds = check_number(owner, "per_test_seconds", per_test_seconds, minimum=0.01)
        self.rel_tol = check_number(owner, "rel_tol", rel_tol, minimum=0.0)
        sandbox_argument(owner, sandbox, isolation)
        if sandbox is not None and (limits is not None or isolation != "bubblewrap"):
            raise ConfigError(f"{owner}: pass either sandbox= or limits=/isolation=, not both")
        self._limits = (None if sandbox is not None
                        else sandbox_limits(owner, {} if limits is None else limits, DEFAULT_LIMITS))
        self._isolation = isolation
        self._sandbox = sandbox
        self.python_sandbox: PythonSandbox | None = None
        if tools:
            self.python_sandbox = PythonSandbox(self._limits, isolation=isolation, max_calls=self.code_runs) \
                if sandbox is None else PythonSandbox(sandbox=sandbox, max_calls=self.code_runs)
            self.toolsets = (self.python_sandbox,)
            self.tool_call_formats = (("python", "python-fenced", "hermes", "openai") if kind == "math"
                                      else ("python", "hermes", "openai"))
        self.instructions = self._describe_task(tools)
        self.problem: Problem | None = None
        self.attempts = 0

    def _describe_task(self, tools: bool) -> str:
        if self.kind == "math":
            text = ("Solve the problem. Give your final answer as \\boxed{ANSWER} (or <answer>ANSWER</answer>); it is "
                    "checked for mathematical equivalence with the expected answer.")
        else:
            text = ("Write a Python solution to the problem in a ```python code block; it is checked by running unit "
                    "tests against it in a sandbox.")
        if tools:
            text += (f" You can run Python code {self.code_runs} times first, in a sandbox, with <python>...</python>: "
                     "you will see what it prints (variables persist during the episode); an action that runs code "
                     "submits nothing.")
        if self.max_attempts > 1:
            text += f" You have {self.max_attempts} attempts; after a wrong one you are told what went wrong."
        else:
            text += " You have one attempt."
        return text + " Reward 1 if it is correct, else 0."

    # ------------------------------------------------------------------ episode
    def acquire_resources(self) -> None:
        if self.kind == "code":
            self.check_sandbox  # noqa: B018 - SandboxUnavailable now, at reset, naming the cause

    @property
    def check_sandbox(self) -> Any:
        """The sandbox the tests run in (the one given, else built on first use)."""
        if self._sandbox is None:
            if self.python_sandbox is not None:
                self._sandbox = self.python_sandbox.sandbox
            else:
                from agentgym.sandbox import Sandbox, SandboxUnavailable

                try:
                    self._sandbox = Sandbox(self._limits, isolation=self._isolation)
                except SandboxUnavailable as exc:
                    raise SandboxUnavailable(f"{type(self).__name__}: code answers are tested in agentgym.sandbox, "
                                             f"which cannot work on this machine: {exc}") from exc
        return self._sandbox

    def new_episode(self, options: dict[str, Any]) -> str:
        index = options.get("index")
        if index is None:
            self.problem = self.pool[self.rng.randrange(len(self.pool))]
        else:
            if not is_int(index) or not 0 <= index < len(self.pool):
                raise ConfigError(f"{type(self).__name__}.reset: options['index'] must be an integer from 0 to "
                                  f"{len(self.pool) - 1} (the problems of level {self.difficulty!r}), got {index!r}")
            self.problem = self.pool[int(index)]
        self.attempts = 0
        how = ("Give your final answer as \\boxed{...}." if self.kind == "math"
               else "Write your solution in a ```python code block.")
        attempts = f" You have {self.max_attempts} attempts." if self.max_attempts > 1 else ""
        return f"{self.problem.question}\n\n{how}{attempts}"

    def play(self, action: str) -> Feedback:
        if self.kind == "math":
            answer = extract_final_answer(action)
            if answer is None:
                raise InvalidAction("no final answer found: write it as \\boxed{...} or <answer>...</answer>.")
            correct = equivalent(answer, self.problem.answer, rel_tol=self.rel_tol)
            detail = "Correct." if correct else f"Your answer {_clip(answer)} is not correct."
            info: dict[str, Any] = {"answer_found": answer}
        else:
            code = extract_code(action)
            if code is None:
                raise InvalidAction("no code found: write your solution in a ```python code block.")
            verdict: CodeVerdict = run_tests(self.check_sandbox, code, self.problem.tests, runner=self.runner,
                                             per_test_seconds=self.per_test_seconds)
            correct = verdict.correct
            detail = f"All {verdict.total} tests passed." if correct else verdict.feedback()
            info = {"tests_passed": verdict.passed, "tests_total": verdict.total, "test_error": verdict.error}
        self.attempts += 1
        info.update(attempt=self.attempts, problem_id=self.problem.id)
        if correct:
            return Feedback(detail, {"outcome": 1.0}, terminated=True, success=True, info=info)
        left = self.max_attempts - self.attempts
        if left > 0:
            return Feedback(f"{detail}\nTry again: {left} attempt{'s' if left > 1 else ''} left.", {}, info=info)
        return Feedback(detail, {"outcome": 0.0}, terminated=True, info=info)

    # ------------------------------------------------------------------ baselines
    @property
    def reference_answer(self) -> str | None:
        if self.problem is None:
            return None
        return self.problem.answer if self.kind == "math" else self.problem.solution

    @property
    def answer_stub(self) -> str:
        return "\\boxed{" if self.kind == "math" else "```python\n"

    def oracle_action(self) -> str:
        """The reference answer (math), or the record's reference solution (code)."""
        if self.kind == "math":
            return f"<answer>{self.problem.answer}</answer>"
        if self.problem.solution is None:
            raise NotImplementedError(f"{type(self).__name__}: problem {self.problem.id!r} has no reference solution "
                                      "(the solution field), so there is no oracle")
        return f"```python\n{self.problem.solution}\n```"

    def random_action(self, rng: random.Random) -> str:
        """Another problem's answer or solution, a random number, or (with tools) a snippet."""
        if self.python_sandbox is not None and rng.random() < 0.25:
            return f"<python>print({rng.randint(2, 999)} ** {rng.randint(2, 30)})</python>"
        other = rng.choice(self.problems)
        if self.kind == "math":
            guess = other.answer if rng.random() < 0.5 else str(rng.randint(-20, 200))
            return f"The answer is \\boxed{{{guess}}}."
        body = other.solution if other.solution and rng.random() < 0.7 else "def solve(*args):\n    return None"
        return f"```python\n{body}\n```"

    def render_text(self) -> str:
        if self.problem is None:
            return "Dataset task: no episode yet"
        return (f"Dataset {self.kind} problem {self.problem.id} ({self.difficulty}), attempt "
                f"{self.attempts}/{self.max_attempts}\n\nLast observation:\n{super().render_text()}")


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")
