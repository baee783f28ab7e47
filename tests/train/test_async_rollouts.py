"""The rollout side of asynchronous training: a behaviour policy refreshed between calls with
per-turn versions, the staleness gate and check, errors handed to the learner, clean shutdown."""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest
import torch

from agentgym.credit import Advantages
from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import RolloutConfig, Task, arollout, rollout
from agentgym.train.async_rollouts import (
    VERSION_KEY,
    VERSIONS_KEY,
    AsyncRollouts,
    BehaviourPolicy,
    drop_stale,
    trainable_weights,
)
from agentgym.train.batching import training_rows
from agentgym.train.update import score_rows
from tests.train.word_world import ENV_ID, tiny_model, word_tokenizer
from tests.resource_probe import live_threads, started_since


def _behaviour(seed: int = 0, version: int = 0) -> BehaviourPolicy:
    model = tiny_model(seed, hidden_size=64, initializer_range=0.2)
    return BehaviourPolicy(HFPolicy(model, word_tokenizer()), version=version)


def _config(seed: int, group_size: int = 2) -> RolloutConfig:
    return RolloutConfig(group_size=group_size, system_prompt=None, max_concurrent_episodes=64,
                         sampling=SamplingParams(max_tokens=2, temperature=1.0, seed=seed))


def _play(tasks_per_step: int = 2, group_size: int = 2):
    async def play(step, policy):
        tasks = [Task(ENV_ID, seed=1000 * step + i) for i in range(tasks_per_step)]
        return await arollout(policy, tasks, _config(step, group_size), progress=False)
    return play


def _threads_back_to(before: set, seconds: float = 10.0) -> bool:
    """No thread started since ``before`` is alive (waiting up to ``seconds`` for them to end)."""
    deadline = time.monotonic() + seconds
    while started_since(before) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not started_since(before)


def test_staged_weights_are_taken_at_the_next_call_with_their_version():
    behaviour = _behaviour(0)
    newer = tiny_model(7, hidden_size=64, initializer_range=0.2)
    tasks = [Task(ENV_ID, seed=s) for s in range(2)]
    first = rollout(behaviour, tasks, _config(3), progress=False).trajectories
    assert len(behaviour.inner.prefix_cache) > 0  # the first rollout's sequences are kept
    behaviour.stage(trainable_weights(newer), version=1)
    assert behaviour.version == 0  # staged, not taken: no call has run since
    assert len(behaviour.inner.prefix_cache) > 0
    second = rollout(behaviour, tasks, _config(3), progress=False).trajectories
    assert behaviour.version == 1 and behaviour.refreshes == 1
    for name, parameter in newer.named_parameters():
        assert torch.equal(dict(behaviour.inner.model.named_parameters())[name], parameter)
    # The same rollout played by a fresh policy over the newer weights: the same tokens and log-probs.
    reference = rollout(HFPolicy(newer, word_tokenizer()), tasks, _config(3), progress=False).trajectories
    assert [t.token_ids for t in second] == [t.token_ids for t in reference]
    assert [[turn.logprobs for turn in t.turns] for t in second] == [[turn.logprobs for turn in t.turns]
                                                                     for t in reference]
    assert [behaviour.turn_versions(t, default=-1) for t in first] == [[0] * len(t.turns) for t in first]
    assert [behaviour.turn_versions(t, default=-1) for t in second] == [[1] * len(t.turns) for t in second]
    with pytest.raises(KeyError, match="no parameters named"):
        behaviour.stage({"not.a.parameter": torch.zeros(1)}, version=2)


def test_an_episode_spanning_a_refresh_records_each_turns_version():
    """The first episode to end stages new weights; the episodes still playing finish, their
    later turns sampled by the new version, and each turn's log-probs are its version's."""
    behaviour = _behaviour(0)
    older = copy.deepcopy(behaviour.inner.model)
    newer = tiny_model(7, hidden_size=64, initializer_range=0.2)

    def first_end(trajectory):
        if behaviour.refreshes == 0:
            behaviour.stage(trajectory_weights, version=1)

    trajectory_weights = trainable_weights(newer)
    tasks = [Task(ENV_ID, seed=s) for s in range(8)]
    trajectories = rollout(behaviour, tasks, _config(5, group_size=4), progress=False,
                           on_episode=first_end).trajectories
    versions = [behaviour.turn_versions(t, default=-1) for t in trajectories]
    assert all(v[0] == 0 and v == sorted(v) for v in versions)  # every episode started under version 0
    spanning = [v for v in versions if v[0] == 0 and v[-1] == 1]
    assert spanning, versions  # some episodes outlived the first one and took the refresh mid-way
    rows, _ = training_rows(trajectories, Advantages.broadcast(trajectories, [[0.0] * len(t.turns)
                                                                              for t in trajectories]))
    scored = {name: score_rows(model, rows, temperature=1.0, token_budget=4096)[0]
              for name, model in (("older", older), ("newer", newer))}
    checked = {0: 0, 1: 0}
    for trajectory, row_versions, old, new in zip(trajectories, versions, scored["older"], scored["newer"]):
        for turn, version in zip(trajectory.turns, row_versions):
            start, end = turn.action_span
            sampled = np.asarray(turn.logprobs)
            own, other = (old, new) if version == 0 else (new, old)
            assert np.allclose(sampled, own[start:end].numpy(), atol=1e-4)
            assert not np.allclose(sampled, other[start:end].numpy(), atol=1e-4)
            checked[version] += 1
    assert checked[0] and checked[1]


