"""A multimodal environment's episodes through rollout -> JSONL -> reader -> export, and the
evaluation tools (report, compare) on a run whose trajectories hold images."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from agentgym.cli import main
from agentgym.eval import evaluate, load_runs, markdown_comparison, summarise_run
from agentgym.export import to_parquet
from agentgym.images import decode_png, image_digest
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.suites import Suite, SuiteEntry
from agentgym.trajectory import TrajectoryReader, image_folder, read_trajectories

from .traj_images_support import ENV_ID, FINAL_IMAGE, ROUNDS, SquareSpotter, expected_screens

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def rolled_out(tmp_path_factory):
    path = tmp_path_factory.mktemp("rollout") / "trajectories.jsonl"
    policy = SquareSpotter()
    result = rollout(policy, [Task(ENV_ID, seed) for seed in SEEDS], RolloutConfig(group_size=2),
                     trajectories_path=path, progress=False)
    return policy, result, path


def user_images(trajectory):
    return [part["image"] for m in trajectory.messages if m["role"] == "user" and isinstance(m["content"], list)
            for part in m["content"] if part["type"] == "image"]


def test_the_policy_sees_every_image_and_the_trajectory_keeps_them(rolled_out):
    policy, result, _ = rolled_out
    assert result.stats["episodes"] == 6 and result.stats["errors"] == 0
    # the policy answered from the pixels: every round right
    assert all(t.success and t.episode_return == pytest.approx(1.0) for t in result.trajectories)
    assert sorted(policy.images_seen) == sorted([1, 2, 3] * 6)  # the whole conversation, images included
    for trajectory in result.trajectories:
        screens = [image for _, image in expected_screens(trajectory.seed)]
        images = user_images(trajectory)
        assert len(images) == ROUNDS + 1
        assert all(np.array_equal(a, b) for a, b in zip(images, screens + [FINAL_IMAGE]))
        assert [np.array_equal(t.observation_image, s) for t, s in zip(trajectory.turns, screens)] == [True] * ROUNDS


def test_jsonl_holds_references_and_reads_back_equal(rolled_out):
    _, result, path = rolled_out
    lines = path.read_bytes().splitlines()
    assert len(lines) == 6
    assert max(len(line) for line in lines) < 6_000  # 7 references per line, no pixels
    # each distinct image once: a group shares its seed's screens, every episode the final one
    distinct = {image_digest(image) for seed in SEEDS for _, image in expected_screens(seed)} | {
        image_digest(FINAL_IMAGE)}
    assert sorted(p.stem for p in image_folder(path).iterdir()) == sorted(distinct)
    assert len(distinct) <= len(SEEDS) * ROUNDS + 1 < sum(len(user_images(t)) for t in result.trajectories)
    back = read_trajectories(path)
    by_key = {(t.seed, t.metadata["rollout_index"]): t for t in result.trajectories}
    assert len(back) == 6
    for trajectory in back:
        original = by_key[(trajectory.seed, trajectory.metadata["rollout_index"])]
        assert all(np.array_equal(a, b) for a, b in zip(user_images(trajectory), user_images(original)))
        assert all(np.array_equal(a.observation_image, b.observation_image)
                   for a, b in zip(trajectory.turns, original.turns))
        assert [t.action for t in trajectory.turns] == [t.action for t in original.turns]
        assert trajectory.episode_return == original.episode_return


def test_export_of_the_read_trajectories_keeps_the_images(rolled_out, tmp_path):
    _, result, path = rolled_out
    back = list(TrajectoryReader(path, lazy_images=True))
    assert to_parquet(back, tmp_path / "episodes.parquet") == 6
    for row in pq.read_table(tmp_path / "episodes.parquet").to_pylist():
        refs = [part["image_ref"] for m in json.loads(row["messages"]) if isinstance(m["content"], list)
                for part in m["content"] if part["type"] == "image"]
        assert [image["path"] for image in row["images"]] == refs and len(refs) == ROUNDS + 1
        screens = [image for _, image in expected_screens(row["seed"])] + [FINAL_IMAGE]
        assert all(np.array_equal(decode_png(image["bytes"]), s) for image, s in zip(row["images"], screens))


def test_report_and_compare_work_on_a_run_with_images(tmp_path, capsys):
    suite = Suite("image-squares", (SuiteEntry(ENV_ID, SEEDS),))
    runs = []
    for name in ("first", "second"):
        evaluation = evaluate(SquareSpotter(), suite, out_dir=tmp_path / name, progress=False)
        assert evaluation.results.overall.success_rate == 1.0
        runs.append(evaluation.run_dir)
    run = runs[0]
    assert (run / "trajectories.images").is_dir() and (run / "report.md").is_file()
    (run / "results.json").unlink()  # as if interrupted: rebuilt from the trajectories alone
    summary = summarise_run(run)
    assert summary.results.overall.episodes == 3 and summary.results.overall.success_rate == 1.0
    assert summary.unreadable_lines == []
    assert main(["report", str(run)]) == 0
    assert ENV_ID in (run / "report.md").read_text()
    table = markdown_comparison(load_runs(runs))
    assert ENV_ID in table
    capsys.readouterr()
