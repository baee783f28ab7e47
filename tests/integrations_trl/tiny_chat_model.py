"""A tiny random chat model for adapter tests: a BPE tokenizer with a chat template, and a
randomly initialised two-layer Llama over it.

The tokenizer's alphabet is the printable ASCII characters (byte-level pre-tokenisation, but
without the other byte symbols): every token decodes to whole characters, so whatever a random
model samples is text that the chat template renders back to the same tokens' characters, and
the rollouts stay token-exact. (With all 256 byte symbols, a random model samples lone bytes of
multi-byte characters, which decode to U+FFFD and break the token prefix.) The environments'
texts are ASCII."""

from __future__ import annotations

import functools

import torch


TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|start|>' + message['role'] + '\n' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|start|>", "<|end|>", "<|pad|>"]
# Numbers are frequent in the corpus, so that a random model's replies hold one now and then.
CORPUS = [
    "Guess a number between 1 and 20. You have 8 guesses. The secret number is higher than 7.",
    "The secret number is lower than 13. 12 is correct! You found it in 3 guesses.",
    "Invalid action: reply with a number between 1 and 20. system user assistant",
    " ".join(str(n) for n in range(1, 21)),
]


@functools.lru_cache(maxsize=1)
def chat_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    alphabet = sorted({symbol for char in [*map(chr, range(32, 127)), "\n"]
                       for symbol in core.pre_tokenizer.pre_tokenize_str(char)[0][0]})
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIALS, initial_alphabet=alphabet)
    core.train_from_iterator(CORPUS * 10, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|end|>", pad_token="<|pad|>",
                                   chat_template=TEMPLATE, padding_side="left")


def tiny_chat_model(seed: int = 0):
    """A float32 Llama with 2 layers of width 32 over :func:`chat_tokenizer`'s vocabulary."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = chat_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=False, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)
