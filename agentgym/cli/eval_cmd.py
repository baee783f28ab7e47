"""``agentgym eval --suite S --policy P``: benchmark a policy on a suite and write a run directory.

``agentgym eval --env ID [--env ID ...]`` evaluates environments (ids, or patterns such as
``web/miniwob.click-*``) without a registered suite:
seeds ``--first-seed`` to ``--first-seed + --tasks - 1`` (10 by default) of each, with the
constructor arguments of ``--difficulty`` and ``-o KEY=VALUE``.

Exit status: 0 when the run finished (even if some episodes failed with an error: the first
error is printed as a warning); 1 when every episode failed with an error (a dead endpoint, a
wrong model name...), with the first error and how many episodes share it; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path
from typing import Iterator

from agentgym.cli.options import (
    add_env_options,
    check_env_arguments,
    console as table_console,
    env_kwargs,
    env_runtime,
    non_negative_float,
    non_negative_int,
    path_argument,
    positive_int,
    probability,
)
from agentgym.core import ConfigError
from agentgym.policies.specs import canonical_spec
from agentgym.eval import Evaluation, evaluate
from agentgym.eval.evaluate import default_run_dir
from agentgym.eval.metrics import failure_summary
from agentgym.eval.report import run_status
from agentgym.eval.results import RESULTS_FILE, TRAJECTORIES_FILE
from agentgym.eval.tables import rich_table, terminal_text
from agentgym.policies.base import SamplingParams
from agentgym.policies.specs import DEFAULT_POLICY, POLICY_SPECS
from agentgym.rollout import RolloutConfig
from agentgym.suites import Suite, env_suite, get_suite

_SAMPLING_DEFAULTS = SamplingParams()
DEFAULT_SUITE = "quick-v1"
#: Seeds per environment of ``--env`` when ``--tasks`` is not given.
DEFAULT_ENV_TASKS = 10


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval", help="benchmark a policy on a suite of environments",
        description="Roll a policy out on every task of a suite, print the results per environment "
                    "and write a run directory (run.json, trajectories, report.md, report.html, results.json). "
                    "Exit status 1 when every episode failed with an error (the first error is printed).")
    parser.add_argument("--suite", default=None,
                        help=f"suite name (`agentgym list --suites`; default: {DEFAULT_SUITE})")
    parser.add_argument("--env", action="append", default=[], metavar="ENV_ID",
                        help="evaluate this environment instead of a suite (repeatable; wildcards such as "
                             "'web/miniwob.click-*' take every registered id that matches): --tasks seeds of each "
                             f"(default {DEFAULT_ENV_TASKS}) from --first-seed, with --difficulty and -o arguments")
    add_env_options(parser)
    parser.add_argument("--first-seed", type=non_negative_int, default=0,
                        help="with --env: the first seed (default: 0; e.g. 1000000 for seeds kept out of training)")
    parser.add_argument("--policy", default=DEFAULT_POLICY,
                        help="; ".join(f"{k}: {v}" for k, v in POLICY_SPECS.items()))
    parser.add_argument("-n", "--rollouts", type=positive_int, default=1,
                        help="rollouts per task, sharing its seed (the k of pass@k and avg@k; default: %(default)s)")
    parser.add_argument("--tasks", type=positive_int, default=None,
                        help="only the first N seeds of each suite entry; with --env, N seeds "
                             f"(default {DEFAULT_ENV_TASKS})")
    parser.add_argument("--out", type=path_argument, default=None,
                        help="run directory (default: runs/<suite or env ids>-<policy>-<timestamp>)")
    parser.add_argument("--max-tokens", type=positive_int, default=_SAMPLING_DEFAULTS.max_tokens,
                        help="most tokens per generation (default: %(default)s)")
    parser.add_argument("--temperature", type=non_negative_float, default=_SAMPLING_DEFAULTS.temperature,
                        help="sampling temperature, 0 for greedy (default: %(default)s)")
    parser.add_argument("--top-p", type=probability, default=_SAMPLING_DEFAULTS.top_p,
                        help="nucleus sampling mass (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="sampling seed, for reproducible runs")
    parser.add_argument("--concurrency", type=positive_int, default=RolloutConfig().max_concurrent_episodes,
                        help="episodes played at once (default: %(default)s)")
    parser.add_argument("--max-turns", type=positive_int, default=None,
                        help="turn budget per episode (default: each environment's registered budget)")
    parser.add_argument("--env-runtime", type=env_runtime, default="thread", metavar="RUNTIME",
                        help="where the environments run: thread (default), process (killed when hung), ray "
                             "(Ray workers: a local cluster, or RAY_ADDRESS's) or an `agentgym serve-env` URL")
    parser.add_argument("--no-progress", action="store_true",
                        help="hide the progress bar (or, when stdout is not a terminal, the progress lines on stderr)")


def run(args: argparse.Namespace) -> int:
    if args.rollouts < 1:
        raise ValueError(f"-n/--rollouts must be a positive number, got {args.rollouts}")
    if args.rollouts > 1 and args.temperature == 0 and _samples_a_model(args.policy):
        warnings.warn(f"-n {args.rollouts} with --temperature 0: a model decoding greedily plays each task's "
                      f"{args.rollouts} rollouts alike, so pass@{args.rollouts} is pass@1 (sample with a "
                      "temperature above 0)", stacklevel=2)
    if sys.stdin is None and canonical_spec(args.policy).partition(":")[0] == "human":
        raise ConfigError("the human policy reads your moves from standard input, which is closed: run it in a "
                          "terminal, or give the moves on standard input (one per line)")
    sampling = SamplingParams(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                              seed=args.seed)
    suite, tasks = chosen_suite(args)
    with _run_directory(args.out, suite.name, args.policy) as out_dir:
        try:
            evaluation = evaluate(args.policy, suite, rollouts=args.rollouts, tasks=tasks, sampling=sampling,
                                  config=RolloutConfig(max_concurrent_episodes=args.concurrency,
                                                       max_turns=args.max_turns, env_runtime=args.env_runtime),
                                  out_dir=out_dir, progress=not args.no_progress)
        except KeyboardInterrupt:
            _point_to_the_partial_run(out_dir)
            raise
    print_summary(evaluation)
    return failure_exit_code(evaluation)


def _samples_a_model(policy: str | None) -> bool:
    """The policy spec names a model that samples with the sampling settings (not the random,
    oracle or human policy)."""
    return canonical_spec(policy).partition(":")[0] not in ("random", "oracle", "human")


@contextlib.contextmanager
def _run_directory(out: Path | None, suite: str, policy: str) -> Iterator[Path]:
    """``out``, or a default run directory, made (reserved) here by
    :func:`~agentgym.eval.evaluate.default_run_dir`; if the run fails before writing to it (a
    bad policy, a Ctrl-C while the model loads), the default directory is removed again, with
    the ``runs`` folder made for it if that is left empty."""
    if out is not None:
        yield out
        return
    root = Path("runs")
    root_made = not root.exists()
    out_dir = default_run_dir(suite, policy, root)
    try:
        yield out_dir
    except BaseException:
        with contextlib.suppress(OSError):  # only empty folders: never what the run wrote
            out_dir.rmdir()
            if root_made:
                root.rmdir()
        raise


def _point_to_the_partial_run(out_dir: Path) -> None:
    """After a Ctrl-C: where the finished episodes are (a default run directory is named after
    the time) and the command that summarises them."""
    trajectories = out_dir / TRAJECTORIES_FILE
    if trajectories.is_file() and trajectories.stat().st_size and not (out_dir / RESULTS_FILE).is_file():
        print(f"\nthe finished episodes are in {out_dir}: summarise them with `agentgym report {out_dir}`",
              file=sys.stderr)


def chosen_suite(args: argparse.Namespace) -> tuple[Suite, int | None]:
    """The suite to run and how many seeds of each entry: a registered suite (``--suite``,
    default quick-v1) with ``--tasks``, or the suite of ``--env`` environments, every seed of it
    (their count given all the same, so that the run records it and compare sees it differ)."""
    kwargs = env_kwargs(args)
    if not args.env:
        if kwargs or args.first_seed:
            raise ConfigError("--difficulty, -o and --first-seed apply to --env environments; "
                              "a suite fixes its own arguments and seeds")
        return get_suite(DEFAULT_SUITE if args.suite is None else args.suite), args.tasks  # '' is refused
    if args.suite is not None:
        raise ConfigError("give --suite or --env, not both")
    count = args.tasks or DEFAULT_ENV_TASKS
    suite = env_suite(args.env, range(args.first_seed, args.first_seed + count), kwargs)
    if kwargs:
        check_env_values(suite)
    return suite, count


def check_env_values(suite: Suite) -> None:
    """Build each environment of ``suite`` once and close it (:func:`check_env_arguments`), so
    that its constructor checks the values of the arguments the user gave:
    ``-o difficulty=impossible`` is one line and exit code 2, not a run of failed episodes.

    Raises:
        ConfigError: a constructor refused its arguments or failed (its message, after the id).
    """
    for entry in suite.entries:
        check_env_arguments(entry.env_id, entry.kwargs)


def print_summary(evaluation: Evaluation) -> None:
    """The results table, the engine's figures, warnings (an incomplete run, failed episodes)
    and where the report is; shared by ``agentgym eval`` and ``agentgym report``. Text the run
    recorded (an environment's or a policy's error, a label) is printed with its control
    characters escaped (:func:`~agentgym.eval.tables.terminal_text`)."""
    results, report = evaluation.results, evaluation.report
    console = table_console()  # piped output (logs, CI): wide, not squeezed to 80 columns
    console.print(rich_table(results.environments, results.overall,
                             title=f"{results.policy} on {results.suite} ({results.rollouts_per_task} "
                                   f"rollout{'s' * (results.rollouts_per_task > 1)} per task)"))
    stats = results.stats
    timing = (f" in {stats['wall_seconds']:.1f} s" if "wall_seconds" in stats else "")
    speed = (f" ({stats['tokens_per_second']:.0f} tok/s)" if "tokens_per_second" in stats else "")
    # Tokens are counted from token-exact trajectories; a policy without a tokenizer (random,
    # scripted, an OpenAI server) has none to count, and "0 tokens generated" would mislead.
    tokens = f", {stats['generated_tokens']} tokens generated{speed}" if stats.get("generated_tokens") else ""
    console.print(f"{stats['episodes']} episodes{timing}{tokens}, {stats['errors']} error{'' if stats['errors'] == 1 else 's'}",
                  highlight=False, soft_wrap=True)
    if (status := run_status(results)) is not None:
        print(f"warning: {status}", file=sys.stderr)
    failures = failure_summary(evaluation.trajectories)
    if failures is not None:
        print(f"{'error' if failures.all_failed else 'warning'}: {terminal_text(failures.describe())}",
              file=sys.stderr)
    if report.missing:
        print(f"note: {report.missing} (report.html has the tables only)", file=sys.stderr)
    console.print(terminal_text(f"report: {report.html_path}  (results: {report.results_path})"), highlight=False,
                  soft_wrap=True, markup=False)


def failure_exit_code(evaluation: Evaluation) -> int:
    """1 when every episode failed with an error (nothing was measured), else 0."""
    failures = failure_summary(evaluation.trajectories)
    return 1 if failures is not None and failures.all_failed else 0
