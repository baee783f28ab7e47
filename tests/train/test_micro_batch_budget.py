"""The micro-batch token budget ("auto": from free memory and the model's shape), its validation,
and the train-step benchmark's out-of-memory reporting."""

from __future__ import annotations

import importlib.util
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agentgym.train import update
from agentgym.train.batching import CPU_TOKEN_CAP, TrainingRow, auto_token_budget, bytes_per_token
from agentgym.train.config import ConfigError, TrainConfig
from agentgym.train.sft import SFTSettings
from agentgym.train.update import PolicyUpdater, UpdateSettings, resolve_token_budget
from tests.train.word_world import tiny_model

GiB, MiB = 2**30, 2**20


def test_the_budget_is_the_largest_length_that_fits_half_the_free_memory():
    # (10 GiB free - 2 GiB reserved) * 0.5 = 4 GiB at 1 MiB a token: 4096 tokens.
    assert auto_token_budget(10 * GiB, bytes_per_token=MiB, reserved_bytes=2 * GiB, cap=65_536) == 4096
    assert auto_token_budget(10 * GiB, bytes_per_token=MiB, reserved_bytes=2 * GiB, cap=2048) == 2048  # capped
    # 1000 tokens' worth: rounded down to a multiple of 256.
    assert auto_token_budget(2000 * MiB, bytes_per_token=MiB, cap=65_536) == 768
    # Less free than reserved: the smallest budget, not zero or a negative one.
    assert auto_token_budget(GiB, bytes_per_token=MiB, reserved_bytes=2 * GiB, cap=65_536) == 256
    # A quadratic term: a L + b L^2 = 2^32 with a = 2^19, b = 128 has the root L = 4096
    # (4096 * 2^19 = 2^31 and 4096^2 * 128 = 2^31).
    assert auto_token_budget(2**33, bytes_per_token=2**19, bytes_per_pair=128, cap=65_536) == 4096
    assert auto_token_budget(2**33, bytes_per_token=2**19, cap=65_536) == 8192  # the same memory, linear
    with pytest.raises(ValueError, match="bytes_per_token > 0"):
        auto_token_budget(GiB, bytes_per_token=0, cap=4096)


def test_bytes_per_token_of_smollm2():
    # 30 layers x (9 x 576 + 4 x 192 + 4 x 1536) = 30 x 12,096 elements x 4 bytes = 1,451,520
    # plus 6 x 49,152 float32 logits-sized values = 1,179,648: 2,631,168 bytes a token.
    assert bytes_per_token(hidden_size=576, intermediate_size=1536, layers=30, vocab_size=49152, kv_size=192,
                           element_size=4) == 2_631_168


