"""Data-parallel updates under ``torch.distributed``: two CPU processes (gloo), each given its own
share of the rows, take exactly the step that one process takes on all the rows.

The workers are this file run as a script with the environment ``torchrun`` gives each process
(``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``); they join the group through
``env://``, run :meth:`PolicyUpdater.update` on their share of each scenario and save their
weights and metrics. The shares are deliberately unequal (more rows and more trained tokens on
rank 0, or no rows at all on rank 1), so a loss normalised per process and then averaged across
processes would give another step than the global one; a test checks that it would (the
comparison has teeth).
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agentgym.credit import GRPO
from agentgym.train import PolicyUpdater, TrainingRow, UpdateSettings, training_rows
import agentgym.train.update as _U
_orig = _U._all_reduce_gradients
def _avg(parameters):  # SABOTAGE: DDP-style average
    _orig(parameters)
    if _U._distributed():
        for p in parameters:
            p.grad /= 2
_U._all_reduce_gradients = _avg

REPO_ROOT = Path(__file__).resolve().parents[2]
WORLD_SIZE = 2
WORKER_TIMEOUT_S = 120
TEMPERATURE = 0.7  # the rollout's (tests/train/conftest.py)


def split_unevenly(rows: list[TrainingRow]) -> list[list[TrainingRow]]:
    """Rank 0 gets the longer rows, about two thirds of them; rank 1 the rest."""
    by_length = sorted(rows, key=lambda row: (-row.num_loss_tokens, -len(row)))
    cut = (2 * len(rows)) // 3
    return [by_length[:cut], by_length[cut:]]


def all_on_rank_zero(rows: list[TrainingRow]) -> list[list[TrainingRow]]:
    return [list(rows), []]


# Each scenario: the update's settings and how the rows are shared out. Plain SGD throughout, so
# that a wrongly scaled gradient shows in the step (Adam would normalise it away).
SCENARIOS: dict[str, tuple[dict, object]] = {
    "token-mean": (dict(aggregation="token-mean", max_grad_norm=None), split_unevenly),
    "seq-mean-token-mean, two epochs, clipped, small micro-batches": (
        dict(aggregation="seq-mean-token-mean", max_grad_norm=0.05, epochs=2, micro_batch_tokens=40), split_unevenly),
    "seq-mean-token-sum, rank 1 without rows": (dict(aggregation="seq-mean-token-sum", max_grad_norm=None),
                                                all_on_rank_zero),
}


def updated(rows: list[TrainingRow], scenario: str) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Weights and metrics after an update of ``tiny_model(0)`` on ``rows`` (on this process's
    share of them under ``torch.distributed``)."""
    from tests.train.word_world import tiny_model

    model = tiny_model(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    settings = UpdateSettings(temperature=TEMPERATURE, **SCENARIOS[scenario][0])
    metrics = PolicyUpdater(model, optimizer, settings).update(rows, generator=torch.Generator().manual_seed(0))
    return {name: p.detach().clone() for name, p in model.named_parameters()}, metrics


def initial_parameters() -> dict[str, torch.Tensor]:
    from tests.train.word_world import tiny_model

    return {name: p.detach() for name, p in tiny_model(0).named_parameters()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_workers(rows: list[TrainingRow], folder: Path) -> list[dict]:
    """Start one worker per rank with torchrun's environment; their saved results, by rank."""
    shares = {scenario: share(rows) for scenario, (_, share) in SCENARIOS.items()}
    (folder / "shares.pkl").write_bytes(pickle.dumps(shares))
    port = free_port()
    workers = []
    for rank in range(WORLD_SIZE):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD_SIZE),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        workers.append(subprocess.Popen([sys.executable, __file__, str(folder)], env=env, cwd=REPO_ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    failures = []
    for rank, worker in enumerate(workers):
        try:
            output, _ = worker.communicate(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for other in workers:
                other.kill()
            output, _ = worker.communicate()
            failures.append(f"rank {rank} timed out:\n{output[-3000:]}")
            continue
        if worker.returncode != 0:
            failures.append(f"rank {rank} exited with {worker.returncode}:\n{output[-3000:]}")
    assert not failures, "\n".join(failures)
    return [torch.load(folder / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]


@pytest.fixture(scope="module")
def rows(world_rollout) -> list[TrainingRow]:
    rows, _ = training_rows(world_rollout, GRPO()(world_rollout), on_untrainable="error")
    assert len(rows) == len(world_rollout) and any(row.advantages.any() for row in rows)
    return rows


@pytest.fixture(scope="module")
def distributed_results(rows, tmp_path_factory) -> list[dict]:
    return run_workers(rows, tmp_path_factory.mktemp("distributed"))


def test_the_uneven_shares_are_unequal(rows):
    shares = split_unevenly(rows)
    tokens = [sum(row.num_loss_tokens for row in share) for share in shares]
    assert len(shares[0]) > len(shares[1]) > 0 and tokens[0] > tokens[1] > 0


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_two_processes_take_the_single_process_step(rows, distributed_results, scenario):
    single_params, single_metrics = updated(rows, scenario)
    start = initial_parameters()
    assert max(float((single_params[name] - start[name]).abs().max()) for name in start) > 1e-3  # a real step
    for rank, results in enumerate(distributed_results):
        params, metrics = results[scenario]["params"], results[scenario]["metrics"]
        for name, value in single_params.items():
            torch.testing.assert_close(params[name], value, rtol=0, atol=1e-6, msg=f"rank {rank}, {name}")
        # The metrics are global too: one process's.
        assert metrics["loss"] == pytest.approx(single_metrics["loss"], abs=1e-6)
        assert metrics["grad_norm"] == pytest.approx(single_metrics["grad_norm"], rel=1e-5)
        assert metrics["train_tokens"] == single_metrics["train_tokens"]
        assert metrics["optimizer_steps"] == single_metrics["optimizer_steps"]
    max_grad_norm = SCENARIOS[scenario][0]["max_grad_norm"]
    if max_grad_norm is not None:  # clipping acted, on the global norm
        assert single_metrics["grad_norm"] > 2 * max_grad_norm


def test_averaging_per_process_losses_would_give_another_step(rows):
    """The failure mode the global normalisation prevents: each process normalising by its own
    token count and the gradients then averaged (as DistributedDataParallel does) is another
    step here."""
    single_params, _ = updated(rows, "token-mean")
    start = initial_parameters()
    local = [updated(share, "token-mean")[0] for share in split_unevenly(rows)]
    # With SGD the step is linear in the gradient: averaging the gradients averages the steps.
    largest_gap = max(
        float((start[name] + sum(params[name] - start[name] for params in local) / WORLD_SIZE - value).abs().max())
        for name, value in single_params.items())
    assert largest_gap > 1e-4


def _worker(folder: Path) -> None:
    """One rank (torchrun-style environment): each scenario's update on this rank's share."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method="env://")
    try:
        rank = dist.get_rank()
        shares = pickle.loads((folder / "shares.pkl").read_bytes())
        results = {}
        for scenario in SCENARIOS:
            params, metrics = updated(shares[scenario][rank], scenario)
            results[scenario] = {"params": params, "metrics": metrics}
        torch.save(results, folder / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
