"""``agentgym train`` killed with SIGKILL mid-run loses nothing: the metrics log reads back line
by line (at most a cut-off last line, which the reader skips), ``latest`` names a complete
checkpoint, and ``agentgym train --resume`` continues from it to the end, each step logged once.

The run is real: ``python -m agentgym.cli train`` in a child process, a tiny random Llama with a
byte-level tokenizer (saved to a folder as any model would be) playing GuessTheNumber on the CPU,
a checkpoint after every step so that the kill is likely to land in the middle of one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentgym.cli import main
from agentgym.train.checkpoint import checkpoint_steps, load_checkpoint
from agentgym.train.logging import read_metrics
from tests.rewards.tiny_lm import tiny_llama, tiny_tokenizer

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS = 200  # far more than run before the kill; the resumed run ends a few steps after it
WAIT_S = 90  # for the child's start (imports) and its first checkpoints, on busy shared cores
CONFIG = """
[run]
steps = {steps}
seed = 1
out_dir = "{out}"
[model]
path = "{model}"
[env]
id = "games/GuessTheNumber-v0"
tasks_per_step = 2
[rollout]
group_size = 2
max_turns = 2
max_tokens = 4
[optimizer]
lr = 0.001
[checkpoint]
every = 1
keep_last = 2
save_final = false
[logging]
console = false
plot = false
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = tiny_tokenizer()
    tiny_llama(len(tokenizer), layers=1).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _train(*args: str, log: Path) -> subprocess.Popen:
    """``python -m agentgym.cli train ARGS`` in a child process, its output to ``log``."""
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    with open(log, "ab") as output:
        return subprocess.Popen([sys.executable, "-m", "agentgym.cli", "train", *args], cwd=REPO_ROOT, env=env,
                                stdout=output, stderr=subprocess.STDOUT)


def _wait_for(condition, child: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert child.poll() is None, f"the run ended ({child.returncode}) early:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"nothing after {WAIT_S} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.02)


def test_a_run_killed_mid_training_resumes_from_a_complete_checkpoint(tmp_path, model_dir, resources, capsys):
    run, log = tmp_path / "run", tmp_path / "train.log"
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(steps=STEPS, out=run.as_posix(), model=model_dir.as_posix()))

    child = _train("--config", str(config), log=log)
    try:
        # Past the first checkpoint, into the save of the ones after it.
        _wait_for(lambda: len(checkpoint_steps(run)) >= 2, child, log)
        child.kill()
        assert child.wait(timeout=30) == -9, "the run was meant to be killed, not to finish"
    finally:
        child.kill()
        child.wait(timeout=30)

    logged = [record["step"] for record in read_metrics(run)]
    assert logged == list(range(1, len(logged) + 1)), logged
    survivor = load_checkpoint(run)  # what `latest` names
    assert {p.name for p in survivor.path.iterdir()} >= {"state.pt", "config.json", "history.json"}
    assert 1 <= survivor.step <= len(logged) < STEPS  # every checkpointed step was logged first
    assert [record["step"] for record in survivor.history] == list(range(1, survivor.step + 1))

    end = survivor.step + 3  # in this process: the CLI's entry point, without a second start-up
    assert main(["train", "--resume", str(run), "--steps", str(end)]) == 0
    assert f"trained to step {end}" in capsys.readouterr().out
    assert [record["step"] for record in read_metrics(run)] == list(range(1, end + 1))  # each step once
    assert load_checkpoint(run).step == end
    assert sorted(checkpoint_steps(run)) == [end - 1, end]  # keep_last = 2
    assert not list((run / "checkpoints").glob("*.tmp")), "staging folders of the killed save left behind"
    resources.assert_released()
