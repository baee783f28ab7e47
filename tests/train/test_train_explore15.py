"""Round-15 probes of the trainer internals: trajectories that training_rows must refuse (and,
with on_untrainable = "skip", count rather than raise on), demonstrations without reply tokens,
update settings that are NaN, group filters with a mistyped mode, NumPy numbers in the metrics."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from agentgym.credit import GRPO
from agentgym.train.batching import NotTrainable, check_trainable, training_rows
from agentgym.train.filters import group_weights
from agentgym.train.logging import MetricsLogger, read_metrics
from agentgym.train.sft import SFTSettings, fine_tune
from agentgym.train.update import UpdateSettings
from tests.train.word_world import tiny_model


def _cut_short(trajectory):
    """The trajectory with its token ids cut before its last turn's reply (a damaged record)."""
    damaged = copy.deepcopy(trajectory)
    damaged.token_ids = damaged.token_ids[:damaged.turns[-1].action_span[0] - 1]
    return damaged


def _reply_first(trajectory):
    """The trajectory with its first turn's reply moved to the very first tokens (no prompt)."""
    damaged = copy.deepcopy(trajectory)
    start, end = damaged.turns[0].action_span
    damaged.turns[0].action_span = (0, end - start)
    return damaged


@pytest.mark.parametrize("damage, reason", [(_cut_short, "lies outside the"),
                                            (_reply_first, "first token is generated")])
def test_an_untrainable_trajectory_is_skipped_and_counted_not_raised(world_rollout, damage, reason):
    # training_rows raised (ValueError from loss_mask(), NotTrainable) even with on_untrainable =
    # "skip": one damaged trajectory of a recorded file stopped the whole step or SFT run.
    advantages = GRPO()(world_rollout[:4])
    trajectories = [damage(world_rollout[0]), *world_rollout[1:4]]
    assert reason in check_trainable(trajectories[0])
    rows, report = training_rows(trajectories, advantages, on_untrainable="skip")
    assert [row.source for row in rows] == [1, 2, 3] and reason in report.skipped[0]
    with pytest.raises(NotTrainable, match=reason):
        training_rows(trajectories, advantages, on_untrainable="error")


def test_fine_tune_on_demonstrations_without_reply_tokens_says_so(world_rollout):
    # Rows with no loss token left the epoch's metrics without policy_loss: KeyError 'policy_loss'.
    silent = copy.deepcopy(world_rollout[0])
    for turn in silent.turns:
        turn.action_span, turn.logprobs = (turn.action_span[0], turn.action_span[0]), []
    model = tiny_model(0)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="no reply token"):
        fine_tune(model, [silent], SFTSettings(epochs=1, micro_batch_tokens=64))
    assert all((p == q).all() for p, q in zip(model.parameters(), before))


@pytest.mark.parametrize("setting", [{"eps_high": math.nan}, {"dual_clip": math.nan}, {"value_clip": math.nan},
                                     {"value_clip": -0.2}, {"kl_coef": math.nan}, {"entropy_coef": math.nan},
                                     {"value_coef": math.inf}])
def test_update_settings_refuse_a_nan_bound_or_coefficient(setting):
    # NaN passed 'eps_high <= 0' and 'dual_clip <= 1' (comparisons with NaN are false) and the
    # coefficients were not checked: the update's loss came out NaN (entropy_coef: every weight).
    name = next(iter(setting))
    with pytest.raises(ValueError, match=name):
        UpdateSettings(**setting)


def test_an_unbounded_upper_clip_is_still_taken():
    assert UpdateSettings(eps_high=math.inf).eps_high == math.inf


@pytest.mark.parametrize("setting, name", [({"zero_variance": "Drop"}, "zero_variance"),
                                           ({"zero_variance": "dorp"}, "zero_variance"),
                                           ({"zero_variance": "downweight", "zero_variance_weight": math.nan},
                                            "zero_variance_weight")])
def test_group_weights_refuse_an_unknown_filter_rather_than_downweight(world_rollout, setting, name):
    # Any zero_variance but "keep" and "drop" down-weighted the zero-variance groups by 0.1.
    with pytest.raises(ValueError, match=name):
        group_weights(world_rollout, **setting)
    assert group_weights(world_rollout[:4], zero_variance="drop") in ([0.0] * 4, [1.0] * 4)


def test_numpy_numbers_are_logged_as_numbers(tmp_path):
    # json.dumps refused np.float32 / np.int64: MetricsLogger.log raised TypeError after the step.
    logger = MetricsLogger(tmp_path, console=False)
    try:
        logger.log({"step": np.int64(1), "reward/mean": np.float32(0.5), "train/kl": np.float32("nan"),
                    "rollout/episodes": np.int64(16)})
    finally:
        logger.close()
    (record,) = read_metrics(tmp_path)
    assert record["step"] == 1 and record["reward/mean"] == 0.5 and record["rollout/episodes"] == 16
    assert math.isnan(record["train/kl"])
