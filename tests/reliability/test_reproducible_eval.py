"""Reliability probe: `agentgym eval ... --seed 0`, run twice in one process, writes the same
trajectories, token for token.

The policy is a real ``hf:`` checkpoint (a tiny random Llama saved to disk with a byte-level BPE
and a ChatML template) played on the whole quick-v0 suite (12 episodes, 4 turns each, sampled
at temperature 1 with nucleus sampling), so every part of the README's demo path is exercised:
the command line, the rollout engine's batching, HFPolicy's padded batched decoding and its
per-request seeded generators. Between the runs only the timing may differ (the first run
also pays for loading and warm-up); the trajectories must not. The loads must be quiet (no
transformers progress bars) and no deprecation warning may come out of generation.
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from agentgym.cli import main
from agentgym.trajectory import read_trajectories
from tests.rewards.tiny_lm import tiny_llama, tiny_tokenizer

EVAL = ["eval", "--suite", "quick-v0", "--max-turns", "4", "--max-tokens", "16", "--temperature", "1.0",
        "--top-p", "0.95", "--seed", "0", "--no-progress"]


@pytest.fixture(scope="module", autouse=True)
def _fonts_loaded():
    """matplotlib keeps the font files it has used open for the life of the process (a cache,
    not a leak): draw one plot before the resource snapshot, as the eval's report will."""
    from agentgym.eval.metrics import summarize
    from agentgym.eval.plots import success_plot

    success_plot([summarize([], "warm-up")])


@pytest.fixture
def checkpoint(tmp_path):
    folder = tmp_path / "tiny-llama"
    tokenizer = tiny_tokenizer()
    tiny_llama(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Both runs use one thread (a tiny model gains nothing from more on busy shared cores);
    the thread count is part of what must stay equal for bit-identical runs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_eval(checkpoint, out_dir):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*EVAL, "--policy", f"hf:{checkpoint}", "--out", str(out_dir)]) == 0
    trajectories = read_trajectories(out_dir / "trajectories.jsonl")
    # Lines are written as episodes end; the order of ends is not part of the contract.
    by_episode = {(t.env_id, t.seed, t.metadata["rollout_index"], json.dumps(t.metadata["env_kwargs"])): t
                  for t in trajectories}
    assert len(by_episode) == len(trajectories) == 12
    return by_episode, caught


def test_seeded_eval_twice_gives_identical_trajectories(checkpoint, tmp_path, capfd, resources):
    first, first_warnings = run_eval(checkpoint, tmp_path / "run-a")
    second, second_warnings = run_eval(checkpoint, tmp_path / "run-b")
    assert first.keys() == second.keys()
    generated = 0
    for key, a in first.items():
        b = second[key]
        assert a.error is None and a.token_exact and a.token_mismatches == 0, key
        assert a.token_ids == b.token_ids, key
        assert [turn.logprobs for turn in a.turns] == [turn.logprobs for turn in b.turns], key  # bit for bit
        assert [(turn.action, turn.reward) for turn in a.turns] == [(turn.action, turn.reward) for turn in b.turns]
        assert (a.success, a.terminated, a.truncated) == (b.success, b.terminated, b.truncated)
        generated += a.generated_tokens
    assert generated > 12 * 4  # the model really spoke (not one token per turn)
    a_results = json.loads((tmp_path / "run-a" / "results.json").read_text())
    b_results = json.loads((tmp_path / "run-b" / "results.json").read_text())
    assert a_results["stats"]["generated_tokens"] == b_results["stats"]["generated_tokens"] == generated
    # Quiet: no transformers progress bar, no deprecated-argument warning from generation.
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "Loading checkpoint shards" not in err
    noisy = [str(w.message) for w in first_warnings + second_warnings
             if issubclass(w.category, (FutureWarning, DeprecationWarning)) and "past_key_values" in str(w.message)]
    assert noisy == []
    resources.assert_released()
