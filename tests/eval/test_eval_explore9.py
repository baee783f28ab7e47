"""Exploratory round 9 of the evaluation area: what a demanding user meets in the metrics, the
reports and the sample episodes."""

import json
import math

import pytest

from agentgym.eval import load_results, summarize
from agentgym.eval.evaluate import build_results
from agentgym.eval.report import write_report
from agentgym.trajectory import Trajectory, Turn


def _episode(reward, seed=0, **turn):
    return Trajectory(env_id="games/Toy-v0", seed=seed, group_id=f"g{seed}",
                      turns=[Turn(index=0, observation="o", action="a", reward=reward, **turn)])


def test_a_return_that_is_not_a_finite_number_is_undefined_not_a_crash(tmp_path):
    """Trajectories may hold a NaN or infinite reward (the trajectory format writes them as
    "nan"/"inf"; an episode played outside the rollout engine keeps what the environment
    returned): summarize raised AttributeError ('float' object has no attribute 'numerator',
    from statistics.stdev) with another episode beside it, and a run whose returns were all
    infinite lost report.html and results.json (matplotlib: 'Axis limits cannot be NaN or Inf').
    The mean return and its error are undefined (None, shown as —), the other metrics stand."""
    cases = ([math.nan, 1.0], [math.inf, 1.0], [-math.inf], [math.inf, math.inf], [math.nan])
    for case, rewards in enumerate(cases):
        episodes = [_episode(reward, seed) for seed, reward in enumerate(rewards)]
        metrics = summarize(episodes, "games/Toy-v0", k=1)
        assert (metrics.mean_return, metrics.return_stderr, metrics.episodes) == (None, None, len(rewards))
        if case not in (0, 3):
            continue  # a report for [nan, 1] and [inf, inf] (all infinite: the plot's axis failed)
        results = build_results({"suite": "toy", "policy": "p", "rollouts_per_task": 1}, episodes, {})
        run_dir = tmp_path / f"run{case}"
        report = write_report(run_dir, results, {"games/Toy-v0": episodes})
        assert "Return per episode" in report.plots
        assert load_results(run_dir) == results  # strict JSON (no NaN token) that reads back equal
        json.loads(report.results_path.read_text(), parse_constant=lambda name: 1 / 0)
    finite = summarize([_episode(1.0, 0), _episode(3.0, 1)], "games/Toy-v0", k=1)
    assert (finite.mean_return, finite.return_stderr) == (2.0, 1.0)


def test_a_long_invalid_action_error_is_cut_in_the_sample_episodes():
    """Sample episodes cut every long text to MAX_TEXT_CHARS (the module docstring) but an
    invalid action's error: an environment echoing a 200,000-character action wrote it whole
    into report.md and report.html, once per sample episode."""
    from agentgym.eval.transcripts import MAX_TEXT_CHARS, html_samples, markdown_samples, sample_episodes

    episode = _episode(0.0, error="x" * 200_000)
    markdown = "\n".join(markdown_samples(sample_episodes([episode])))
    page = "\n".join(html_samples(sample_episodes([episode])))
    for text in (markdown, page):
        assert "x" * MAX_TEXT_CHARS in text and "x" * (MAX_TEXT_CHARS + 1) not in text
        assert "[truncated: 198500 more characters]" in text


