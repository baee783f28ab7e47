"""A tiny randomly initialised Llama-style causal LM and a ChatML tokenizer trained on the spot,
for tests that need a real model and real chat templating in milliseconds."""

from __future__ import annotations

import functools

import torch

from tests.byte_bpe import byte_level_bpe

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|im_start|>", "<|im_end|>"]
CORPUS = [
    "You are an agent acting in an interactive environment. Guess a number between 1 and 20.",
    "The secret number is higher than 10. The secret number is lower than 15. 12 is correct!",
    "The secret number is 42. The secret number is 42. The secret number is 42.",
    "The secret word is crane. The secret code is RGBY. Wordle Hangman Mastermind letters.",
    "<tool_call>{\"name\": \"lookup\", \"arguments\": {\"query\": \"capital of France\"}}</tool_call>",
    "<tool_response> Paris </tool_response> system user assistant tool 0123456789",
]


@functools.lru_cache(maxsize=1)
def tiny_tokenizer():
    """A byte-level BPE (any text encodes) with ChatML special tokens and template."""
    return byte_level_bpe(CORPUS * 20, vocab_size=500, special_tokens=SPECIAL_TOKENS, eos_token="<|im_end|>",
                          pad_token="<|im_end|>", chat_template=CHATML_TEMPLATE)


def tiny_llama(vocab_size: int, *, seed: int = 0, dtype: torch.dtype = torch.float32, attention: str = "sdpa",
               layers: int = 2):
    """A Llama with grouped-query attention, random weights large enough that the log-probs
    vary a lot between contexts (so a wrong context or position shows)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         initializer_range=0.3, attn_implementation=attention)
    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's generator untouched
        torch.manual_seed(seed)
        return LlamaForCausalLM(config).to(dtype).eval()
