"""A vision-language policy on the GUI family's real screenshots (gui/Grounding-v0 in Chromium):
rollouts are token-exact with the screenshots' image tokens, the trainer recomputes their
log-probs, and a training step on them runs from a configuration; no browser is left behind."""

from __future__ import annotations

import numpy as np
import pytest

import agentgym.envs.gui  # noqa: F401  (registers gui/*)
from agentgym.browser.pool import shared_pool
from agentgym.browser.processes import browser_processes
from agentgym.credit import GRPO
from agentgym.policies.base import SamplingParams
from agentgym.policies.hf_vision import HFVisionPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.train.batching import training_rows
from agentgym.train.config import TrainConfig
from agentgym.train.trainer import Trainer
from agentgym.train.update import score_rows
from tests.vlm.vlm_models import bpe_tokenizer, processor, tiny_vlm

GROUNDING = "gui/Grounding-v0"
# Small screenshots: the phone's 412x915 screen resized to a longer side of 64 pixels.
SCREEN = {"difficulty": "easy", "device": "phone", "frame": "resized", "max_side": 64}


@pytest.fixture(scope="module")
def browsers():
    """The process-wide pool the environments use; closed after the module, leaving no browser."""
    pool = shared_pool()
    yield pool
    markers = [worker.marker for worker in pool.browsers if worker.marker]
    pool.close()
    assert all(not browser_processes(marker) for marker in markers), "a browser outlived the pool"


def test_gui_screenshots_roll_out_token_exact_and_train(browsers, tmp_path):
    tokenizer = bpe_tokenizer("qwen2_vl")
    proc = processor("qwen2_vl", tokenizer)
    model = tiny_vlm("qwen2_vl", tokenizer, seed=0, context=4096)  # the task text is long in a 400-token BPE
    policy = HFVisionPolicy(model, proc)
    config = RolloutConfig(group_size=2, system_prompt=None,
                           sampling=SamplingParams(max_tokens=6, temperature=1.0, seed=0))
    result = rollout(policy, [Task(GROUNDING, seed=s, kwargs=SCREEN) for s in range(2)], config, progress=False)
    trajectories = result.trajectories
    assert all(t.error is None and t.token_exact for t in trajectories), [t.error for t in trajectories]
    screenshot = trajectories[0].turns[0].observation_image
    assert screenshot is not None and max(screenshot.shape[:2]) == 64
    rows, report = training_rows(trajectories, GRPO()(trajectories), vision=policy.family, on_untrainable="error")
    for row in rows:
        assert len(row.images) == 1 and row.images[0].num_tokens > 1
        assert int((row.token_ids == policy.family.image_token_id).sum()) == row.images[0].num_tokens
    logprobs, _ = score_rows(model, rows, temperature=1.0, token_budget=10_000)
    for lp, row in zip(logprobs, rows):
        np.testing.assert_allclose(lp.numpy()[row.loss_mask], row.old_logprobs[row.loss_mask], atol=1e-5)

    # The same from a configuration: the trainer rolls out on the screenshots and updates.
    train = TrainConfig.from_dict({
        "run": {"steps": 1, "seed": 0, "out_dir": str(tmp_path)},
        "env": {"id": GROUNDING, "tasks_per_step": 2, "train_seeds": [0, 100], "kwargs": SCREEN},
        "rollout": {"group_size": 2, "max_tokens": 6, "system_prompt": ""},
        "loss": {"entropy_coef": 0.01},  # every click of a random model misses: the entropy term still trains
        "checkpoint": {"every": 0, "save_final": False},
        "logging": {"console": False, "plot": False},
    })
    before = [p.detach().clone() for p in model.parameters()]
    (record,) = Trainer(train, model=model, tokenizer=proc).train()
    assert record["rollout/untrainable"] == 0 and record["rollout/episodes"] == 4
    assert record["train/ratio_max"] == pytest.approx(1.0, abs=1e-4)
    assert any(not torch_equal(a, b) for a, b in zip(before, model.parameters()))


def torch_equal(a, b) -> bool:
    return bool((a == b).all())