def test_a_results_or_settings_file_that_is_not_utf8_is_named_in_the_error(tmp_path):
    """A results.json or run.json holding bytes that are not UTF-8 (a binary file copied over
    it, a disk error) raised a bare UnicodeDecodeError ("'utf-8' codec can't decode byte 0xff
    in position 0") that did not say which file of which run; it is the same ValueError as
    any other damaged file, naming it."""
    from agentgym.eval.results import load_settings

    (tmp_path / "results.json").write_bytes(b"\xff\xfe{}")
    (tmp_path / "run.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(ValueError, match="results.json is not a valid results file") as error:
        load_results(tmp_path)
    assert type(error.value) is ValueError
    with pytest.raises(ValueError, match="run.json is not a valid settings file") as error:
        load_settings(tmp_path)
    assert type(error.value) is ValueError


def _outside_code(markdown):
    """``markdown`` without its fenced blocks and inline code spans (what Markdown shows as written)."""
    import re

    markdown = re.sub(r"(?ms)^(`{3,})text\n.*?\n\1$", "", markdown)
    return re.sub(r"(`+).*?\1", "", markdown)


def test_angle_brackets_in_report_md_are_shown_not_swallowed_as_html(tmp_path):
    """A system prompt asking for '<answer>...</answer>', a label or a policy name holding
    '<b>' were written into report.md as they are: a Markdown viewer (GitHub) takes '<answer>'
    for an HTML tag and shows nothing of it ('system prompt: 'Reply with .''). Outside code,
    '<' is written '&lt;' (and an '&' that would start an entity '&amp;'), shown as written."""
    from agentgym.eval.compare import NamedRun, markdown_comparison
    from agentgym.eval.transcripts import markdown_samples, sample_episodes

    episode = Trajectory(env_id="games/Toy-v0", seed=0, group_id="g0", metadata={"env_kwargs": {"tag": "<b>"}},
                         turns=[Turn(index=0, observation="<obs>", action="<answer>1</answer>", error="bad <x>")])
    settings = {"suite": "toy<i>", "policy": "hf:<model>", "rollouts_per_task": 1,
                "system_prompt": "Reply with <answer>N</answer>; &lt; is not <", "environments": []}
    results = build_results(settings, [episode], {})
    report = write_report(tmp_path, results, {results.environments[0].label: [episode]})
    markdown = report.markdown_path.read_text()
    comparison = markdown_comparison([NamedRun("run<1>", results), NamedRun("run2", results)])
    for text in (markdown, comparison):
        assert "<" not in _outside_code(text)
    assert "# hf:&lt;model> on toy&lt;i>" in markdown
    assert "| games/Toy-v0[&lt;b>] |" in markdown and "| games/Toy-v0[&lt;b>] |" in comparison
    assert "Reply with &lt;answer>N&lt;/answer>; &amp;lt; is not &lt;" in markdown
    assert "### Best: games/Toy-v0[&lt;b>], seed 0" in "\n".join(markdown_samples(sample_episodes([episode])))
    # code keeps its text as written: there Markdown shows '&lt;' as four characters
    assert "```text\n<answer>1</answer>\n```" in markdown and "invalid action: `bad <x>`" in markdown
    assert "- #1 run&lt;1>: hf:&lt;model> on toy&lt;i>" in comparison


def test_an_evaluation_s_results_equal_those_loaded_back_from_its_run_directory(tmp_path):
    """evaluate(...).results compared unequal to load_results(run_dir) (and to the results
    agentgym report rebuilt): the sampling settings held stop=() where results.json holds [],
    so a caller checking a stored run against the one in hand saw a difference that is none."""
    from agentgym.eval import evaluate, summarise_run
    from agentgym.policies.base import SamplingParams
    from agentgym.suites import Suite, SuiteEntry

    suite = Suite("one-game", (SuiteEntry("games/GuessTheNumber-v0", (0,), {"difficulty": "easy"}),))
    evaluation = evaluate("oracle", suite, sampling=SamplingParams(stop=("</answer>",)), out_dir=tmp_path / "run",
                          progress=False)
    assert evaluation.results.sampling["stop"] == ["</answer>"]
    assert load_results(tmp_path / "run") == evaluation.results
    assert summarise_run(tmp_path / "run").results == evaluation.results


@pytest.mark.parametrize("rollouts", [0, -1, 2.5, True, "2"])
def test_a_bad_rollouts_count_is_refused_under_its_own_name(rollouts):
    """evaluate(rollouts=0) said 'group_size must be a positive integer, got 0' (the rollout
    engine's name for it, an argument the caller never gave); it names rollouts, as tasks=0
    names tasks, and is the ConfigError of any bad argument."""
    from agentgym.core import ConfigError
    from agentgym.eval import evaluate

    with pytest.raises(ConfigError, match=r"^rollouts must be a positive integer, got "):
        evaluate("oracle", "quick-v0", rollouts=rollouts, progress=False)


def test_the_final_observation_of_a_text_and_image_episode_is_shown(tmp_path):
    """An environment observing text and an image ends with a message whose content is a list
    of parts: its text ('Done. You found all three.') was left out of both reports, as if the
    episode had no final observation, while every turn's observation text was shown."""
    import numpy as np

    from agentgym.eval.transcripts import html_samples, markdown_samples, sample_episodes

    grey = np.full((4, 4, 3), 128, np.uint8)
    episode = Trajectory(env_id="testing/Squares-v0", seed=0, success=True, turns=[
        Turn(index=0, observation="Round 1: left or right?", action="left", reward=1.0, observation_image=grey)],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Round 1: left or right?"},
                                              {"type": "image", "image": grey}]},
                  {"role": "assistant", "content": "left"},
                  {"role": "user", "content": [{"type": "text", "text": "Done. You found all three."},
                                              {"type": "image", "image": grey}]}])
    markdown = "\n".join(markdown_samples(sample_episodes([episode])))
    page = "\n".join(html_samples(sample_episodes([episode])))
    assert "**final observation**:\n\n```text\nDone. You found all three.\n```" in markdown
    assert "<p><b>final observation</b></p><pre>Done. You found all three.</pre>" in page


