"""Tiny randomly initialised vision-language models and their processors, built offline in
milliseconds: Qwen2-VL (M-RoPE, flat patches with a grid per image; ``qwen2_5_vl``, Qwen2.5-VL,
uses its tokens and processor) and Idefics3 (fixed-size images, one position per token), each with a word-level tokenizer (every word one token; for
learning tests) or a byte-level BPE trained on the spot (any text encodes; for token-exactness
with realistic, non-canonical tokenisations).

The chat templates render image parts as the family's placeholder (``<|vision_start|>
<|image_pad|><|vision_end|>`` for Qwen2-VL, ``<image>`` for Idefics3), which the processor
expands into the image's tokens, as the real models' templates do.
"""

from __future__ import annotations

import functools

import torch

from tests.byte_bpe import byte_level_bpe

FAMILIES = ("qwen2_vl", "idefics3")
IMAGE_SIZE = 32
PLACEHOLDERS = {"qwen2_vl": "<|vision_start|><|image_pad|><|vision_end|>", "idefics3": "<image>"}
IMAGE_TOKENS = {"qwen2_vl": ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"],
                "idefics3": ["<fake_token_around_image>", "<image>", "<global-img>", "<end_of_utterance>"]}
# The word tokenizers' end of turn (EOS): Idefics3's processor adds <end_of_utterance> to any
# tokenizer it gets, and SmolVLM ends turns with it.
WORD_EOS = {"qwen2_vl": "<|end|>", "idefics3": "<end_of_utterance>"}

# Word level: "<|role|> content <|end|> "; content parts in order, an image as its placeholder.
WORD_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|> ' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ ' PLACEHOLDER ' }}{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ ' EOS ' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|> ' }}{% endif %}"
)
WORD_MARKERS = ["[UNK]", "<|system|>", "<|user|>", "<|assistant|>"]
WORDS = ["left", "right", "where", "is", "the", "square", "?", "yes", "no", "say", "or", "Invalid", "action:",
         "up", "down", "top", "bottom", "a", "an", "image"]

# ChatML as Qwen2-VL's template writes it (system, user, assistant turns between <|im_start|>
# and <|im_end|>, newline-separated).
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ 'PLACEHOLDER' }}{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "You are an agent acting in an interactive environment. Where is the square? Say left or right.",
    "The square is on the left. No, it is on the right. Click the Save button at (12, 30).",
    "Invalid action: say left or right. yes no up down top bottom 0123456789 click(x, y)",
]


def _template(base: str, family: str) -> str:
    return base.replace("PLACEHOLDER", PLACEHOLDERS[family]).replace("EOS", WORD_EOS[family])


