"""Hostile settings of the credit estimators: weights that are not finite numbers, a bare string
for a list of keys, structural keys that cannot be grouped."""

from __future__ import annotations

import math

import pytest

from agentgym.credit import GiGPO, MultiChannelGRPO, StratifiedGRPO
from tests.credit.builders import build_trajectory


def _batch():
    return [build_trajectory([1.0, 0.0]), build_trajectory([0.0, 0.5])]


@pytest.mark.parametrize("bad", [math.nan, math.inf, "2", None, True])
def test_gigpo_step_weight_must_be_a_finite_number(bad):
    # A NaN weight made every advantage NaN in silence, inf made them +-inf.
    with pytest.raises(ValueError, match="step_weight"):
        GiGPO(step_weight=bad)


@pytest.mark.parametrize("bad", [math.nan, -math.inf, "x", None, True])
def test_multichannel_channel_weights_must_be_finite_numbers(bad):
    with pytest.raises(ValueError, match="'task'"):
        MultiChannelGRPO({"task": bad})


def test_gigpo_refuses_a_bare_string_for_penalty_keys():
    # "invalid" was read letter by letter: the 'invalid' component silently stopped being a penalty.
    with pytest.raises(ValueError, match="penalty_keys"):
        GiGPO(penalty_keys="invalid")


@pytest.mark.parametrize("bad", ["0.5", None, math.nan, True])
def test_stratified_alpha_must_be_a_number_in_the_unit_interval(bad):
    with pytest.raises(ValueError, match="alpha"):
        StratifiedGRPO(alpha=bad)


def test_an_unhashable_stratum_is_refused_naming_the_trajectory():
    with pytest.raises(ValueError, match="trajectory 0.*stratum"):
        StratifiedGRPO(stratum=lambda trajectory: [len(trajectory.turns)])(_batch())


def test_an_unhashable_anchor_is_refused_naming_the_trajectory_and_turn():
    with pytest.raises(ValueError, match="trajectory 0, turn 0.*anchor"):
        GiGPO(anchor=lambda turn: [turn.observation])(_batch())