def test_control_characters_in_markdown_text_are_shown_as_escapes(tmp_path):
    """A label, suite or policy name holding an escape sequence (ESC [2J clears the screen) or
    a bell went into the Markdown as it was: `agentgym compare --markdown` printed it to the
    terminal, which acted on it (the terminal table shows it as \\x1b[2J), and report.md held
    characters no Markdown viewer shows. Outside fenced blocks, Markdown text shows them as
    their escapes, as the terminal tables do."""
    from agentgym.eval.compare import NamedRun, markdown_comparison

    episode = Trajectory(env_id="games/Toy-v0", seed=0, group_id="g0", metadata={"env_kwargs": {"mode": "\x1b[2J"}},
                         turns=[Turn(index=0, observation="o", action="a", error="bad\x07")])
    results = build_results({"suite": "toy\x9b", "policy": "p\x07", "rollouts_per_task": 1}, [episode], {})
    report = write_report(tmp_path, results, {results.environments[0].label: [episode]})
    markdown = report.markdown_path.read_text()
    comparison = markdown_comparison([NamedRun("run\x1b]0;title\x07", results)])
    for text in (markdown, comparison):
        assert not any(ord(c) < 32 and c != "\n" or 127 <= ord(c) < 160 for c in text)
        assert "| games/Toy-v0[\\x1b[2J] |" in text
    assert "# p\\x07 on toy\\x9b" in markdown and "invalid action: `bad\\x07`" in markdown
    assert "- #1 run\\x1b]0;title\\x07: p\\x07 on toy\\x9b" in comparison


