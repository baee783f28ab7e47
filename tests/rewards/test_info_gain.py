"""Information-gain rewards on trajectories recorded by the rollout engine."""

import math

import numpy as np
import pytest
import torch
from transformers import PreTrainedTokenizerFast

from agentgym.credit import IGPO
from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.policies.scripted import OraclePolicy
from agentgym.rewards import InformationGainReward, UnscorableTrajectory, brute_force_values
from agentgym.rewards.info_gain import answer_block, answer_queries
from agentgym.rollout import RolloutConfig, Task, rollout

from .policies import TokenOracle
from .tiny_lm import tiny_llama, tiny_tokenizer

GUESS = "games/GuessTheNumber-v0"


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    return tiny_llama(len(tokenizer))


@pytest.fixture(scope="module")
def token_rollout(tokenizer):
    """Token-exact GuessTheNumber trajectories (medium: 4 to 7 oracle turns) and the policy
    that recorded the prompts it was given."""
    policy = TokenOracle(tokenizer)
    tasks = [Task(GUESS, seed, {"difficulty": "medium"}) for seed in range(4)]
    result = rollout(policy, tasks, RolloutConfig(max_concurrent_episodes=1), progress=False)
    assert all(t.token_exact and t.success for t in result.trajectories)
    return result.trajectories, policy.prompts


def test_engine_records_the_hidden_answer_and_stub(token_rollout):
    for trajectory in token_rollout[0]:
        assert trajectory.metadata["answer_stub"] == "The secret number is "
        assert trajectory.turns[-1].action == trajectory.metadata["reference_answer"]  # the oracle's winning guess


def test_contexts_are_exactly_the_prompts_the_policy_was_given(token_rollout, tokenizer):
    trajectories, prompts = token_rollout
    turns = [len(t.turns) for t in trajectories]
    assert min(turns) >= 4
    start = 0
    for trajectory, count in zip(trajectories, turns):
        (query,) = answer_queries(trajectory, tokenizer)
        contexts = [list(query.token_ids[:b]) for b in query.boundaries]
        assert contexts == prompts[start: start + count]  # one context per turn, as the policy saw it
        start += count
        decoded_stub_and_answer = tokenizer.decode(query.block_ids)
        assert decoded_stub_and_answer == "The secret number is " + trajectory.metadata["reference_answer"]


def test_info_gain_on_engine_trajectories_equals_brute_force(token_rollout, model, tokenizer):
    trajectories = [t for t in _copies(token_rollout[0])]
    reward = InformationGainReward(model, tokenizer, batch_size=3)
    values = reward.values(trajectories)
    reference = brute_force_values(model, tokenizer, trajectories, batch_size=4)
    assert [len(v) for v in values] == [len(t.turns) for t in trajectories]
    assert max(abs(a - b) for vs, rs in zip(values, reference) for a, b in zip(vs, rs)) < 1e-5


def test_info_gain_on_a_rollout_sampled_by_the_model_itself(model, tokenizer):
    # IGPO scores the policy's own rollouts with the policy: here a random model's guesses.
    sampling = SamplingParams(max_tokens=6, temperature=1.0, seed=0)
    tasks = [Task(GUESS, seed, {"difficulty": "hard"}) for seed in range(2)]
    trajectories = rollout(HFPolicy(model, tokenizer), tasks, RolloutConfig(
        group_size=2, max_turns=3, sampling=sampling), progress=False).trajectories
    assert all(t.token_exact and len(t.turns) >= 2 for t in trajectories)
    for trajectory in trajectories:  # each context ends where the policy's next generation began
        (query,) = answer_queries(trajectory, tokenizer)
        assert list(query.boundaries) == [turn.action_span[0] for turn in trajectory.turns]
    reward = InformationGainReward(model, tokenizer, batch_size=2)
    values = reward.values(trajectories)
    reference = brute_force_values(model, tokenizer, trajectories)
    assert max(abs(a - b) for vs, rs in zip(values, reference) for a, b in zip(vs, rs)) < 1e-5
    reward(trajectories)
    assert [sum("info_gain" in turn.reward_components for turn in t.turns) for t in trajectories] == [
        len(t.turns) - 1 for t in trajectories]
    # The IGPO credit estimator reads the components as written: in each group the IG of the
    # non-final turns is z-scored (population std).
    normalised = IGPO(outcome="success")(trajectories).components["normalised_reward"]
    for members in ([0, 1], [2, 3]):
        gains = np.array([turn.reward_components["info_gain"] for i in members for turn in trajectories[i].turns[:-1]])
        assert gains.std() > 0
        values = [value for i in members for value in normalised[i][:-1]]
        assert values == pytest.approx((gains - gains.mean()) / (gains.std() + 1e-6), abs=1e-9)


