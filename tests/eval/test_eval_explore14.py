"""Exploratory round 14 of the evaluation area: what a demanding user meets in the reports, the
comparisons and the run directory."""

import html
import re

import pytest
from markdown_it import MarkdownIt

from agentgym.eval import summarize
from agentgym.eval.compare import NamedRun, markdown_comparison
from agentgym.eval.report import markdown_report
from agentgym.eval.results import RunResults
from agentgym.eval.tables import markdown_table
from agentgym.trajectory import Trajectory, Turn


def _episode(seed=0, success=True, reward=1.0, env_id="games/Toy-v0", **trajectory):
    return Trajectory(env_id=env_id, seed=seed, group_id=f"g{seed}", success=success,
                      turns=[Turn(index=0, observation="o", action="a", reward=reward)], **trajectory)


def _shown(markdown: str) -> str:
    """The text a Markdown viewer shows (CommonMark with GitHub's tables and strikethrough)."""
    page = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _cells(markdown: str) -> list[list[str]]:
    """The cells of the first table of ``markdown``, as a viewer shows them, row by row."""
    page = MarkdownIt("commonmark").enable("table").render(markdown)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)]


#: Text with Markdown's inline syntax: a regex argument, a Windows path, a system prompt's
#: emphasis, code and link, a struck-through word.
MARKUP = ["re=\\d+\\.\\d+", "hf:C:\\models\\_old\\x", "Answer **only** the `word`, _exactly_.",
          "see [the docs](https://example.com/docs) ~~twice~~", "a*b*c", "max_turns __init__"]


def test_markdown_shows_backslashes_and_inline_markup_as_written():
    """report.md and compare --markdown show a label, a policy, a suite name and a system prompt
    "as written" (tables.markdown_text's contract), but only '<' and '&' were escaped: a
    backslash before punctuation vanished (a regex argument 're=\\d+\\.\\d+' showed as
    're=\\d+.\\d+', a Windows path lost its '\\_'), and '\\|' in a label ended its table cell
    with the backslash lost; '**only**', '`word`', '_exactly_', '[the docs](url)' and '~~twice~~'
    were bold, code, italic, a link and struck through, their characters gone."""
    rows = [summarize([_episode()], label, k=1) for label in [*MARKUP, "env[a\\|b]"]]
    overall = summarize([_episode()], "overall", k=1)
    cells = _cells(markdown_table(rows, overall))
    assert [row[0] for row in cells[1:-1]] == [*MARKUP, "env[a\\|b]"]
    assert all(len(row) == len(cells[0]) for row in cells)
    for text in MARKUP:
        results = RunResults(text, text, {}, 1, None, rows[:1], overall,
                             settings={"system_prompt": text, "max_turns": 4})
        shown = _shown(markdown_report(results))
        assert f"{text} on {text}" in shown.splitlines()  # the title
        assert f"suite: {text}" in shown and f"policy: {text}" in shown
        assert f"system prompt: {text!r}" in shown
        legend = _shown(markdown_comparison([NamedRun(text, results), NamedRun("b", results)]))
        assert f"#1 {text}: {text} on {text}," in legend


