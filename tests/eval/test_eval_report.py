"""The run directory: results.json, report.md and a self-contained report.html, from real runs."""

import base64
import io
import json
import re
import sys
from html.parser import HTMLParser

import pytest
from PIL import Image

import agentgym
from agentgym.eval import evaluate, summarize, write_report
from agentgym.eval.evaluate import entry_label
from agentgym.eval.metrics import group_by
from agentgym.eval.results import RunResults, load_results
from agentgym.trajectory import Trajectory, Turn, read_trajectories

QUICK_LABELS = [entry.label for entry in agentgym.get_suite("quick-v0").entries]


class _Page(HTMLParser):
    """Collects the images and checks that every opened element is closed in order."""

    VOID = {"meta", "img", "br", "link", "hr"}

    def __init__(self):
        super().__init__()
        self.images, self.stack, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def parse_page(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    assert not page.errors and not page.stack, (page.errors, page.stack)
    return page


def decoded_png(image):
    prefix = "data:image/png;base64,"
    assert image["src"].startswith(prefix)
    picture = Image.open(io.BytesIO(base64.b64decode(image["src"][len(prefix):])))
    assert picture.format == "PNG" and picture.width >= 600 and picture.height >= 200
    return picture


def test_results_json_holds_settings_rows_stats_and_versions(oracle_run):
    data = json.loads((oracle_run.run_dir / "results.json").read_text())
    assert {"schema_version", "suite", "policy", "sampling", "rollouts_per_task", "tasks_per_entry",
            "environments", "overall", "stats", "versions", "created_at", "trajectories"} <= set(data)
    assert (data["suite"], data["policy"], data["rollouts_per_task"]) == ("quick-v0", "oracle", 1)
    assert {"max_tokens", "temperature", "top_p", "seed"} <= set(data["sampling"])
    assert [row["label"] for row in data["environments"]] == QUICK_LABELS
    row_keys = {"episodes", "tasks", "success_rate", "success_ci", "mean_return", "return_stderr", "k",
                "pass_at_k", "avg_at_k", "mean_turns", "mean_generated_tokens", "invalid_rate", "errors",
                "mean_seconds"}
    assert all(row_keys <= set(row) for row in data["environments"] + [data["overall"]])
    # the oracle solves every task of the suite: 3 seeds per environment
    assert all(row["success_rate"] == 1.0 and row["episodes"] == 3 for row in data["environments"])
    assert data["overall"]["episodes"] == data["stats"]["episodes"] == 12
    assert {"python", "agentgym", "gymnasium", "numpy"} <= set(data["versions"])
    assert data["trajectories"] == "trajectories.jsonl"
    assert load_results(oracle_run.run_dir).to_dict() == data


def test_rows_are_recomputed_exactly_from_the_trajectories_file(random_run):
    """The engine writes trajectories.jsonl during the run: the report's rows follow from it."""
    stored = read_trajectories(random_run.run_dir / "trajectories.jsonl")
    assert len(stored) == 24  # 4 environments x 3 seeds x 2 rollouts
    groups = group_by(stored, entry_label)
    results = load_results(random_run.run_dir)
    for row in results.environments:
        assert summarize(groups[row.label], row.label, k=2) == row  # JSON keeps floats exactly
        assert (row.tasks, row.k) == (3, 2)
    assert results.overall.successes == sum(t.success for t in stored)
    assert results.overall.success_rate < 1.0  # random play loses some games the oracle wins


def test_markdown_report_has_a_row_per_environment_and_the_run_info(random_run):
    text = (random_run.run_dir / "report.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table[0].startswith("| environment | episodes | success [95% CI] |") and "pass@2" in table[0]
    assert len(table) == 2 + len(QUICK_LABELS) + 1
    for label, line in zip(QUICK_LABELS, table[2:]):
        assert line.startswith(f"| {label} | 6 |")
    overall = random_run.results.overall
    assert table[-1].startswith(f"| **overall** | **24** | **{overall.success_rate:.0%}")
    assert "- **policy**: random:7" in text and "- **rollouts per task (k)**: 2" in text


def test_html_report_is_self_contained_with_embedded_plots(oracle_run):
    path = oracle_run.run_dir / "report.html"
    page = parse_page(path)
    text = path.read_text()
    assert "<style>" in text and not re.search(r"(src|href)=\"https?:", text)  # no network needed
    assert [image["alt"] for image in page.images] == ["Success rate", "Return per episode", "Turns per episode"]
    for image in page.images:
        decoded_png(image)
    # the oracle returns text only, so there are no token counts to plot: the page says so
    assert "No tokens-per-episode plot" in text
    for label in QUICK_LABELS:
        assert f"<td>{label}</td>" in text
    assert '<tr class="overall"><td>overall</td><td>12</td><td>100% [76–100]</td>' in text


def _token_trajectory(label_kwargs, seed, tokens):
    turns = [Turn(index=i, observation="o", action="a", reward=float(i == len(tokens) - 1),
                  action_span=(10 * i, 10 * i + count)) for i, count in enumerate(tokens)]
    return Trajectory(env_id="games/GuessTheNumber-v0", seed=seed, group_id=f"g{seed}", turns=turns,
                      success=True, token_ids=list(range(10 * len(tokens))),
                      metadata={"env_kwargs": label_kwargs})


def test_token_level_runs_get_a_tokens_plot(tmp_path):
    trajectories = [_token_trajectory({"difficulty": "easy"}, seed, [3, 5 + seed]) for seed in range(4)]
    groups = group_by(trajectories, entry_label)
    assert list(groups) == ["games/GuessTheNumber-v0[easy]"]
    rows = [summarize(groups[label], label, k=1) for label in groups]
    assert rows[0].mean_generated_tokens == pytest.approx(3 + 5 + 1.5)  # 8, 9, 10, 11 tokens
    results = RunResults("custom-v0", "hf:model", {}, 1, None, rows, summarize(trajectories, "overall", k=1))
    report = write_report(tmp_path, results, groups)
    assert report.plots[-1] == "Generated tokens per episode" and report.missing is None
    page = parse_page(report.html_path)
    assert len(page.images) == 4 and all(decoded_png(image) for image in page.images)


def test_without_matplotlib_the_tables_are_still_written(tmp_path, monkeypatch, oracle_run):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    groups = group_by(oracle_run.trajectories, entry_label)
    report = write_report(tmp_path, oracle_run.results, groups)
    assert report.missing and "pip install 'agentgym[eval]'" in report.missing
    page = parse_page(report.html_path)
    assert page.images == [] and "pip install" in report.html_path.read_text()
    assert json.loads(report.results_path.read_text())["policy"] == "oracle"


def test_a_run_directory_is_never_reused(oracle_run):
    with pytest.raises(ValueError, match="already holds a run"):
        evaluate("oracle", "quick-v0", tasks=1, out_dir=oracle_run.run_dir, progress=False)
