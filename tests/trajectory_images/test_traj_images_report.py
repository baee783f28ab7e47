"""``agentgym report`` needs no pixels: a run whose image files are gone (or damaged) is still
summarised from its trajectories (the reader loads no image)."""

from __future__ import annotations

from agentgym.cli import main
from agentgym.eval import evaluate, summarise_run
from agentgym.suites import Suite, SuiteEntry

from .traj_images_support import ENV_ID, SquareSpotter

SEEDS = (0, 1)


def test_a_run_whose_image_files_are_gone_is_still_reported(tmp_path, capsys):
    run = evaluate(SquareSpotter(), Suite("image-squares", (SuiteEntry(ENV_ID, SEEDS),)), out_dir=tmp_path / "run",
                   progress=False).run_dir
    images = sorted((run / "trajectories.images").iterdir())
    images[0].unlink()
    images[1].write_bytes(b"not a png")
    (run / "results.json").unlink()  # rebuilt from the trajectories alone
    summary = summarise_run(run)
    assert summary.results.overall.episodes == 2 and summary.results.overall.success_rate == 1.0
    assert main(["report", str(run)]) == 0
    assert ENV_ID in (run / "report.md").read_text()
    capsys.readouterr()