def test_the_rollout_thread_stays_within_the_staleness_bound():
    threads = live_threads()
    rollouts = AsyncRollouts(_play(), _behaviour(0), first_step=0, last_step=4, max_staleness=1).start()
    try:
        first, second = rollouts.take(0), rollouts.take(1)  # version 0 may play steps 0 and 1
        deadline = time.monotonic() + 10
        while rollouts.waiting_step != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rollouts.waiting_step == 2  # step 2 waits for version 1
        assert not rollouts.is_ready(2) and not rollouts.is_ready(1)  # not played yet; taken
        with pytest.raises(TimeoutError):
            rollouts.take(2, timeout=0.2)
        rollouts.publish(trainable_weights(tiny_model(7, hidden_size=64, initializer_range=0.2)), version=1)
        deadline = time.monotonic() + 30
        while not rollouts.is_ready(2) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rollouts.is_ready(2)
        third = rollouts.take(2)
        assert not rollouts.is_ready(2)
    finally:
        rollouts.close()
    assert _threads_back_to(threads)
    assert first.start_version == second.start_version == 0
    for played, version in ((first, 0), (second, 0), (third, 1)):
        for trajectory in played.result.trajectories:
            assert trajectory.metadata[VERSIONS_KEY] == [version] * len(trajectory.turns)
            assert trajectory.metadata[VERSION_KEY] == version
    # The learner's check: at version 1 a lag of 1 is kept; at version 3 these are over-stale.
    kept, lags, dropped = drop_stale(second.result.trajectories, learner_version=1, max_staleness=1)
    assert len(kept) == 4 and lags == [1] * 4 and dropped == 0
    kept, lags, dropped = drop_stale(second.result.trajectories + third.result.trajectories, learner_version=3,
                                     max_staleness=1)
    assert kept == [] and lags == [3] * 4 + [2] * 4 and dropped == 8
    unplaced = copy.deepcopy(first.result.trajectories[0])
    del unplaced.metadata[VERSION_KEY]
    with pytest.raises(KeyError, match="policy_version"):
        drop_stale([unplaced], learner_version=0, max_staleness=1)


def test_closing_stops_a_rollout_in_progress_and_leaves_no_thread():
    threads = live_threads()
    rollouts = AsyncRollouts(_play(tasks_per_step=32, group_size=8), _behaviour(0), first_step=0, last_step=3,
                             max_staleness=1).start()
    deadline = time.monotonic() + 10
    while rollouts.playing_step is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert rollouts.playing_step == 0  # step 0's rollout is playing
    started = time.monotonic()
    rollouts.close()
    assert time.monotonic() - started < 10
    assert _threads_back_to(threads)
    # The rollout ended the ordinary way: the episodes still playing ended at their next turn.
    stopped = [t for t in rollouts.take(0).result.trajectories if "rollout was stopped" in (t.error or "")]
    assert stopped and all(t.error_kind == "policy" for t in stopped)
    with pytest.raises(RuntimeError, match="closed"):
        rollouts.take(1)
    rollouts.close()  # idempotent


def test_an_error_on_the_rollout_thread_reaches_the_learner():
    threads = live_threads()
    play = _play()

    async def failing(step, policy):
        if step == 1:
            raise ValueError("no tasks for step 1")
        return await play(step, policy)

    with AsyncRollouts(failing, _behaviour(0), first_step=0, last_step=3, max_staleness=1) as rollouts:
        assert len(rollouts.take(0).result.trajectories) == 4
        with pytest.raises(ValueError, match="no tasks for step 1"):
            rollouts.take(1)
    assert _threads_back_to(threads)
