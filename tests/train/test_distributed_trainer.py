"""``agentgym train`` under a torchrun-style launch: two CPU processes (gloo) split each step's
tasks and make the same run as one process playing them all — the same trained weights and
the same logged metrics, written once (by rank 0).

The workers are this file run as a script with the environment ``torchrun`` gives each process;
they call the CLI exactly as ``torchrun --nproc-per-node 2 -m agentgym.cli train --config ...``
would, so the CLI's own process-group join is what runs.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agentgym.cli import main
from tests.train.conftest import learner
from tests.train.test_distributed import REPO_ROOT, WORKER_TIMEOUT_S, free_port

CONFIG = """
[run]
steps = 2
seed = 3
out_dir = "{out}"
[model]
path = "{model}"
[env]
id = "testworld/FindTheWord-v0"
tasks_per_step = 4
[rollout]
group_size = 4
max_tokens = 2
system_prompt = ""
[optimizer]
lr = 0.003
[eval]
every = 1
tasks = 5
first_seed = 2000000
temperature = 1.0
samples = 2
[checkpoint]
every = 0
save_final = true
[logging]
console = false
plot = false
[guidance]
enabled = true
levels = [1, 2]
patience = 1
failure_threshold = 2.0
"""
# Metrics of the machine, not the run: clocks, and how the rows were packed (each process packs
# its own micro-batches).
CLOCK = ("time/", "rollout/tokens_per_second", "train/micro_batches", "train/pack_fill")


def _config(folder: Path, model: Path) -> Path:
    path = folder / "run.toml"
    path.write_text(CONFIG.format(out=(folder / "run").as_posix(), model=model.as_posix()))
    return path


def _final_weights(run: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    (weights,) = (run / "final").glob("*.safetensors")
    return load_file(weights)


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    parts = learner()
    parts["model"].save_pretrained(folder)
    parts["tokenizer"].save_pretrained(folder)
    return folder


def test_two_processes_make_the_run_of_one(tmp_path, model_dir):
    single = tmp_path / "single"
    single.mkdir()
    assert main(["train", "--config", str(_config(single, model_dir))]) == 0

    spread = tmp_path / "spread"
    spread.mkdir()
    config = _config(spread, model_dir)
    port = free_port()
    workers = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        workers.append(subprocess.Popen([sys.executable, __file__, str(config)], env=env, cwd=REPO_ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=WORKER_TIMEOUT_S)[0])
    finally:
        for worker in workers:
            worker.kill()
    assert [w.returncode for w in workers] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    alone, together = _final_weights(single / "run"), _final_weights(spread / "run")
    assert alone.keys() == together.keys()
    initial = {name: p.detach() for name, p in learner()["model"].named_parameters()}
    assert any(not torch.allclose(alone[name], initial[name], atol=1e-4) for name in initial)  # it trained
    for name in alone:
        assert torch.allclose(alone[name], together[name], atol=1e-4), name  # Adam magnifies float rounding

    one, two = _metrics(single / "run"), _metrics(spread / "run")  # rank 0 alone wrote the log
    assert [r["step"] for r in two] == [0, 1, 2]
    assert [r["eval/episodes"] for r in two] == [10, 10, 10]  # 5 held-out seeds x 2, split 3 + 2
    for a, b in zip(one, two):
        assert a.keys() == b.keys()
        assert b.get("rollout/episodes", 16) == 16
        for key, value in a.items():
            if key.startswith(CLOCK) or (isinstance(value, float) and math.isnan(value)):
                continue
            if isinstance(value, str):
                assert b[key] == value, key
                continue
            assert b[key] == pytest.approx(value, rel=1e-3, abs=1e-5), key


def _worker(config: str) -> None:
    from tests.train.word_world import register

    torch.set_num_threads(1)
    register()
    code = main(["train", "--config", config])
    # The CLI destroyed its process group: nothing may hold it any more, or gloo's threads live
    # on into interpreter exit, where tearing them down now and then aborts the rank.
    left = _communication_threads()
    if left:
        sys.exit(f"the process group outlived the run: threads {left} still running")
    sys.exit(code)


def _communication_threads() -> list[str]:
    """Names of this process's threads that gloo or the rendezvous store started (Linux)."""
    names = [Path(f"/proc/self/task/{task}/comm").read_text().strip() for task in os.listdir("/proc/self/task")]
    return sorted(name for name in names if "gloo" in name or "tcpstore" in name)


if __name__ == "__main__":
    _worker(sys.argv[1])
