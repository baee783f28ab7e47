"""Real tokenizers for tests in milliseconds: a byte-level BPE (any text encodes) trained on
the spot, with the given special tokens and chat template."""

from __future__ import annotations

from typing import Any, Sequence


def byte_level_bpe(corpus: Sequence[str], *, vocab_size: int, special_tokens: Sequence[str], **tokens: Any):
    """A ``PreTrainedTokenizerFast`` trained on ``corpus``; ``tokens`` are its keyword arguments
    (``eos_token``, ``pad_token``, ``chat_template``...)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(special_tokens),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, **tokens)
