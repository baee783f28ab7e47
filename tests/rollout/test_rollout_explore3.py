"""Exploratory tests, third round: the token transcript with special tokens sampled inside a reply."""

from __future__ import annotations

import re

import pytest

from agentgym.rollout.transcript import TokenTranscript
from tests.rewards.tiny_lm import tiny_tokenizer

MESSAGES = [{"role": "system", "content": "sys"}, {"role": "user", "content": "Guess a number."}]


@pytest.mark.parametrize("ending", [["<|im_end|>"], [], ["<|im_start|>", "<|im_end|>"]])
def test_a_special_token_sampled_inside_the_reply_keeps_the_transcript_token_exact(ending):
    """A model may sample a special token that does not end its turn (``<|im_start|>`` here) in
    the middle of a reply: the reply's text leaves it out, as the template renders the text.
    Such a turn was counted as a mismatch (the template had not rewritten anything) and the
    transcript fell back to the canonical tokens, dropping what the model sampled: the trainer
    refused the episode (1 of 16 episodes of a tiny model at temperature 1)."""
    tokenizer = tiny_tokenizer()
    inside = tokenizer.convert_tokens_to_ids("<|im_start|>")
    generated = [*tokenizer.encode("I guess", add_special_tokens=False), inside,
                 *tokenizer.encode("user 12", add_special_tokens=False),
                 *tokenizer.convert_tokens_to_ids(ending)]
    text = tokenizer.decode(generated, skip_special_tokens=True)
    transcript = TokenTranscript(tokenizer, MESSAGES)
    prompt = transcript.prompt_ids
    transcript.add_generation(generated, None, text)
    transcript.add_observation([{"role": "user", "content": "Higher."}])
    assert transcript.mismatches == 0
    assert transcript.token_ids[: len(prompt) + len(generated)] == prompt + generated
    appended = tokenizer.decode(transcript.token_ids[len(prompt) + len(generated):], skip_special_tokens=False)
    # The template's end of turn once: the one the model sampled last is not repeated.
    end_of_turn = "" if ending and ending[-1] == "<|im_end|>" else "<|im_end|>"
    assert appended == f"{end_of_turn}\n<|im_start|>user\nHigher.<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.parametrize("wrappers, named", [("AnswerFormat", "'AnswerFormat'"), ([3], "3"),
                                             ([{"name": "AnswerFormat"}], "{'name': 'AnswerFormat'}")])
def test_rollout_config_refuses_wrappers_that_are_no_wrappers(wrappers, named):
    """They were accepted, and every episode of the rollout then failed with 'environment raised
    ConfigError' (a string was even taken letter by letter)."""
    from agentgym.rollout import RolloutConfig

    with pytest.raises(ValueError, match=rf"RolloutConfig: .*wrappers.*{re.escape(named)}.*WrapperSpec"):
        RolloutConfig(wrappers=wrappers)


def test_rollout_config_keeps_the_wrappers_it_is_given():
    from agentgym.rollout import RolloutConfig
    from agentgym.wrappers import AnswerFormat, WrapperSpec

    spec = WrapperSpec("AnswerFormat", {"format": "boxed"})
    assert list(RolloutConfig(wrappers=[spec, AnswerFormat]).wrappers) == [spec, AnswerFormat]
    # A generator is read once, when the configuration is made: each episode gets every wrapper
    # (it was read up by the first episode, and the others played without the wrappers).
    config = RolloutConfig(wrappers=(w for w in [spec]))
    assert list(config.wrappers) == [spec] and list(config.wrappers) == [spec]