def _tiny_shape(model):
    config = model.config
    return dict(hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
                layers=config.num_hidden_layers, vocab_size=config.vocab_size,
                kv_size=config.num_key_value_heads * config.hidden_size // config.num_attention_heads, element_size=4)


def test_auto_resolves_from_the_free_memory_the_model_and_the_attention(monkeypatch):
    model = tiny_model(0)
    per_token = bytes_per_token(**_tiny_shape(model))
    reserved = 3 * 4 * sum(p.numel() for p in model.parameters())  # gradients + two AdamW moments, float32
    free = reserved + 2 * 1000 * per_token  # half of it after the reserve: 1000 tokens
    monkeypatch.setattr(update, "_free_memory", lambda device: float(free))
    assert resolve_token_budget(model, 1234) == 1234
    assert resolve_token_budget(model, "auto") == 768
    # The model's own attention over packed rows adds the mask, L^2 x (1 + 2 layers x 4 bytes).
    usable = 1000 * per_token
    root = (math.sqrt(per_token ** 2 + 4 * 9 * usable) - per_token) / (2 * 9)
    assert resolve_token_budget(model, "auto", attention="model") == math.floor(root / 256) * 256 < 768
    # No gradients or optimizer state to come when only scoring: nothing reserved.
    scoring = resolve_token_budget(model, "auto", training=False)
    assert scoring == auto_token_budget(free, bytes_per_token=per_token, cap=CPU_TOKEN_CAP) >= 768
    # A model without a transformers config: the CPU cap.
    assert resolve_token_budget(torch.nn.Linear(4, 4), "auto") == CPU_TOKEN_CAP


def test_the_free_memory_of_this_machine_is_measured():
    free = update._free_memory(torch.device("cpu"))
    assert free is not None and 0 < free


def test_the_update_resolves_once_and_reports_the_budget(monkeypatch):
    model = tiny_model(0)
    per_token = bytes_per_token(**_tiny_shape(model))
    reserved = 3 * 4 * sum(p.numel() for p in model.parameters())
    monkeypatch.setattr(update, "_free_memory", lambda device: float(reserved + 2 * 600 * per_token))
    rows = [TrainingRow(np.arange(n) % 20 + 3, np.arange(n) > 0, np.zeros(n, np.float32),
                        np.ones(n, np.float32)) for n in (200, 200, 200)]
    updater = PolicyUpdater(model, torch.optim.SGD(model.parameters(), lr=0.01), UpdateSettings())
    metrics = updater.update(rows)
    assert metrics["micro_batch_tokens"] == 512 and metrics["micro_batches"] == 2  # 200 + 200, then 200
    monkeypatch.setattr(update, "_free_memory", lambda device: float(10 * GiB))
    assert updater.update(rows)["micro_batch_tokens"] == 512  # kept for the run: the packing does not drift
    fixed = PolicyUpdater(model, torch.optim.SGD(model.parameters(), lr=0.01), UpdateSettings(micro_batch_tokens=300))
    assert fixed.update(rows)["micro_batch_tokens"] == 300


def test_bad_budgets_and_attention_choices_are_refused_with_their_names():
    for bad in ("big", 0, True, 2.5):
        with pytest.raises(ValueError, match='micro_batch_tokens must be a positive integer or "auto"'):
            UpdateSettings(micro_batch_tokens=bad)
        with pytest.raises(ValueError, match='SFTSettings.micro_batch_tokens must be a positive integer or "auto"'):
            SFTSettings(micro_batch_tokens=bad)
    with pytest.raises(ValueError, match="attention must be one of auto, packed, model"):
        UpdateSettings(attention="flash")
    with pytest.raises(ValueError, match="SFTSettings.attention must be one of"):
        SFTSettings(attention="flash")

    def problems(batching):
        with pytest.raises(ConfigError) as error:
            TrainConfig.from_dict({"batching": batching})
        return str(error.value)

    assert 'batching.micro_batch_tokens must be an integer or one of "auto", got "big"' in problems(
        {"micro_batch_tokens": "big"})
    assert 'batching.micro_batch_tokens must be a positive integer or "auto", got 0' in problems(
        {"micro_batch_tokens": 0})
    assert 'batching.attention must be one of "auto", "packed", "model", got "flash"' in problems(
        {"attention": "flash"})
    assert TrainConfig.from_dict({"batching": {"micro_batch_tokens": 512, "attention": "model"}}).batching.attention \
        == "model"


# ----------------------------------------------------------------------------- the benchmark's OOM path
@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train_step.py"
    spec = importlib.util.spec_from_file_location("bench_train_step_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_a_side_out_of_memory_is_reported_and_the_other_sides_figures_still_come_out(bench):
    args = bench.parse_args(["--sides", "agentgym", "trl", "--simulate-oom", "trl", "--groups", "1", "--group-size",
                             "2", "--prompt-tokens", "4", "8", "--completion-tokens", "4", "8", "--rounds", "1",
                             "--steps", "1"])
    memory = {side: [bench.memory_worker(args, side)] for side in ("agentgym", "trl")}
    assert memory["trl"][0]["out_of_memory"] and "OutOfMemoryError" in memory["trl"][0]["error"]
    assert memory["agentgym"][0]["update_peak_bytes"] >= 0 and memory["agentgym"][0]["micro_batch_tokens"] == 4096
    timing = bench.timing_worker(args, "agentgym")
    assert list(timing["wall"]) == ["agentgym"] and len(timing["wall"]["agentgym"]) == 1
    assert "trl" in timing["out_of_memory"]

    report = bench.summarise(memory, [timing], args)
    assert report["out_of_memory"] == ["trl"] and report["sides"]["trl"]["out_of_memory"]
    assert report["sides"]["agentgym"]["tokens_per_second"] > 0 and report["ratio"] is None
    table = bench.markdown(report)
    trl_row = next(line for line in table.splitlines() if line.startswith("| TRL"))
    ours_row = next(line for line in table.splitlines() if line.startswith("| agentgym"))
    assert "out of memory" in trl_row and f"{report['sides']['agentgym']['tokens_per_second']:.0f}" in ours_row
    assert "n/a (trl out of memory)" in table


def test_a_worker_killed_by_the_kernel_counts_as_out_of_memory(bench):
    killed = subprocess.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
                            capture_output=True, text=True, check=False)
    assert killed.returncode == -signal.SIGKILL
    outcome = bench.worker_outcome("memory:trl", killed.returncode, killed.stdout, killed.stderr)
    assert outcome["side"] == "trl" and outcome["out_of_memory"] and "SIGKILL" in outcome["error"]
    with pytest.raises(RuntimeError, match="failed"):
        bench.worker_outcome("memory:trl", 1, "", "Traceback: something else")
    with pytest.raises(RuntimeError) as failure:
        torch.empty(2**50, dtype=torch.uint8)  # a real CPU allocation failure (1 PiB)
    assert bench.is_out_of_memory(failure.value)
    assert not bench.is_out_of_memory(ValueError("out of memory"))
