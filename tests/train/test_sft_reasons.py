"""``agentgym sft`` says why it has nothing to learn from (episodes that failed with an error,
replies the student's tokenizer cannot reproduce, recorded trajectories without token ids) and
refuses an ``--out`` it cannot write before it trains."""

from __future__ import annotations

import pytest

from agentgym.policies.base import Generation, Policy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.train.sft import demonstrations, fine_tune
from tests.train.word_world import ENV_ID, tiny_model, word_tokenizer


def test_demonstrations_that_all_fail_with_an_error_say_which_error():
    """FindTheWord has no oracle: every episode fails with that error, which the caller hears
    (it used to get an empty list and, from agentgym sft, 'no trainable demonstration among 0
    trajectories')."""
    with pytest.warns(UserWarning, match=r"3 of 3 demonstration episodes .*failed.*no oracle"):
        assert demonstrations(word_tokenizer(), ENV_ID, range(3), system_prompt="") == []


def test_fine_tune_counts_the_text_only_trajectories_it_was_given():
    class TextOnly(Policy):
        name = "text-only"

        async def agenerate(self, requests, sampling):
            return [Generation("red") for _ in requests]

    tasks = [Task(ENV_ID, seed) for seed in range(3)]
    text_only = rollout(TextOnly(), tasks, RolloutConfig(system_prompt=""), progress=False).trajectories
    with pytest.raises(ValueError, match=r"among 3 trajectories \(3 have no token ids"):
        fine_tune(tiny_model(0), text_only)


def test_sft_refuses_an_out_that_is_a_file_before_training(tmp_path, capsys):
    from agentgym.cli import main

    student = tmp_path / "student"
    tiny_model(0).save_pretrained(student)
    word_tokenizer().save_pretrained(student)
    taken = tmp_path / "taken.txt"
    taken.write_text("not a folder")
    assert main(["sft", "--model", str(student), "--env", ENV_ID, "--episodes", "1", "--out", str(taken)]) == 2
    captured = capsys.readouterr()
    assert "--out" in captured.err and "is a file" in captured.err
    assert "demonstrations:" not in captured.out and taken.read_text() == "not a folder"
    # a folder that cannot be made (below a file, say) fails before the training too
    assert main(["sft", "--model", str(student), "--env", ENV_ID, "--episodes", "1", "--out", str(taken / "sub")]) == 2
    assert "demonstrations:" not in capsys.readouterr().out
    # made early, the folder does not outlive a run that ends with nothing to save
    assert main(["sft", "--model", str(student), "--env", ENV_ID, "--episodes", "1", "--out",
                 str(tmp_path / "fresh")]) == 2
    assert not (tmp_path / "fresh").exists()