def test_a_results_file_with_fields_of_the_wrong_type_is_damaged_not_a_crash(tmp_path):
    """load_results promises a ValueError naming the file for a damaged results.json, and
    agentgym report (summarise_run) rebuilds such a file with a warning; but only unparsable JSON
    and missing fields counted as damaged. A file whose fields had the wrong type (edited by
    hand, written by another tool) was read: compare then raised AttributeError ('list' object
    has no attribute 'get', 'int' object has no attribute 'replace') or said "Unknown format code
    '%' for object of type 'str'" naming no file, and report raised TypeError ('list' object is
    not a mapping) instead of rebuilding."""
    import json
    import warnings

    import pytest

    from agentgym.eval import load_results, summarise_run
    from agentgym.eval.evaluate import build_results
    from agentgym.eval.results import TRAJECTORIES_FILE
    from agentgym.trajectory import TrajectoryWriter

    episodes = [_episode(0), _episode(1, success=False, reward=0.0)]
    settings = {"suite": "toy", "policy": "p", "rollouts_per_task": 1, "expected_episodes": 2}
    results = build_results(settings, episodes, {})
    good = results.to_dict()
    damages = {"stats": [], "versions": ["python 3"], "sampling": ["x"], "settings": "all",
               "environments": {"games/Toy-v0": {}}, "rollouts_per_task": "1", "suite": 7,
               "overall.success_rate": "0.5", "overall.success_ci": [0.1], "overall.episodes": None,
               "environments.label": 5, "environments.mean_return": [1.0], "overall.errors": True}
    for case, (field, value) in enumerate(damages.items()):
        data = json.loads(json.dumps(good))
        if field.startswith("overall."):
            data["overall"][field.split(".")[1]] = value
        elif field.startswith("environments."):
            data["environments"][0][field.split(".")[1]] = value
        else:
            data[field] = value
        run_dir = tmp_path / f"run{case}"
        run_dir.mkdir()
        (run_dir / "results.json").write_text(json.dumps(data))
        with pytest.raises(ValueError, match=f"{run_dir / 'results.json'} is not a valid results file"):
            load_results(run_dir)
    # agentgym report replaces such a file, rebuilt from the trajectories, with a warning
    run_dir = tmp_path / "run0"  # its stats are a list
    with TrajectoryWriter(run_dir / TRAJECTORIES_FILE) as writer:
        for episode in episodes:
            writer.write(episode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rebuilt = summarise_run(run_dir).results
    assert any("is rebuilt from trajectories.jsonl" in str(w.message) for w in caught)
    assert (rebuilt.overall.episodes, rebuilt.overall.successes) == (2, 1)
    assert load_results(run_dir) == rebuilt


def test_a_settings_file_with_fields_of_the_wrong_type_is_named_not_a_crash(tmp_path):
    """load_settings promises a ValueError naming run.json when it is damaged, but only text
    that was no JSON object counted: agentgym report on a run whose run.json held the expected
    episodes or the rollouts as text ("4"), its sampling as a list, raised TypeError ('>=' not
    supported between 'int' and 'str') or AttributeError, and one holding its suite as a number
    wrote a results.json that could not be read back."""
    import json

    import pytest

    from agentgym.eval import summarise_run
    from agentgym.eval.results import TRAJECTORIES_FILE, load_settings
    from agentgym.trajectory import TrajectoryWriter

    with TrajectoryWriter(tmp_path / TRAJECTORIES_FILE) as writer:
        writer.write(_episode(0))
    good = {"suite": "toy", "policy": "p", "rollouts_per_task": 1, "tasks_per_entry": None, "sampling": {},
            "environments": ["games/Toy-v0"], "expected_episodes": 1}
    (tmp_path / "run.json").write_text(json.dumps(good))
    assert load_settings(tmp_path) == good
    damages = {"expected_episodes": "4", "rollouts_per_task": "2", "sampling": [], "suite": 5, "policy": ["p"],
               "environments": "games/Toy-v0", "tasks_per_entry": 1.5, "rollouts_per_task ": 0}
    for field, value in damages.items():
        field = field.strip()
        (tmp_path / "run.json").write_text(json.dumps({**good, field: value}))
        pattern = f"{tmp_path / 'run.json'} is not a valid settings file: .*{field}"
        with pytest.raises(ValueError, match=pattern):
            load_settings(tmp_path)
        with pytest.raises(ValueError, match=pattern):
            summarise_run(tmp_path)


def test_the_first_error_is_the_same_whatever_order_the_episodes_are_given_in():
    """evaluate() summarised its episodes in task order, agentgym report rebuilt the same run
    from trajectories.jsonl, where episodes are in the order they ended: a run whose first task
    failed slowly and whose later tasks failed at once had results.json's first error changed by
    `agentgym report` (seed 0's error, then seed 2's: the results no longer equal), and
    report.md's 'first error' sample (the first failed episode to start) was yet another choice.
    The first error is the failed episode that started first, however the episodes are ordered."""
    from agentgym.eval.evaluate import build_results
    from agentgym.eval.metrics import failure_summary
    from agentgym.eval.transcripts import sample_episodes

    slow = _episode(0, success=False, error="slow failure of seed 0", created_at="2026-01-01T00:00:00+00:00")
    fast = [_episode(seed, success=False, error=f"fast failure of seed {seed}",
                     created_at=f"2026-01-01T00:00:00.{seed}00000+00:00") for seed in (1, 2)]
    won = _episode(3, created_at="2026-01-01T00:00:01+00:00")
    task_order, file_order = [slow, *fast, won], [fast[1], fast[0], won, slow]
    settings = {"suite": "toy", "policy": "p", "rollouts_per_task": 1, "expected_episodes": 4}
    summaries = [failure_summary(order) for order in (task_order, file_order)]
    assert [s.first_error for s in summaries] == ["slow failure of seed 0"] * 2
    assert summaries[0] == summaries[1]
    first, rebuilt = (build_results(settings, order, {}) for order in (task_order, file_order))
    assert first.stats == rebuilt.stats and first.stats["first_error"] == "slow failure of seed 0"
    sample = next(s for s in sample_episodes(sorted(file_order, key=lambda t: t.created_at))
                  if s.title == "first error")
    assert sample.trajectory.error == first.stats["first_error"]


def _table_rows(table, width: int) -> tuple[str, list[str]]:
    """``table`` printed ``width`` columns wide, and each row's first cell (a label without
    spaces), its pieces on the lines below its row joined again."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width)
    console.print(table)
    out = console.file.getvalue()
    labels: list[str] = []
    for line in (line for line in out.splitlines() if not re.search("[─━]", line)):  # no rules
        piece = re.match(r"[\s│┃]*([^\s│┃]*)", line).group(1)  # the first cell, without the rules
        if re.search(r"\[\d+–100\]", line):  # a row: its first line holds its cells
            labels.append(piece)
        elif labels and piece and re.sub(r"[\s│┃]", "", line) == piece:  # the rest of the row's label
            labels[-1] += piece
    return out, labels


def test_a_long_label_does_not_squeeze_the_numbers_of_the_terminal_tables():
    """A row label longer than the room left by the numbers (an -o value such as a prompt
    template is part of it) took its whole width: at agentgym's piped width (200 columns) every
    number of agentgym eval's table was cut to an ellipsis ('10…' for 100%, '1…' for the turns),
    and two labels that differ at their end (',alpha]' and ',beta]') were cut alike, so the rows
    could not be told apart; compare's table the same. The label wraps onto more lines."""
    from agentgym.eval.compare import rich_comparison
    from agentgym.eval.tables import rich_table

    labels = ["games/Wordle-v0[" + "x" * 120 + ",alpha]", "games/Wordle-v0[" + "x" * 120 + ",beta]"]
    rows = [summarize([_episode()], label, k=1) for label in labels]
    overall = summarize([_episode(), _episode(1)], "overall", k=1)
    out, shown = _table_rows(rich_table(rows, overall, title="quick"), 200)
    assert "…" not in out and shown == [*labels, "overall"]
    cells = r"100% \[\d+–100\]\s+1\.00( ± 0\.00)?\s+100%\s+100%\s+1\.0\s+—\s+0%\s+0\s+0\.00"  # all, whole
    for line in out.splitlines():
        if "[21–100]" in line or "[34–100]" in line:
            assert re.search(cells, line), line
    results = RunResults("quick", "oracle", {}, 1, None, rows, overall)
    out, shown = _table_rows(rich_comparison([NamedRun("a", results), NamedRun("b", results)]), 200)
    assert "…" not in out and shown == [*labels, "overall"]
    assert all(re.search(r"(100% \[\d+–100\][\s│]+1\.00[\s│]+1\.0[\s│]+){2}", line) for line in out.splitlines()
               if "–100]" in line)


def test_a_rebuilt_summary_keeps_the_kinds_of_the_errors(tmp_path):
    """agentgym report on a run without results.json (killed while writing its reports, or
    interrupted) rebuilt its statistics without the error kinds the trajectories hold: report.md
    said 'errors: 2' where the evaluation had said 'errors: 2 (policy: 2)', and results.json had
    no error_kinds. They are counted from the trajectories, as the engine counts them."""
    import json

    from agentgym.eval import summarise_run
    from agentgym.eval.results import TRAJECTORIES_FILE
    from agentgym.trajectory import TrajectoryWriter

    episodes = [_episode(0, success=False, error="policy error: HTTP 500", error_kind="policy"),
                _episode(1, success=False, error="policy error: HTTP 500", error_kind="policy"),
                _episode(2, success=False, error="environment raised RuntimeError: x"),  # an older record
                _episode(3)]
    with TrajectoryWriter(tmp_path / TRAJECTORIES_FILE) as writer:
        for episode in episodes:
            writer.write(episode)
    (tmp_path / "run.json").write_text(json.dumps({"suite": "toy", "policy": "p", "rollouts_per_task": 1,
                                                   "expected_episodes": 4}))
    summary = summarise_run(tmp_path)
    assert summary.results.stats["error_kinds"] == {"policy": 2, "environment": 1}
    assert "- **errors**: 3 (policy: 2, environment: 1)" in (tmp_path / "report.md").read_text()


def test_a_rate_that_is_neither_none_nor_all_never_shows_as_0_or_100_percent():
    """Rates were rounded to whole percents: 200 successes of 201 episodes showed as '100%' in
    the success, pass@k and avg@k columns (and on the success plot), as if no episode had
    failed, and one invalid action in 201 turns as 'invalid 0%', as if there were none. A rate
    that rounds to 0% or 100% without being it shows as '<1%' or '>99%'."""
    from agentgym.eval.tables import markdown_table, percent, success_with_ci

    almost = summarize([_episode(seed, success=seed > 0) for seed in range(201)], "games/Toy-v0", k=1)
    hardly = summarize([_episode(seed, success=seed == 0) for seed in range(201)], "games/Toy-v0", k=1)
    assert success_with_ci(almost).startswith(">99% [") and success_with_ci(hardly).startswith("<1% [")
    assert (percent(almost.pass_at_k), percent(almost.avg_at_k)) == (">99%", ">99%")
    assert (percent(hardly.pass_at_k), percent(1 / 201), percent(0.0), percent(1.0)) == ("<1%", "<1%", "0%", "100%")
    assert (percent(0.02), percent(0.994)) == ("2%", "99%")  # rounded as before where the rounding is not 0 or 100
    row = markdown_table([almost], almost).splitlines()[2]
    assert "100%" not in row and ">99% [" in row
    from agentgym.eval import plots

    assert [text.get_text() for text in plots.success_figure([almost]).axes[0].texts] == [">99% (200/201)"]


def test_returns_whose_mean_overflows_leave_it_undefined_not_a_crash():
    """Two episodes each returning 1.7e308 (finite, but their sum is not) made summarize raise
    OverflowError ('intermediate overflow in fsum'), so evaluate() failed after every episode
    was played and agentgym report could not summarise the run. A mean (or standard error) that
    is not a finite number is undefined, as one of a NaN or infinite return is."""
    from agentgym.eval.metrics import mean_and_stderr

    huge = summarize([_episode(seed, reward=1.7e308) for seed in range(2)], "games/Toy-v0", k=1)
    assert (huge.mean_return, huge.return_stderr, huge.episodes) == (None, None, 2)
    mean, stderr = mean_and_stderr([1.7e308, -1.7e308])
    assert mean == 0.0 and stderr is None  # the mean is defined, its error overflows
    assert mean_and_stderr([1.0, 3.0]) == (2.0, 1.0)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # numpy, summing the returns
def test_a_plot_matplotlib_cannot_draw_is_a_note_and_the_run_keeps_its_results(tmp_path):
    """Returns near the largest float (finite: the table shows them) made matplotlib raise
    ValueError ('Axis limits cannot be NaN or Inf') while the return plot was drawn: after every
    episode was played the run had no report.html and no results.json, and agentgym report
    failed the same way. A plot that cannot be drawn is left out with a note saying why; the
    other plots, the page and results.json are written."""
    from agentgym.eval import load_results
    from agentgym.eval.evaluate import build_results
    from agentgym.eval.report import write_report

    episodes = [_episode(seed, reward=1.7e308) for seed in range(2)]
    results = build_results({"suite": "toy", "policy": "p", "rollouts_per_task": 1}, episodes, {})
    report = write_report(tmp_path, results, {"games/Toy-v0": episodes})
    assert report.plots == ["Success rate", "Turns per episode"]
    assert any(note.startswith("No return per episode plot: matplotlib could not draw it (ValueError")
               for note in report.notes)
    assert "matplotlib could not draw it" in report.html_path.read_text()
    assert load_results(tmp_path) == results
