"""TRL's GRPOTrainer trains on real agentgym episodes through ``agentgym_rollout``.

Two GRPO steps of a tiny random Llama on GuessTheNumber (easy, dense reward, 3 turns) run end to
end on CPU. A subclass of the trainer keeps what TRL itself built from the hook's output (the
padded ids, masks, sampling log-probs and the rewards it computed), and the tests check that
against agentgym independently of the adapter: the model tokens replayed in a fresh environment
give the rewards TRL trained on, the masked-out tokens are the environment's observations, and
the sampling log-probs are the initial model's own.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch

pytest.importorskip("trl", reason="TRL is not installed; pip install trl")

import agentgym  # noqa: E402
from agentgym.integrations.episodes import task_from_prompt  # noqa: E402
from agentgym.integrations.trl import agentgym_rollout  # noqa: E402
from tests.integrations_trl.tiny_chat_model import chat_tokenizer, tiny_chat_model  # noqa: E402

# TRL's own notices while it trains, not about agentgym: rollout_func is marked experimental, and
# TRL asks transformers for a renamed property.
pytestmark = [pytest.mark.filterwarnings("ignore:You are using 'rollout_func':UserWarning"),
              pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")]

ENV_ID = "games/GuessTheNumber-v0"
ENV_KWARGS = {"difficulty": "easy", "dense_reward": True}
MAX_TURNS = 3
GROUP = 4


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two GRPOTrainer steps (2 seeds x 4 rollouts each) and what TRL built at each."""
    from trl import GRPOConfig, GRPOTrainer

    class RecordingGRPOTrainer(GRPOTrainer):
        recorded: list[dict] = []

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            self._rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            return self._rewards

        def _generate_and_score_completions(self, inputs):
            prompts = [x["prompt"] for x in inputs]
            output = super()._generate_and_score_completions(inputs)
            self.recorded.append({"prompts": prompts, "output": {k: v for k, v in output.items()},
                                  "rewards": self._rewards.clone(),
                                  "trajectories": list(rollout.last_trajectories)})
            return output

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small runs fastest on one thread
    tokenizer = chat_tokenizer()
    model = tiny_chat_model(0)
    initial = copy.deepcopy(model).eval()
    rollout = agentgym_rollout(ENV_ID, env_kwargs=ENV_KWARGS, max_turns=MAX_TURNS, max_tokens_per_turn=6,
                               system_prompt=None)
    # Checkpointing off, under the name this transformers reads (``gradient_checkpointing`` is
    # deprecated where ``activation_checkpointing`` exists).
    names = {f.name for f in dataclasses.fields(GRPOConfig)}
    no_checkpointing = {"activation_checkpointing" if "activation_checkpointing" in names
                        else "gradient_checkpointing": False}
    args = GRPOConfig(output_dir=str(tmp_path_factory.mktemp("grpo")), per_device_train_batch_size=2 * GROUP,
                      num_generations=GROUP, max_steps=2, learning_rate=1e-2, beta=0.0, seed=0, logging_steps=1,
                      report_to="none", save_strategy="no", use_cpu=True, bf16=False, disable_tqdm=True,
                      **no_checkpointing)
    trainer = RecordingGRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=rollout.reward_func,
                                   rollout_func=rollout, train_dataset=rollout.dataset(seeds=range(16)), args=args)
    try:
        trainer.train()
    finally:
        torch.set_num_threads(threads)
    return {"trainer": trainer, "rollout": rollout, "batches": trainer.recorded, "initial": initial,
            "tokenizer": tokenizer}


def _rows(batch):
    """Each row of a recorded batch: task, prompt tokens, completion tokens, the loss mask TRL
    uses (completion_mask * env_mask), the sampling log-probs and the reward TRL computed."""
    out = batch["output"]
    for i, prompt in enumerate(batch["prompts"]):
        prompt_ids = out["prompt_ids"][i][out["prompt_mask"][i].bool()].tolist()
        real = out["completion_mask"][i].bool()
        yield {
            "task": task_from_prompt(prompt),
            "prompt_ids": prompt_ids,
            "completion_ids": out["completion_ids"][i][real].tolist(),
            "loss_mask": (out["completion_mask"][i] * out["tool_mask"][i])[real].tolist(),
            "logprobs": out["sampling_per_token_logps"][i][real].tolist(),
            "reward": float(batch["rewards"][i, 0]),
            "trajectory": batch["trajectories"][i],
        }


def _runs(ids, mask):
    """Maximal runs of equal mask values: [(value, [ids...]), ...]."""
    runs = []
    for token, value in zip(ids, mask):
        if runs and runs[-1][0] == value:
            runs[-1][1].append(token)
        else:
            runs.append((value, [token]))
    return runs


