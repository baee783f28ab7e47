"""Sample episodes in the reports (what the model wrote), and plots that stay readable when every
value is the same."""

import pytest

from agentgym.eval import summarize, write_report
from agentgym.eval.evaluate import entry_label
from agentgym.eval.metrics import group_by
from agentgym.eval.plots import distribution_figure, success_figure, value_range
from agentgym.eval.results import RunResults
from agentgym.eval.transcripts import MAX_TEXT_CHARS, markdown_samples, sample_episodes
from agentgym.trajectory import Trajectory, Turn

from test_eval_report import parse_page  # tests/eval is on sys.path (no __init__.py)

HOSTILE = '<script>alert("x")</script> & ```fenced``` ````'


def _episode(seed, returns, *, success=False, error=None, action="5", observation="board"):
    turns = [Turn(index=i, observation=observation, action=action, reward=r) for i, r in enumerate(returns)]
    return Trajectory(env_id="games/TicTacToe-v0", seed=seed, group_id=f"g{seed}", turns=turns, success=success,
                      error=error, instructions="Play X.", created_at=f"2026-01-01T00:00:0{seed}",
                      metadata={"env_kwargs": {"difficulty": "easy"}},
                      messages=[{"role": "assistant", "content": action}, {"role": "user", "content": "You won."}])


def test_best_worst_and_first_error_are_picked_once_each():
    win, loss, broken, later_broken = (_episode(0, [0, 1], success=True), _episode(1, [0, 0]),
                                       _episode(2, [], error="policy error: boom"), _episode(3, [], error="other"))
    samples = sample_episodes([loss, win, broken, later_broken])
    assert [(s.title, s.trajectory.seed) for s in samples] == [("best", 0), ("worst", 1), ("first error", 2)]
    # one finished episode is both the best and the worst: it is shown once
    assert [s.title for s in sample_episodes([win])] == ["best"]
    assert sample_episodes([]) == []


def test_reports_show_the_samples_escaped_and_truncated(tmp_path):
    long_observation = "x" * (MAX_TEXT_CHARS + 500)
    hostile = _episode(0, [0.0] * 20, action=HOSTILE, observation=long_observation)
    broken = _episode(1, [], error="policy error: <b>refused</b>")
    trajectories = [hostile, broken]
    groups = group_by(trajectories, entry_label)
    results = RunResults("custom-v0", "hf:model", {}, 1, None, [summarize(groups[label], label, k=1) for label in groups],
                         summarize(trajectories, "overall", k=1))
    report = write_report(tmp_path, results, groups)
    page = report.html_path.read_text()
    parse_page(report.html_path)  # well formed: the hostile action did not open a tag
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "policy error: &lt;b&gt;refused&lt;/b&gt;" in page
    assert "Best: games/TicTacToe-v0[easy], seed 0 — failure, return 0.00, 20 turns" in page
    assert "First error: games/TicTacToe-v0[easy], seed 1 — error" in page
    assert "[truncated: 500 more characters]" in page and "x" * (MAX_TEXT_CHARS + 1) not in page
    assert "… 8 turns left out …" in page and page.count('<pre class="action">') == 12
    assert "You won." in page  # the final observation
    markdown = report.markdown_path.read_text()
    assert "## Sample episodes" in markdown and "### Best: games/TicTacToe-v0[easy], seed 0" in markdown
    # the action's own backtick runs (up to 4) cannot close the fence around it
    assert f"`````text\n{HOSTILE}\n`````" in markdown
    assert "[truncated: 500 more characters]" in markdown and "*… 8 turns left out …*" in markdown


def test_a_real_run_report_holds_what_the_policy_wrote(random_run):
    text = (random_run.run_dir / "report.md").read_text()
    best = sample_episodes(random_run.trajectories)[0].trajectory
    section = text[text.index("## Sample episodes"):]
    assert f"```text\n{best.turns[0].action}\n```" in section
    assert best.instructions.split("\n")[0] in section
    assert "Sample episodes" in (random_run.run_dir / "report.html").read_text()


def test_markdown_samples_are_empty_without_episodes():
    assert markdown_samples([]) == []


def test_all_zero_success_has_a_full_axis_and_a_visible_marker_at_zero():
    trajectories = [_episode(seed, [0.0]) for seed in range(3)]
    rows = [summarize(trajectories, "games/TicTacToe-v0[easy]", k=1), summarize(trajectories, "other", k=1)]
    axes = success_figure(rows).axes[0]
    assert axes.get_xlim() == (0.0, 1.0)
    [markers] = [line for line in axes.get_lines() if line.get_marker() == "D"]
    assert list(markers.get_xdata()) == [0.0, 0.0] and not markers.get_clip_on()


@pytest.mark.parametrize("values, lower_bound, expected", [
    ([0.0, 0.0, 0.0], None, (-1.0, 1.0)),
    ([0.0, 0.0], 0, (-0.05, 1.0)),
    ([4.0, 4.0], 0, (2.0, 6.0)),
    ([1.0, 2.0], 0, None),  # spread values: matplotlib's own limits
])
def test_equal_values_get_a_sensible_range(values, lower_bound, expected):
    result = value_range(values, lower_bound)
    assert result == (pytest.approx(expected) if expected else None)


def test_distribution_of_equal_turns_has_integer_ticks_and_no_negative_range():
    axes = distribution_figure({"a": [0, 0, 0], "b": [0, 0]}, "turns", "Turns", lower_bound=0, integer=True).axes[0]
    low, high = axes.get_xlim()
    assert low == pytest.approx(-0.05) and high == pytest.approx(1.0)
    ticks = [tick for tick in axes.get_xticks() if low <= tick <= high]
    assert ticks and all(float(tick).is_integer() and tick >= 0 for tick in ticks)
