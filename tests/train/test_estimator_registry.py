"""The estimator registry: every credit estimator is nameable from a configuration, in one place."""

import warnings

import pytest

from agentgym.core import ConfigError
from agentgym.credit import GRPO, MultiChannelGRPO, StratifiedGRPO, TurnAwareGAE
from agentgym.train.config import TrainConfig
from agentgym.train.estimators import (
    EstimatorSpec,
    build_estimator,
    estimator_names,
    estimator_spec,
    register_estimator,
)


def _algorithm(**section):
    return TrainConfig.from_dict({"algorithm": section}).algorithm


def test_every_estimator_of_the_credit_package_is_nameable():
    assert set(estimator_names()) >= {"grpo", "drgrpo", "rloo", "gigpo", "igpo", "multichannel", "stratified",
                                      "reinforce", "ppo"}
    multichannel = build_estimator(_algorithm(name="multichannel", channels={"outcome": 1, "format": 0.5}, gamma=0.9))
    assert isinstance(multichannel, MultiChannelGRPO)
    assert multichannel.channel_weights == {"outcome": 1.0, "format": 0.5} and multichannel.gamma == 0.9
    stratified = build_estimator(_algorithm(name="stratified", alpha=0.25))
    assert isinstance(stratified, StratifiedGRPO) and stratified.alpha == 0.25
    assert isinstance(build_estimator(_algorithm(name="ppo")), TurnAwareGAE)


def test_what_the_trainer_asks_of_an_algorithm_comes_from_its_entry():
    assert _algorithm(name="gigpo").discount == 0.95 and _algorithm(name="gigpo", gamma=0.5).discount == 0.5
    assert _algorithm(name="ppo").uses_value_head and not _algorithm(name="grpo").uses_value_head
    assert estimator_spec("igpo").information_gain and not estimator_spec("grpo").information_gain
    assert not estimator_spec("reinforce").compares_group and estimator_spec("stratified").compares_group


CELL = """
from agentgym.credit import GRPO
from agentgym.train.estimators import EstimatorSpec, register_estimator

spec = register_estimator(EstimatorSpec("test_grpo_eps", lambda algo: GRPO(eps=1e-3), "GRPO with a larger epsilon"))
"""


def test_a_registered_estimator_is_nameable_and_names_are_not_taken_twice():
    cell = {"__name__": "__main__"}
    exec(CELL, cell)
    spec = cell["spec"]
    try:
        assert isinstance(build_estimator(_algorithm(name="test_grpo_eps")), GRPO)
        assert register_estimator(spec) is spec  # the same spec again: a no-op
        rerun = {"__name__": "__main__"}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(CELL, rerun)  # a notebook cell run again: a new lambda of the same code, a no-op
        assert rerun["spec"] is spec
        with pytest.raises(ConfigError, match="registered already"):
            exec(CELL.replace("eps=1e-3", "eps=1e-2"), {"__name__": "__main__"})  # an edited one
        with pytest.raises(ConfigError, match="registered already"):
            register_estimator(EstimatorSpec("test_grpo_eps", spec.build, "another summary"))
        with pytest.warns(UserWarning, match="'test_grpo_eps' is replaced"):
            other = register_estimator(EstimatorSpec("test_grpo_eps", spec.build, "another summary"), override=True)
        assert estimator_spec("test_grpo_eps") is other
    finally:
        from agentgym.train import estimators

        estimators._ESTIMATORS.pop("test_grpo_eps")
    with pytest.raises(ConfigError, match="unknown algorithm 'test_grpo_eps'"):
        estimator_spec("test_grpo_eps")