def test_two_grpo_steps_ran_on_agentgym_episodes(run):
    batches = run["batches"]
    assert len(batches) == 2  # one generation per step
    for batch in batches:
        tasks = [task_from_prompt(p) for p in batch["prompts"]]
        assert len(tasks) == 2 * GROUP and all(t.env_id == ENV_ID and t.kwargs == ENV_KWARGS for t in tasks)
        # TRL's sampler repeats each row num_generations times: one environment seed per group
        assert len({t.seed for t in tasks}) == 2
        assert [t.seed for t in tasks] == [t.seed for t in tasks[::GROUP] for _ in range(GROUP)]
        assert [t.seed for t in batch["trajectories"]] == [t.seed for t in tasks]


def test_model_tokens_replayed_in_agentgym_give_the_rewards_trl_trained_on(run):
    tokenizer = run["tokenizer"]
    trainable = rewarded = 0
    for batch in run["batches"]:
        for row in _rows(batch):
            if not any(row["loss_mask"]):  # an episode the adapter refused: no reward, no gradient
                assert math.isnan(row["reward"]) and not row["trajectory"].token_exact
                continue
            trainable += 1
            env = agentgym.make(row["task"].env_id, max_turns=MAX_TURNS, **row["task"].kwargs)
            observation, info = env.reset(seed=row["task"].seed)
            prompt_text = tokenizer.decode(row["prompt_ids"])
            assert info["instructions"] in prompt_text and observation in prompt_text
            runs = _runs(row["completion_ids"], row["loss_mask"])
            assert runs[0][0] == 1 and runs[-1][0] == 1  # starts and ends with the model's tokens
            total, done = 0.0, False
            for value, ids in runs:
                text = tokenizer.decode(ids, skip_special_tokens=True)
                if value == 1:  # the model's own tokens: its action
                    assert not done
                    observation, reward, terminated, truncated, _ = env.step(text)
                    total += reward
                    done = terminated or truncated
                else:  # masked out: the environment's answer (and the chat template around it)
                    assert observation in text
            assert done  # the episode ended right after the last action TRL trained on
            assert row["reward"] == pytest.approx(total, abs=1e-6)
            rewarded += total != 0
            env.close()
    assert trainable >= 12 and rewarded >= 4  # the checks above ran on real, rewarded episodes


def test_sampling_logprobs_are_the_models_own_on_its_tokens_only(run):
    """In the first batch (before any update), the log-probs TRL received are those of the
    initial model at exactly the loss-mask positions, and the completion's masked tokens are
    the trajectory's action tokens."""
    model = run["initial"]
    checked = 0
    for row in _rows(run["batches"][0]):
        trajectory = row["trajectory"]
        if not any(row["loss_mask"]):
            assert all(lp == 0.0 for lp in row["logprobs"])
            continue
        sequence = row["prompt_ids"] + row["completion_ids"]
        assert sequence == trajectory.token_ids
        action_tokens = [t for t, m in zip(row["completion_ids"], row["loss_mask"]) if m]
        assert action_tokens == [trajectory.token_ids[i] for turn in trajectory.turns
                                 for i in range(*turn.action_span)]
        with torch.no_grad():
            logits = model(torch.tensor([sequence])).logits[0].float()
        start = len(row["prompt_ids"])
        expected = torch.log_softmax(logits[start - 1:-1], dim=-1).gather(
            1, torch.tensor(row["completion_ids"]).unsqueeze(1)).squeeze(1)
        for position, (mask, got) in enumerate(zip(row["loss_mask"], row["logprobs"])):
            if mask:
                assert got == pytest.approx(float(expected[position]), abs=1e-4)
                checked += 1
            else:
                assert got == 0.0
    assert checked >= 30


def test_the_update_changed_the_weights(run):
    trained = dict(run["trainer"].model.named_parameters())
    changed = [name for name, p in run["initial"].named_parameters()
               if not torch.equal(p, trained[name].detach().to(p.device))]
    assert changed, "the GRPO steps did not move any weight"
    advantages = torch.cat([b["output"]["advantages"].flatten() for b in run["batches"]])
    assert advantages.abs().max() > 0  # groups with different returns: a real policy gradient


def test_the_trainer_model_is_back_in_training_mode_after_a_rollout(run):
    trainer, rollout = run["trainer"], run["rollout"]
    trainer.model.train()
    out = rollout(run["batches"][0]["prompts"][:GROUP], trainer)
    assert trainer.model.training
    assert len(out["completion_ids"]) == GROUP == len(out["env_mask"]) == len(out["agentgym_return"])
    assert all(len(ids) == len(m) == len(lp)
               for ids, m, lp in zip(out["completion_ids"], out["env_mask"], out["logprobs"]))


def test_sampling_settings_agentgym_cannot_honour_are_refused(run):
    trainer, rollout = run["trainer"], run["rollout"]
    trainer.args.top_k = 5
    try:
        with pytest.raises(ValueError, match="top_k"):
            rollout(run["batches"][0]["prompts"][:1], trainer)
    finally:
        trainer.args.top_k = 0
