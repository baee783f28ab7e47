"""SyntheticEnv and ExperienceModel as a demanding user meets them: a policy that answers with
bare strings, a reward range that is not a pair."""

from __future__ import annotations

from typing import Sequence

import pytest

from agentgym.core import ConfigError
from agentgym.policies.base import Policy, Request, SamplingParams
from agentgym.synthetic import SyntheticEnv
from tests.synthetic.conftest import EASY, GUESS_ENV_ID


class BareStrings(Policy):
    """Answers every request with a well-formed reply, as a plain ``str`` (not a Generation)."""

    name = "bare-strings"

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list:
        return ["Observation: too low\nReward: 0\nDone: no" for _ in requests]


def test_a_model_that_returns_strings_not_generations_is_named_as_such() -> None:
    env = SyntheticEnv(GUESS_ENV_ID, BareStrings(), env_kwargs=EASY)
    try:
        env.reset(seed=0)
        observation, reward, terminated, truncated, info = env.step("5")
    finally:
        env.close()
    assert truncated and not terminated and reward == 0.0
    assert info["experience_error"] == "the model returned str, not a Generation"
    assert "NoneType" not in observation


@pytest.mark.parametrize("reward_range", [5, None, "01", (0.0, 0.5, 1.0)])
@pytest.mark.parametrize("experience_model", [BareStrings(), "random"])
def test_a_reward_range_that_is_not_a_pair_is_a_config_error_naming_it(reward_range, experience_model) -> None:
    with pytest.raises(ConfigError, match="reward_range must be \\(low, high\\)"):
        SyntheticEnv(GUESS_ENV_ID, experience_model, env_kwargs=EASY, reward_range=reward_range)


def test_a_buffer_file_that_grows_is_read_anew_and_its_stale_buffer_is_let_go(guess_jsonl, tmp_path) -> None:
    import gc
    import os
    import shutil
    import weakref

    path = tmp_path / "real.jsonl"
    shutil.copy(guess_jsonl, path)
    first = SyntheticEnv(GUESS_ENV_ID, BareStrings(), buffer=str(path), env_kwargs=EASY)
    stale, held = weakref.ref(first.buffer), len(first.buffer)
    first.close()
    del first
    lines = path.read_text().splitlines(keepends=True)
    with open(path, "a") as file:  # the real rollouts go on writing to it
        file.write(lines[0])
    os.utime(path, ns=(1, 1))  # a modification time of its own, however coarse the file system's clock
    second = SyntheticEnv(GUESS_ENV_ID, BareStrings(), buffer=str(path), env_kwargs=EASY)
    try:
        assert len(second.buffer) > held  # read anew
        gc.collect()
        assert stale() is None  # not kept for good in the per-process cache
    finally:
        second.close()
