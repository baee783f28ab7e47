"""Python tasks: compute an exact answer by running code in a sandbox, then answer.

An episode draws a family (``arithmetic``, ``counting``, ``dates``, ``strings``, or those the
``families`` argument names) and a problem of the level's difficulty
(:mod:`~agentgym.envs.tools.python.tasks`). The agent:

* runs code with ``<python>code</python>``, a ```` ```python ```` fenced block, a Hermes
  ``<tool_call>`` or an OpenAI tool call of the tool ``python(code)``: a persistent,
  sandboxed interpreter per episode (:class:`~agentgym.tools.PythonSandbox`; variables stay
  between runs; no network; per-run time, memory and output limits). At most ``code_runs``
  runs per episode (:data:`CODE_RUNS` by level); past them the tool answers an error. A run
  that crashes, loops past the time limit or floods its output is an observation.
* answers with ``<answer>ANSWER</answer>`` (or ``\\boxed{ANSWER}``) in an action without code.
  Without either, a one-line reply counts as the answer when it has the task's form (an
  integer, a weekday, a ``YYYY-MM-DD`` date), with an optional ``Answer:`` (or ``**Answer:**``)
  prefix; string puzzles need the tag. The first answer ends the episode: reward ``outcome`` 1
  when it is exactly right (integers may carry thousands separators, weekdays any case or a
  three-letter abbreviation, all three ``$``/markdown dressing such as ``$42$`` or ``**42**``;
  strings are compared exactly), else 0.

An action that is neither — prose, an empty or unclosed ``<answer>`` tag, a one-line reply
that is not an answer of the task's form — is an invalid action (``info["error"]``): the
episode goes on. Malformed code markup (an unclosed or empty ``<python>`` block, nested
blocks, two call formats in one action) is a ``Tool call error`` observation from the
:class:`~agentgym.wrappers.ToolCalling` wrapper, which ``agentgym.make`` adds. The registered
``tools/Python-v0`` bounds the episode at 16 turns (code runs, answers and invalid actions all
count).

Baselines: the oracle runs the task's program, then answers what it printed (with no code run
left, the answer itself); the random agent runs small unrelated snippets and guesses answers of
the right form.
"""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar, Sequence

from agentgym.core import ConfigError, Feedback, InvalidAction, LLMEnv, check_int
from agentgym.envs.tools.python.tasks import FAMILIES, WEEKDAYS, Task, generate_task, normalize_answer
from agentgym.tools import PythonSandbox

#: Code runs per episode at each level.
CODE_RUNS = {"easy": 3, "medium": 4, "hard": 5}
#: The sandbox limits of one code run, unless ``limits`` says otherwise.
DEFAULT_LIMITS: dict[str, Any] = {"cpu_seconds": 10, "wall_seconds": 15, "memory_mb": 1024, "output_chars": 8_000}

_ANSWER = re.compile(r"<answer>((?:(?!<answer>).)*?)</answer>", re.IGNORECASE | re.DOTALL)
_ANSWER_TAG = re.compile(r"</?answer>", re.IGNORECASE)
_PREFIX = re.compile(r"^[*_]*(?:the\s+)?(?:final\s+)?answer[*_]*\s*(?:is)?\s*[:=]?[*_]*\s*", re.IGNORECASE)
_FORM = {"integer": "an integer", "weekday": "the name of a day of the week", "date": "a date as YYYY-MM-DD",
         "text": "the resulting string"}