@functools.lru_cache(maxsize=None)
def word_tokenizer(family: str):
    """A word-level tokenizer (whitespace-split words; the family's image tokens and its end of
    turn, the EOS, are special)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    eos = WORD_EOS[family]
    specials = [eos, *(token for token in IMAGE_TOKENS[family] if token != eos)]
    vocab = {token: i for i, token in enumerate(specials + WORD_MARKERS + WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token=eos, pad_token=eos,
                                   additional_special_tokens=specials[1:],
                                   chat_template=_template(WORD_TEMPLATE, family))


@functools.lru_cache(maxsize=None)
def bpe_tokenizer(family: str):
    """A byte-level BPE with a ChatML template; ``<|im_end|>`` is its EOS."""
    specials = ["<|im_start|>", "<|im_end|>", *IMAGE_TOKENS[family]]
    return byte_level_bpe(CORPUS * 20, vocab_size=400, special_tokens=specials, eos_token="<|im_end|>",
                          pad_token="<|im_end|>", additional_special_tokens=specials[2:],
                          chat_template=_template(CHATML_TEMPLATE, family))


def processor(family: str, tokenizer, *, patch_size: int = 8):
    """The family's processor over ``tokenizer``: Qwen2-VL patches of 8 pixels merged 2x2 (a 32x32
    image fills 4 tokens; other sizes are resized to multiples of 16, between 16x16 and 64x64);
    Idefics3 images resized to 32x32, without splitting, 4 tokens each."""
    if family == "qwen2_vl":
        from transformers import Qwen2VLProcessor
        from transformers.models.qwen2_vl import Qwen2VLImageProcessorPil

        class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
            """Qwen2-VL's processor without its video processor (which needs torchvision)."""

            def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
                super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

        images = Qwen2VLImageProcessorPil(patch_size=patch_size, merge_size=2, temporal_patch_size=2,
                                          min_pixels=(2 * patch_size) ** 2, max_pixels=(8 * patch_size) ** 2)
        return ImageOnlyQwen2VLProcessor(image_processor=images, tokenizer=tokenizer,
                                         chat_template=tokenizer.chat_template)
    if family == "idefics3":
        from transformers import Idefics3Processor
        from transformers.models.idefics3 import Idefics3ImageProcessorPil

        images = Idefics3ImageProcessorPil(do_image_splitting=False, size={"longest_edge": IMAGE_SIZE},
                                           max_image_size={"longest_edge": IMAGE_SIZE})
        return Idefics3Processor(image_processor=images, tokenizer=tokenizer,
                                 image_seq_len=(IMAGE_SIZE // patch_size // 2) ** 2,
                                 chat_template=tokenizer.chat_template)
    raise ValueError(family)


def tiny_vlm(family: str, tokenizer, seed: int = 0, *, hidden_size: int = 32, layers: int = 2,
             initializer_range: float = 0.02, patch_size: int = 8, context: int = 512):
    """A randomly initialised vision-language model of ``family`` over ``tokenizer`` (float32,
    eval mode): a one-layer vision tower and a ``layers``-layer language model with a context of
    ``context`` tokens."""
    ids = tokenizer.convert_tokens_to_ids
    text = dict(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=context,
                initializer_range=initializer_range, tie_word_embeddings=False, bos_token_id=None,
                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    if family == "qwen2_vl":
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        config = Qwen2VLConfig(
            text_config={**text, "rope_scaling": {"type": "mrope", "mrope_section": _mrope_section(hidden_size // 4)}},
            vision_config=dict(depth=1, embed_dim=32, hidden_size=hidden_size, num_heads=2, mlp_ratio=2,
                               patch_size=patch_size, spatial_merge_size=2, temporal_patch_size=2, in_channels=3,
                               initializer_range=initializer_range),
            image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
            vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
            tie_word_embeddings=False)
        model_class = Qwen2VLForConditionalGeneration
    elif family == "qwen2_5_vl":  # Qwen2-VL's tokens and processor; windowed attention in the vision tower
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        config = Qwen2_5_VLConfig(
            text_config={**text, "rope_scaling": {"type": "mrope", "mrope_section": _mrope_section(hidden_size // 4)}},
            vision_config=dict(depth=2, hidden_size=32, out_hidden_size=hidden_size, intermediate_size=64,
                               num_heads=2, patch_size=patch_size, spatial_merge_size=2, temporal_patch_size=2,
                               in_channels=3, window_size=4 * patch_size, fullatt_block_indexes=[1],
                               initializer_range=initializer_range),
            image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
            vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
            tie_word_embeddings=False)
        model_class = Qwen2_5_VLForConditionalGeneration
    elif family == "idefics3":
        from transformers import Idefics3Config, Idefics3ForConditionalGeneration

        config = Idefics3Config(
            text_config={**text, "model_type": "llama"},
            vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                               image_size=IMAGE_SIZE, patch_size=patch_size, num_channels=3,
                               initializer_range=initializer_range),
            scale_factor=2, image_token_id=ids("<image>"), tie_word_embeddings=False,
            pad_token_id=tokenizer.pad_token_id)
        model_class = Idefics3ForConditionalGeneration
    else:
        raise ValueError(family)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def _mrope_section(head_dim: int) -> list[int]:
    """Rotary frequencies per M-RoPE axis (temporal, height, width): half a head's, split 2:1:1."""
    half = head_dim // 2
    return [half - 2 * (half // 4), half // 4, half // 4]


def saved_vlm(family: str, folder, seed: int = 2):
    """(processor, model) of ``family`` over the BPE tokenizer, both saved to ``folder`` as a
    checkpoint folder (``save_pretrained``)."""
    tokenizer = bpe_tokenizer(family)
    proc, model = processor(family, tokenizer), tiny_vlm(family, tokenizer, seed=seed)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return proc, model