def test_each_non_final_turn_gets_its_gain_and_the_final_turn_keeps_the_outcome(token_rollout, model, tokenizer):
    trajectories = _copies(token_rollout[0])
    env_rewards = [[turn.reward for turn in t.turns] for t in trajectories]
    InformationGainReward(model, tokenizer, mode="prob_diff")(trajectories)
    for trajectory, before in zip(trajectories, env_rewards):
        v = trajectory.metadata["answer_log_probs"]
        assert len(v) == len(trajectory.turns)
        *middle, last = trajectory.turns
        for t, turn in enumerate(middle):
            assert turn.reward_components["info_gain"] == pytest.approx(math.exp(v[t + 1]) - math.exp(v[t]), abs=1e-12)
            assert turn.reward == pytest.approx(before[t] + turn.reward_components["info_gain"])
        assert "info_gain" not in last.reward_components
        assert last.reward_components == {"outcome": 1.0} and last.reward == 1.0


def test_log_prob_mode_rewards_the_change_of_mean_log_probability(token_rollout, model, tokenizer):
    trajectories = _copies(token_rollout[0][:2])
    InformationGainReward(model, tokenizer, mode="log_prob_diff")(trajectories)
    for trajectory in trajectories:
        v = trajectory.metadata["answer_log_probs"]
        gains = [turn.reward_components["info_gain"] for turn in trajectory.turns[:-1]]
        assert gains == pytest.approx([b - a for a, b in zip(v, v[1:])], abs=1e-12)
        assert any(g != 0 for g in gains)


def test_text_only_oracle_trajectory_gets_one_value_per_non_final_turn(model, tokenizer):
    result = rollout(OraclePolicy(), [Task(GUESS, 3, {"difficulty": "medium"})], progress=False)
    (trajectory,) = result.trajectories
    assert trajectory.token_ids is None and len(trajectory.turns) >= 3
    InformationGainReward(model, tokenizer)([trajectory])
    gains = [t.reward_components.get("info_gain") for t in trajectory.turns]
    assert all(g is not None for g in gains[:-1]) and gains[-1] is None
    # The rendered contexts are nested token sequences: one query, scored in one pass.
    (query,) = answer_queries(trajectory, tokenizer)
    assert len(query.boundaries) == len(trajectory.turns)
    assert tokenizer.decode(query.token_ids[: query.boundaries[1]]) == tokenizer.apply_chat_template(
        trajectory.messages[:4], tokenize=False, add_generation_prompt=True)
    reference = brute_force_values(model, tokenizer, [trajectory])[0]
    assert trajectory.metadata["answer_log_probs"] == pytest.approx(reference, abs=1e-5)


def test_templates_that_rewrite_history_are_scored_context_by_context(model, tokenizer):
    # A template whose header counts the messages: no rendered context extends the previous one.
    counting = PreTrainedTokenizerFast(tokenizer_object=tokenizer.backend_tokenizer, eos_token="<|im_end|>",
                                       chat_template="{{ messages|length }} messages\n" + tokenizer.chat_template)
    (trajectory,) = rollout(OraclePolicy(), [Task(GUESS, 3, {"difficulty": "medium"})], progress=False).trajectories
    queries = answer_queries(trajectory, counting)
    assert len(queries) == len(trajectory.turns) and all(len(q.boundaries) == 1 for q in queries)
    values = InformationGainReward(model, counting).values([trajectory])[0]
    assert values == pytest.approx(brute_force_values(model, counting, [trajectory])[0], abs=1e-5)