class PythonTasksEnv(LLMEnv):
    """Exact-answer problems solved with a sandboxed Python interpreter (see the module docstring).

    Args:
        difficulty: ``easy``, ``medium`` or ``hard`` (bigger numbers, longer strings, wider
            date ranges, multi-step problems).
        families: ``"all"``, one family name, or a list of them (:data:`FAMILIES`).
        code_runs: code runs per episode; ``None``: :data:`CODE_RUNS` of the level.
        limits: the sandbox limits of one run: a :class:`~agentgym.sandbox.SandboxLimits` or a
            dict of its fields (default :data:`DEFAULT_LIMITS`, whose values the fields a dict
            leaves out keep).
        sandbox: an :class:`~agentgym.sandbox.Sandbox` to run in instead (shared between
            environments; then ``limits`` and ``isolation`` are not given).
        isolation: ``"bubblewrap"`` (default) or the weaker ``"rlimits"``.
        **kwargs: :class:`~agentgym.core.LLMEnv`'s (``invalid_penalty``, ``max_action_chars``...).

    ``reset`` raises :class:`~agentgym.sandbox.SandboxUnavailable` (naming the cause and the
    fix) when the sandbox cannot work on this machine.
    """

    family: ClassVar[str] = "tools"
    #: Arguments that reach the host (see LLMEnv.host_arguments): the sandbox and its isolation and limits.
    host_arguments: ClassVar[frozenset[str]] = frozenset({"sandbox", "isolation", "limits"})
    difficulties: ClassVar[tuple[str, ...]] = ("easy", "medium", "hard")
    tool_call_formats: ClassVar[tuple[str, ...]] = ("python", "python-fenced", "hermes", "openai")

    def __init__(self, difficulty: str | None = None, *, families: str | Sequence[str] = "all",
                 code_runs: int | None = None, limits: Any = None, sandbox: Any = None,
                 isolation: str = "bubblewrap", **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        self.families = _check_families(owner, families)
        if code_runs is None:
            code_runs = CODE_RUNS[self.difficulty]
        self.code_runs = check_int(owner, "code_runs", code_runs, minimum=0)
        if sandbox_argument(owner, sandbox, isolation) is None:
            limits = sandbox_limits(owner, {} if limits is None else limits, DEFAULT_LIMITS)
            self.python_sandbox = PythonSandbox(limits, isolation=isolation, max_calls=self.code_runs)
        else:
            if limits is not None or isolation != "bubblewrap":
                raise ConfigError(f"{owner}: pass either sandbox= or limits=/isolation=, not both")
            self.python_sandbox = PythonSandbox(sandbox=sandbox, max_calls=self.code_runs)
        self.toolsets = (self.python_sandbox,)
        self.instructions = (
            "Solve the problem exactly. Python runs in a sandbox: put code inside <python>...</python> (or a "
            "```python fenced block, or a call of the python tool) and you will see what it prints; variables "
            f"persist during the episode. You may run code {self.code_runs} times. When you know the answer, reply "
            "with <answer>ANSWER</answer> in a message without code. Your first answer ends the episode: reward 1 "
            "if it is exactly right, else 0."
        )
        self.task: Task | None = None

    # ------------------------------------------------------------------ episode
    def new_episode(self, options: dict[str, Any]) -> str:
        family = self.rng.choice(self.families)
        self.task = generate_task(self.rng, self.difficulty, family)
        runs = f"{self.code_runs} code run{'s' if self.code_runs != 1 else ''}"
        return (f"{self.task.question}\n\nYou have {runs}: <python>...</python>. "
                "Give your final answer as <answer>...</answer>.")

    def play(self, action: str) -> Feedback:
        answer = self._extract(action)
        task = self.task
        normalized = normalize_answer(task.kind, answer)
        correct = normalized is not None and normalized == task.answer
        info = {"task_family": task.family, "task_shape": task.shape, "answer_well_formed": normalized is not None}
        if correct:
            return Feedback("Correct.", {"outcome": 1.0}, terminated=True, success=True, info=info)
        form = "" if normalized is not None else f" (it is not {_FORM[task.kind]})"
        return Feedback(f"Wrong answer{form}.", {"outcome": 0.0}, terminated=True, info=info)

    def _extract(self, action: str) -> str:
        """The answer in ``action``; :class:`InvalidAction` when it holds none."""
        from agentgym.envs.tools.datasets.math_answers import last_boxed

        tagged = _ANSWER.findall(action)
        if tagged:
            answer = tagged[-1]
            if not answer.strip():
                raise InvalidAction("the <answer> tag is empty: write your answer between <answer> and </answer>.")
            return answer
        if _ANSWER_TAG.search(action):
            raise InvalidAction("the <answer> tag is not closed: write <answer>ANSWER</answer>.")
        boxed = last_boxed(action)
        if boxed is not None and boxed.strip():
            return boxed
        lines = [line for line in action.strip().splitlines() if line.strip()]
        if len(lines) == 1 and self.task.kind != "text":
            candidate = _PREFIX.sub("", lines[0].strip())
            if normalize_answer(self.task.kind, candidate) is not None:
                return candidate
        raise InvalidAction(f"no answer found: run code with <python>...</python>, or answer with "
                            f"<answer>...</answer> ({_FORM[self.task.kind]}).")

    # ------------------------------------------------------------------ baselines
    @property
    def reference_answer(self) -> str | None:
        return None if self.task is None else self.task.answer

    @property
    def answer_stub(self) -> str:
        return "<answer>"

    def oracle_action(self) -> str:
        """Runs the task's program, then answers what it printed; with no code run left (none
        allowed, or the agent's used up) answers the task's answer."""
        last = self.python_sandbox.last_result
        if last is not None and self.python_sandbox.last_code == self.task.program and last.stdout.strip():
            return f"<answer>{last.stdout.strip()}</answer>"
        if self.python_sandbox.calls >= self.code_runs:
            return f"<answer>{self.task.answer}</answer>"
        return f"<python>\n{self.task.program}\n</python>"

    def random_action(self, rng: random.Random) -> str:
        """Half the time a small unrelated snippet of code, else a guess of the answer's form."""
        if self.task is None:
            return "<answer>0</answer>"
        if rng.random() < 0.5:
            a, b = rng.randint(2, 10**6), rng.randint(2, 10**6)
            return rng.choice((
                f"<python>print({a} * {b})</python>",
                f"<python>x = {a}\nprint(sum(range(x)) % {b})</python>",
                f"```python\nimport math\nprint(math.factorial({a % 30}))\n```",
                f"<python>print(sorted('{_letters(rng, 12)}'))</python>",
            ))
        kind = self.task.kind
        if kind == "integer":
            guess = str(rng.randint(0, 10 ** rng.randint(1, 9)))
        elif kind == "weekday":
            guess = rng.choice(WEEKDAYS)
        elif kind == "date":
            guess = f"{rng.randint(1600, 2400):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        else:
            guess = _letters(rng, rng.randint(5, 60))
        return f"<answer>{guess}</answer>"

    def render_text(self) -> str:
        if self.task is None:
            return "Python task: no episode yet"
        return (f"Python task {self.task.family}/{self.task.shape} ({self.difficulty}), "
                f"code runs {self.python_sandbox.calls}/{self.code_runs}\n\nLast observation:\n{super().render_text()}")


def _letters(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(length))


def _check_families(owner: str, families: Any) -> tuple[str, ...]:
    if families == "all":
        return FAMILIES
    chosen = (families,) if isinstance(families, str) else families
    if not isinstance(chosen, (list, tuple)) or not chosen or any(f not in FAMILIES for f in chosen):
        raise ConfigError(f"{owner}: families must be 'all', one of {', '.join(FAMILIES)}, or a non-empty list "
                          f"of them, got {families!r}")
    return tuple(dict.fromkeys(chosen))


def sandbox_argument(owner: str, sandbox: Any, isolation: str = "bubblewrap") -> Any:
    """``sandbox`` when it is ``None`` or an :class:`~agentgym.sandbox.Sandbox`, and
    ``isolation`` one the sandbox knows; ConfigError otherwise (now, not at the first code run)."""
    from agentgym.sandbox import Sandbox
    from agentgym.sandbox.sandbox import ISOLATIONS

    if sandbox is not None and not isinstance(sandbox, Sandbox):
        raise ConfigError(f"{owner}: sandbox must be an agentgym.sandbox.Sandbox, not {type(sandbox).__name__}")
    if isolation not in ISOLATIONS:
        raise ConfigError(f"{owner}: isolation must be one of {', '.join(ISOLATIONS)}, got {isolation!r}")
    return sandbox


def sandbox_limits(owner: str, limits: Any, defaults: dict[str, Any] | None = None) -> Any:
    """``limits`` (a SandboxLimits, or a dict of its fields: those it leaves out keep their value
    in ``defaults``, the environment's own limits) as a SandboxLimits; ConfigError naming the
    problem otherwise."""
    from agentgym.sandbox import SandboxLimits

    if isinstance(limits, SandboxLimits):
        return limits
    if not isinstance(limits, dict):
        raise ConfigError(f"{owner}: limits must be a SandboxLimits or a dict of its fields, got {limits!r}")
    try:
        return SandboxLimits(**{**(defaults or {}), **limits})
    except TypeError as exc:
        raise ConfigError(f"{owner}: bad sandbox limits {limits!r}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{owner}: bad sandbox limits: {exc}") from None
