"""A trivial multi-turn world for training tests: find the hidden one of three words by naming
words, with a word-level tokenizer (each word is one token) and tiny random Llama models.

``FindTheWord``: the secret is ``red``, ``green`` or ``blue`` (drawn from the seed); each turn
the agent names a word (the first of the three words in its reply counts) and hears ``yes`` or
``<word> no``; it wins by naming the secret within three turns. Naming the three words in turn
always wins, so a perfect policy exists, and a policy that repeats itself or says anything else
does not. The prompt never shows the secret: an agent must learn to use the turns.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

import agentgym
from agentgym.core import Feedback, InvalidAction, LLMEnv

WORDS = ("red", "green", "blue")
ENV_ID = "testworld/FindTheWord-v0"
MAX_TURNS = 3
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|> ' + message['content'] + ' <|end|> ' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|> ' }}{% endif %}"
)
# Only <|end|> is special: the transcript's tokens must decode to the text the template shows,
# which holds for ordinary words whatever the model samples.
SPECIAL_TOKENS = ["<|end|>"]
MARKERS = ["[UNK]", "<|system|>", "<|user|>", "<|assistant|>"]
INSTRUCTIONS = "find the secret word : red green or blue"
VOCABULARY = [*WORDS, "yes", "no", "find", "the", "secret", "word", ":", "or", "guess", "is",
              "Invalid", "action:", "say", "one", "of"]


class FindTheWord(LLMEnv):
    """Name the hidden word (one of three) within the turn budget; see the module docstring."""

    family = "testworld"
    instructions = INSTRUCTIONS

    def new_episode(self, options: dict[str, Any]) -> str:
        self.secret = self.rng.choice(WORDS)
        return "guess"

    def play(self, action: str) -> Feedback:
        named = [word for word in action.split() if word in WORDS]
        if not named:
            raise InvalidAction("say one of red green or blue")
        if named[0] == self.secret:
            return Feedback("yes", {"outcome": 1.0}, terminated=True, success=True)
        return Feedback(f"{named[0]} no", {"outcome": 0.0})

    @property
    def reference_answer(self) -> str:
        return self.secret

    @property
    def answer_stub(self) -> str:
        return "the secret word is "


def register() -> None:
    agentgym.register(ENV_ID, FindTheWord, max_turns=MAX_TURNS, description="find the hidden word (tests)")


@functools.lru_cache(maxsize=1)
def word_tokenizer():
    """A word-level tokenizer over the world's words with a chat template; ``<|end|>`` ends a
    turn (its EOS)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + MARKERS + VOCABULARY)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|end|>", pad_token="<|end|>",
                                   chat_template=CHAT_TEMPLATE)


def tiny_model(seed: int = 0, *, hidden_size: int = 32, layers: int = 2, initializer_range: float = 0.02):
    """A small randomly initialised Llama over :func:`word_tokenizer`'s vocabulary (float32)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = word_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=256, initializer_range=initializer_range, tie_word_embeddings=False,
                         bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's generator untouched
        torch.manual_seed(seed)
        return LlamaForCausalLM(config).eval()