def test_answer_tokens_include_a_token_straddling_the_stub(tokenizer):
    ids, answer_length = answer_block(tokenizer, "The secret number is ", "42")
    assert tokenizer.decode(ids[-answer_length:]) == " 42"  # one merged token: space and digits
    assert tokenizer.decode(ids) == "The secret number is 42"
    ids, answer_length = answer_block(tokenizer, "", "crane")
    assert answer_length == len(ids) and tokenizer.decode(ids) == "crane"


def test_tokenizers_without_offsets_tokenise_stub_and_answer_apart(tokenizer):
    class WithoutOffsets:
        is_fast = False
        encode = staticmethod(tokenizer.encode)

    ids, answer_length = answer_block(WithoutOffsets(), "The secret number is ", "42")
    assert ids[-answer_length:] == tokenizer.encode("42", add_special_tokens=False)
    assert ids[:-answer_length] == tokenizer.encode("The secret number is ", add_special_tokens=False)


def test_trajectories_without_a_hidden_answer_raise_or_are_skipped(model, tokenizer):
    (plain,) = rollout(OraclePolicy(), [Task("games/TowerOfHanoi-v0", 0)], progress=False).trajectories
    assert plain.metadata["reference_answer"] is None
    with pytest.raises(UnscorableTrajectory, match="no reference answer"):
        InformationGainReward(model, tokenizer)([plain])
    (guess,) = rollout(OraclePolicy(), [Task(GUESS, 1, {"difficulty": "medium"})], progress=False).trajectories
    InformationGainReward(model, tokenizer, on_missing="skip")([plain, guess])
    assert all("info_gain" not in turn.reward_components for turn in plain.turns)
    assert "no reference answer" in plain.metadata["info_gain_skipped"]
    assert "info_gain" in guess.turns[0].reward_components


def test_bad_settings_are_refused(model, tokenizer):
    with pytest.raises(ValueError, match="mode"):
        InformationGainReward(model, tokenizer, mode="entropy")
    with pytest.raises(ValueError, match="on_missing"):
        InformationGainReward(model, tokenizer, on_missing="ignore")
    with pytest.raises(ValueError, match="batch_size"):
        InformationGainReward(model, tokenizer, batch_size=0)


def _copies(trajectories):
    """Fresh copies, so tests that write rewards do not see each other's."""
    from agentgym.trajectory import Trajectory

    return [Trajectory.from_dict(t.to_dict()) for t in trajectories]


def test_float64_model_matches_brute_force_tightly(token_rollout, tokenizer):
    model = tiny_llama(len(tokenizer), dtype=torch.float64, seed=1)
    trajectories = token_rollout[0][:2]
    values = InformationGainReward(model, tokenizer).values(trajectories)
    reference = brute_force_values(model, tokenizer, trajectories)
    assert max(abs(a - b) for vs, rs in zip(values, reference) for a, b in zip(vs, rs)) < 1e-9


def test_a_lone_surrogate_in_a_text_only_trajectory_is_scored_as_a_replacement_character(model, tokenizer):
    # The rendered contexts went to tokenizer.encode, which refuses a lone surrogate (a JSON
    # file's broken \ud800 escape): the trajectory could not be scored.
    (trajectory,) = rollout(OraclePolicy(), [Task(GUESS, 3, {"difficulty": "medium"})], progress=False).trajectories
    trajectory.messages[1]["content"] += " \ud800"
    (query,) = answer_queries(trajectory, tokenizer)
    assert "\ufffd" in tokenizer.decode(query.token_ids[: query.boundaries[1]])