def test_plots_show_control_characters_in_labels_as_escapes():
    """A label holding ESC or a bell was drawn as missing-glyph boxes, with a UserWarning
    ('Glyph 27 missing from font(s) DejaVu Sans') per plot of every report; plots show it as
    the tables do (\\x1b)."""
    import warnings

    from agentgym.eval import plots

    rows = [summarize([_episode(1.0)], "games/Toy-v0[\x1b[2J\x07]", k=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plots.success_figure(rows)
        plots._png(figure)
        comparison = plots.comparison_figure([(rows[0].label, [rows[0]])], ["#1 p\x1b"])
        plots._png(comparison)
    assert figure.axes[0].get_yticklabels()[0].get_text() == "games/Toy-v0[\\x1b[2J\\x07]"
    assert [text.get_text() for text in comparison.legends[0].get_texts()] == ["#1 p\\x1b"]


def test_a_results_file_of_a_newer_format_is_refused_not_misread(tmp_path):
    """load_results read a results.json of a schema this version does not know (written by a
    newer agentgym) as if it were its own, so agentgym compare showed whatever its fields now
    meant and agentgym report kept its statistics, while summarise_run's docstring promises such
    a file is replaced with a warning. It is a ValueError saying which schema and which file."""
    from agentgym.eval import summarise_run
    from agentgym.eval.results import RESULTS_SCHEMA_VERSION

    episode = _episode(1.0)
    results = build_results({"suite": "toy", "policy": "p", "rollouts_per_task": 1}, [episode], {})
    data = results.to_dict()
    data["schema_version"] = RESULTS_SCHEMA_VERSION + 1
    (tmp_path / "results.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"results.json is of results schema {RESULTS_SCHEMA_VERSION + 1}, "
                                         rf"newer than this version of agentgym reads \({RESULTS_SCHEMA_VERSION}\)"):
        load_results(tmp_path)
    (tmp_path / "trajectories.jsonl").write_text(json.dumps(episode.to_dict()) + "\n")
    with pytest.warns(UserWarning, match="results schema"):
        summary = summarise_run(tmp_path)
    assert json.loads((tmp_path / "results.json").read_text())["schema_version"] == RESULTS_SCHEMA_VERSION
    assert summary.results.overall.episodes == 1


def test_an_output_directory_under_a_file_is_refused_before_the_policy_is_made(tmp_path):
    """evaluate(out_dir=FILE/run) checked only that out_dir itself is no file: the policy was
    made first (a model loaded, minutes for a large one) and then mkdir failed with a bare
    NotADirectoryError. It is refused first, as out_dir being a file is, naming the file."""
    from agentgym.eval import evaluate

    (tmp_path / "notes.txt").write_text("a file")
    with pytest.raises(ValueError, match=r"notes\.txt is a file, not a folder: .* cannot be made") as error:
        evaluate("no-such-policy", "quick-v0", out_dir=tmp_path / "notes.txt" / "runs" / "run", progress=False)
    assert type(error.value) is ValueError


def test_a_suite_with_two_entries_of_one_label_has_one_row_of_all_their_episodes():
    """evaluate accepts a Suite built by hand, where two entries may share a label (the same
    environment and arguments, other seeds; register_suite refuses that, Suite does not): the
    results had the row twice, each with every episode of both entries (3 + 3 rows over 3
    episodes overall). The label's episodes make one row."""
    from agentgym.eval import evaluate
    from agentgym.suites import Suite, SuiteEntry

    entries = (SuiteEntry("games/GuessTheNumber-v0", (0,), {"difficulty": "easy"}),
               SuiteEntry("games/GuessTheNumber-v0", (1, 2), {"difficulty": "easy"}))
    results = evaluate("oracle", Suite("split", entries), progress=False).results
    assert [(m.label, m.episodes) for m in results.environments] == [("games/GuessTheNumber-v0[easy]", 3)]
    assert results.overall.episodes == 3


def test_runs_sampled_with_other_stop_strings_are_flagged_as_not_like_for_like():
    """Two runs that differed only in their stop strings (one cut each answer at '</answer>')
    were put side by side with no warning, though settings_differences promises every
    sampling setting that differs is named."""
    from agentgym.eval.compare import NamedRun, markdown_comparison, settings_differences

    def run(name, stop):
        sampling = {"max_tokens": 256, "temperature": 1.0, "top_p": 1.0, "stop": stop, "seed": None}
        return NamedRun(name, build_results({"suite": "toy", "policy": "p", "rollouts_per_task": 1,
                                             "sampling": sampling}, [_episode(1.0)], {}))

    runs = [run("a", []), run("b", ["</answer>"]), run("c", [])]
    assert settings_differences(runs) == ["stop: none (#1, #3) vs '</answer>' (#2)"]
    assert "- settings differ: stop: none (#1, #3) vs '&lt;/answer>' (#2)" in markdown_comparison(runs)
    assert settings_differences([runs[0], runs[2]]) == []


def test_system_prompts_that_differ_after_their_first_60_characters_are_flagged():
    """settings_differences grouped runs by the setting as shown, and a system prompt is shown
    cut to its first 57 characters: two prompts alike at the start but asking for different
    answer formats at the end compared as the same setting, silently. Runs are grouped by the
    value itself; prompts alike as shown are written whole."""
    from agentgym.eval.compare import NamedRun, settings_differences

    head = "You are playing a game. Think step by step, then give your move "

    def run(name, prompt, temperature=1.0):
        return NamedRun(name, build_results({"suite": "toy", "policy": "p", "rollouts_per_task": 1,
                                             "system_prompt": prompt, "temperature": temperature},
                                            [_episode(1.0)], {}))

    runs = [run("a", head + "inside <answer></answer>."), run("b", head + "on its own line."),
            run("c", head + "inside <answer></answer>.", temperature=1)]
    assert settings_differences(runs) == [f"system_prompt: {head + 'inside <answer></answer>.'!r} (#1, #3) "
                                          f"vs {head + 'on its own line.'!r} (#2)"]
    short = [run("a", "Be brief."), run("b", "Be thorough.")]
    assert settings_differences(short) == ["system_prompt: 'Be brief.' (#1) vs 'Be thorough.' (#2)"]


def test_an_output_directory_holding_a_report_of_someone_else_is_refused(tmp_path):
    """evaluate(out_dir=DIR) refused a DIR holding a run's results, trajectories or settings,
    but wrote its report.md and report.html over any already there (a folder of notes, a
    project's own report.md): they were lost without a word. Such a folder is refused, before
    the policy is made, and what it holds is kept."""
    from agentgym.eval import evaluate

    for name in ("report.md", "report.html"):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / name).write_text("my own notes")
        with pytest.raises(ValueError, match=rf"already holds a {name}"):
            evaluate("no-such-policy", "quick-v0", out_dir=folder, progress=False)
        assert (folder / name).read_text() == "my own notes" and sorted(p.name for p in folder.iterdir()) == [name]
