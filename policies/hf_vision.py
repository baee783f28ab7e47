"""A local Hugging Face vision-language model as a :class:`Policy`, token-exact with its images.

:class:`HFVisionPolicy` is :class:`~agentgym.policies.hf.HFPolicy` for image-text-to-text models
(Qwen2-VL, Qwen2.5-VL, Idefics3; SmolVLM by Idefics3's layout): the same decode loop, sampling, stop strings,
seeding and error handling, with images::

    policy = HFVisionPolicy.from_pretrained("Qwen/Qwen2-VL-2B-Instruct")  # or (model, processor)
    result = rollout(policy, [Task("gui/Grounding-v0", seed=s) for s in range(8)], RolloutConfig())

and the trainer trains such a model: ``Trainer(config, model=model, tokenizer=processor)``, or
``model.path`` naming a vision-language model (:mod:`agentgym.train.trainer`).

Images come from the conversation. An observation ``{"text", "image"}`` becomes a user message
with the content parts ``[{"type": "text", ...}, {"type": "image", "image": <HxWx3 array>}]``
(:class:`~agentgym.wrappers.ChatHistory`); the images of a request are the image parts of its
messages, in order (:func:`message_images`). The token sequence holds each image as the
processor expands it: the family's placeholder tokens, as many as the image fills (Qwen2-VL:
``<|vision_start|>``, ``grid_t x grid_h x grid_w / merge^2`` copies of ``<|image_pad|>``,
``<|vision_end|>``; Idefics3: ``<fake_token_around_image><global-img>``, ``image_seq_len``
copies of ``<image>`` per crop, ...). The rollout engine's
:class:`~agentgym.rollout.transcript.TokenTranscript` builds that sequence turn by turn with the
policy's processor (:attr:`HFVisionPolicy.tokenizer` *is* the processor), so the trajectory's
``token_ids`` are exactly what the model was fed, image tokens included.

Token-exact with images means: the model's input for a token sequence is a pure function of the
sequence and the images of the conversation in order. Each image is processed alone
(:meth:`VisionFamily.encode_image`: the image processor on that image, deterministic), the
sequence's image tokens must be exactly the tokens its images fill (else the request is an
error generation, and the trainer refuses the trajectory), and the positions are computed from
the sequence and the images' grids (:meth:`VisionFamily.rope_positions` for the M-RoPE of the
Qwen-VL family; plain ``0..L-1`` otherwise). A trainer that rebuilds the images from
``Trajectory.messages`` with the same processor (:func:`agentgym.train.batching.training_rows`
with ``vision=``) therefore recomputes the rollout's log-probs, up to floating-point rounding.
(The token sequence shows how many tokens each image fills, not *which* image it was: the
trajectory's messages are the record of that, written to disk as image files beside the JSONL.)

**Reserved tokens.** The tokens only a processor writes -- the image placeholder and the
family's image delimiters (:attr:`VisionFamily.reserved_token_ids`) -- are never sampled: the
policy gives them probability 0 (their logits are set to ``-inf``), and the trainer's forward
pass does the same (:meth:`VisionFamily.restrict_logits`), so the sampling log-probs are
``log_softmax`` over the other tokens on both sides. A sampled placeholder would otherwise make
the next prompt hold an image token without an image, which the model cannot take (random
small models sample them readily; trained ones practically never).

The decode loop differs from :class:`HFPolicy`'s in three places only: the prefill also gets the
images of every row (all of the batch's images in row order, which is how these models match
image features to placeholder tokens), M-RoPE positions are three per token (temporal,
height, width) where a generated token continues at the last position plus one, and reserved
tokens are masked before sampling.
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from transformers import DynamicCache

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf import DecodingRow, HFPolicy, quiet_transformers, sample_next_tokens
from agentgym.images import as_rgb
from agentgym.rollout.prompt_text import render_prompt
from agentgym.rollout.transcript import CHANNELS_LAST, encode_text, is_processor, message_images

__all__ = ["HFVisionPolicy", "ImageInputs", "VisionFamily", "message_images", "vision_family"]


@dataclass(frozen=True)
class ImageInputs:
    """One image as its model takes it.

    Attributes:
        tensors: the image processor's tensors for this image alone, each with a leading
            dimension of the image's units (Qwen-VL: patches; Idefics3: crops), so that the
            tensors of several images concatenate along dimension 0.
        num_tokens: how many placeholder tokens (the model's ``image_token_id``) it fills.
        grid: Qwen-VL's ``(t, h, w)`` patch grid, else ``None``.
    """

    tensors: dict[str, torch.Tensor]
    num_tokens: int
    grid: tuple[int, int, int] | None = None


class VisionFamily(ABC):
    """How one family of vision-language models takes images: processing one image, the model
    inputs for several, and the positions of a sequence. Get one with :func:`vision_family`.

    Processed images are cached by content (a hash of the pixels; least recently used first
    out beyond ``cache_bytes`` of tensors), so the screenshot of turn 1 is processed once in a
    10-turn episode, and not again for training or the reference policy while it stays cached.
    """

    #: ``config.model_type`` values of the family.
    model_types: tuple[str, ...] = ()
    #: whether positions are M-RoPE (three per token) rather than one per token.
    rope: bool = False

    def __init__(self, processor: Any, config: Any, *, cache_bytes: int = 1 << 30) -> None:
        if isinstance(cache_bytes, bool) or not isinstance(cache_bytes, int) or cache_bytes < 0:
            raise ValueError(f"cache_bytes must be an integer >= 0, got {cache_bytes!r}")
        self.processor = processor
        self.config = config
        self.image_token_id = int(config.image_token_id)
        self._cache: OrderedDict[tuple[Any, ...], ImageInputs] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0
        self._lock = threading.Lock()

    @property
    def cached_bytes(self) -> int:
        """Bytes of processed-image tensors held by the cache now (at most ``cache_bytes``)."""
        return self._cached_bytes

    def clear_cache(self) -> None:
        """Drop every processed image (they are processed again when next needed)."""
        with self._lock:
            self._cache.clear()
            self._cached_bytes = 0

    @property
    def reserved_token_ids(self) -> list[int]:
        """Token ids only the processor writes (never sampled; see the module docstring): the
        image token and the family's image delimiters."""
        return sorted({self.image_token_id, *self._delimiter_ids()})

    def _delimiter_ids(self) -> list[int]:
        return []

    def restrict_logits(self, logits: torch.Tensor, fill: float | None = None) -> torch.Tensor:
        """``logits`` (``[..., vocabulary]``) with the reserved tokens' entries set to ``fill``
        (default: the dtype's lowest finite value, whose probability is exactly 0 after a
        softmax and whose log-probability stays finite)."""
        ids = [i for i in self.reserved_token_ids if i < logits.shape[-1]]
        if not ids:
            return logits
        value = torch.finfo(logits.dtype).min if fill is None else fill
        index = torch.tensor(ids, device=logits.device)
        return logits.index_fill(-1, index, value)

    def encode_image(self, image: Any) -> ImageInputs:
        """The model inputs of one image (an image of :mod:`agentgym.images` -- grey, RGB or
        RGBA, made ``HxWx3`` by :func:`~agentgym.images.as_rgb` -- or anything
        ``numpy.asarray`` makes one of, e.g. a PIL image); cached by content."""
        array = as_rgb(image)
        key = (array.shape, array.dtype.str, hashlib.blake2b(array.tobytes(), digest_size=16).digest())
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        encoded = self._encode(array)
        size = sum(t.numel() * t.element_size() for t in encoded.tensors.values())
        with self._lock:
            if key not in self._cache:
                self._cache[key] = encoded
                self._cached_bytes += size
            while self._cached_bytes > self._cache_bytes and self._cache:
                _, evicted = self._cache.popitem(last=False)
                self._cached_bytes -= sum(t.numel() * t.element_size() for t in evicted.tensors.values())
        return encoded

    def encode_images(self, images: Iterable[Any]) -> list[ImageInputs]:
        return [self.encode_image(image) for image in images]

    @abstractmethod
    def _encode(self, array: np.ndarray) -> ImageInputs:
        """Process one image (uncached)."""

    @abstractmethod
    def model_inputs(self, images: Sequence[ImageInputs]) -> dict[str, torch.Tensor]:
        """The image keyword arguments of a forward pass over sequences holding ``images``, in
        the order their placeholder tokens appear (row by row)."""

    def check_tokens(self, token_ids: Sequence[int], images: Sequence[ImageInputs]) -> None:
        """Raise ``ValueError`` unless the sequence's image tokens are exactly those ``images``
        fill."""
        found = sum(1 for token in token_ids if token == self.image_token_id)
        needed = sum(image.num_tokens for image in images)
        if found != needed:
            raise ValueError(f"the token sequence holds {found} image tokens, but its {len(images)} image(s) "
                             f"fill {needed}: the prompt was not built from these images with this processor")

    def rope_positions(self, token_ids: Sequence[int], images: Sequence[ImageInputs]) -> np.ndarray:
        """M-RoPE families: the ``[3, L]`` positions of a sequence (see :class:`QwenVLFamily`)."""
        raise NotImplementedError(f"{type(self).__name__} has one position per token")

    def forward_positions(self, text_positions: torch.Tensor, rope_positions: torch.Tensor | None) -> torch.Tensor:
        """The ``position_ids`` argument of a forward pass over *packed* rows: ``text_positions``
        (``[1, L]``, restarting at 0 for each row) and, for M-RoPE, ``rope_positions``
        (``[3, 1, L]``)."""
        return text_positions


class QwenVLFamily(VisionFamily):
    """Qwen2-VL and Qwen2.5-VL: flat patches with a ``(t, h, w)`` grid per image, and M-RoPE.

    An image of grid ``(t, h, w)`` fills ``t*h*w / m^2`` tokens (``m``, the spatial merge size).
    Positions (three per token: temporal, height, width): a text token takes ``(p, p, p)`` and
    moves ``p`` on by one; an image starting at ``p`` gives its token at merged cell
    ``(i, j, k)`` the position ``(p + i, p + j, p + k)`` and moves ``p`` on by
    ``max(h, w) / m``. This is the model's own rule for images (``get_rope_index``); a test
    checks that the log-probs under these positions equal the model's own forward pass.
    """

    model_types = ("qwen2_vl", "qwen2_5_vl")
    rope = True

    def __init__(self, processor: Any, config: Any, **kwargs: Any) -> None:
        super().__init__(processor, config, **kwargs)
        self.merge_size = int(config.vision_config.spatial_merge_size)

    def _delimiter_ids(self) -> list[int]:
        names = ("video_token_id", "vision_start_token_id", "vision_end_token_id")
        return [int(value) for value in (getattr(self.config, name, None) for name in names) if value is not None]

    def _encode(self, array: np.ndarray) -> ImageInputs:
        out = self.processor.image_processor(images=[array], return_tensors="pt", **CHANNELS_LAST)
        grid = tuple(int(v) for v in out["image_grid_thw"][0].tolist())
        return ImageInputs({"pixel_values": out["pixel_values"], "image_grid_thw": out["image_grid_thw"]},
                           grid[0] * grid[1] * grid[2] // self.merge_size**2, grid)

    def model_inputs(self, images: Sequence[ImageInputs]) -> dict[str, torch.Tensor]:
        if not images:
            return {}
        return {"pixel_values": torch.cat([image.tensors["pixel_values"] for image in images]),
                "image_grid_thw": torch.cat([image.tensors["image_grid_thw"] for image in images])}

    def rope_positions(self, token_ids: Sequence[int], images: Sequence[ImageInputs]) -> np.ndarray:
        ids = np.asarray(token_ids, dtype=np.int64)
        positions = np.zeros((3, len(ids)), dtype=np.int64)
        pending = iter(images)
        current = i = 0
        while i < len(ids):
            if ids[i] != self.image_token_id:
                positions[:, i] = current
                current += 1
                i += 1
                continue
            image = next(pending, None)
            if image is None:
                raise ValueError(f"image token at position {i} beyond the sequence's {len(images)} image(s)")
            t, h, w = image.grid[0], image.grid[1] // self.merge_size, image.grid[2] // self.merge_size
            n = t * h * w
            if i + n > len(ids) or not (ids[i:i + n] == self.image_token_id).all():
                raise ValueError(f"the image at token {i} fills {n} tokens, but the sequence does not hold them")
            grid_t, grid_h, grid_w = np.meshgrid(np.arange(t), np.arange(h), np.arange(w), indexing="ij")
            positions[:, i:i + n] = current + np.stack([grid_t.ravel(), grid_h.ravel(), grid_w.ravel()])
            current += max(h, w)
            i += n
        if next(pending, None) is not None:
            raise ValueError("the sequence holds fewer images than given")
        return positions

    def forward_positions(self, text_positions: torch.Tensor, rope_positions: torch.Tensor | None) -> torch.Tensor:
        if rope_positions is None:
            return text_positions
        # transformers' layout for packed M-RoPE rows: the text positions first (they mark where
        # each row starts, for the block-diagonal mask), then the three rotary rows.
        return torch.cat([text_positions[None], rope_positions], dim=0)


class Idefics3Family(VisionFamily):
    """Idefics3 and SmolVLM: images (and their crops, when the processor splits them) of fixed
    size, ``image_seq_len`` tokens per crop, one position per token. (SmolVLM shares the layout;
    the tests exercise Idefics3, as SmolVLM's processor needs torchvision and num2words.)"""

    model_types = ("idefics3", "smolvlm")

    def _delimiter_ids(self) -> list[int]:
        vocabulary = self.processor.tokenizer.get_vocab()
        names = (getattr(self.processor, attribute, None)
                 for attribute in ("fake_image_token", "global_image_tag", "global_image_token"))
        return [vocabulary[name] for name in names if isinstance(name, str) and name in vocabulary]

    def _encode(self, array: np.ndarray) -> ImageInputs:
        out = self.processor.image_processor(images=[[array]], return_tensors="pt", **CHANNELS_LAST)
        pixels = out["pixel_values"][0]  # [crops, 3, H, W]
        tensors = {"pixel_values": pixels}
        if "pixel_attention_mask" in out:
            tensors["pixel_attention_mask"] = out["pixel_attention_mask"][0]
        return ImageInputs(tensors, int(pixels.shape[0]) * int(self.processor.image_seq_len))

    def model_inputs(self, images: Sequence[ImageInputs]) -> dict[str, torch.Tensor]:
        if not images:
            return {}
        # One "batch row" holding every image: the model drops all-zero padding images and
        # fills the image tokens of the whole batch, in order, with the images' features.
        height = max(int(image.tensors["pixel_values"].shape[-2]) for image in images)
        width = max(int(image.tensors["pixel_values"].shape[-1]) for image in images)
        pixels, masks = [], []
        for image in images:
            value = image.tensors["pixel_values"]
            pad = (0, width - value.shape[-1], 0, height - value.shape[-2])
            pixels.append(torch.nn.functional.pad(value, pad))
            mask = image.tensors.get("pixel_attention_mask")
            if mask is None:
                mask = torch.ones(value.shape[0], value.shape[-2], value.shape[-1], dtype=torch.long)
            masks.append(torch.nn.functional.pad(mask, pad))
        return {"pixel_values": torch.cat(pixels)[None], "pixel_attention_mask": torch.cat(masks)[None]}


_FAMILIES: tuple[type[VisionFamily], ...] = (QwenVLFamily, Idefics3Family)


def vision_family(model: Any, processor: Any, **kwargs: Any) -> VisionFamily:
    """The :class:`VisionFamily` of ``model`` (by ``config.model_type``), using ``processor``;
    ``kwargs`` go to its constructor (``cache_bytes``)."""
    config = model.config
    model_type = getattr(config, "model_type", None)
    for family in _FAMILIES:
        if model_type in family.model_types:
            return family(processor, config, **kwargs)
    known = ", ".join(t for family in _FAMILIES for t in family.model_types)
    raise ValueError(f"vision-language models of type {model_type!r} are not supported (supported: {known})")


@dataclass
class _VisionRow(DecodingRow):
    images: list[ImageInputs] = field(default_factory=list)
    positions: torch.Tensor | None = None  # [P, len(prompt_ids)]: see HFVisionPolicy._row_positions


class HFVisionPolicy(HFPolicy):
    """Generate with a ``transformers`` image-text-to-text model on CPU or one GPU.

    Args:
        model: a vision-language model of a supported family (:func:`vision_family`).
        processor: its processor (image processor, tokenizer and chat template). It becomes
            :attr:`tokenizer`, so the rollout engine's transcripts render and tokenise the
            conversation, images included, exactly as this policy does.
        device, dtype, max_batch_size, name, batch_invariant: as :class:`HFPolicy`.
        family: the :class:`VisionFamily` to use (default: :func:`vision_family` of the model),
            e.g. one shared with a trainer so that both use one cache of processed images.

    A request's images are its messages' image parts (module docstring); its prompt is
    ``Request.prompt_token_ids`` when given (whose image tokens must be exactly what those
    images fill), else the processor's chat template over the messages.
    """

    def __init__(self, model: Any, processor: Any, *, device: str | torch.device | None = None,
                 dtype: torch.dtype | None = None, max_batch_size: int = 16, name: str | None = None,
                 batch_invariant: bool = False, family: VisionFamily | None = None) -> None:
        if not is_processor(processor):
            raise TypeError(f"HFVisionPolicy needs the model's processor (image processor and tokenizer), "
                            f"got {type(processor).__name__}")
        super().__init__(model, processor.tokenizer, device=device, dtype=dtype, max_batch_size=max_batch_size,
                         name=name, batch_invariant=batch_invariant)
        self.processor = processor
        self.tokenizer = processor
        self.family = family if family is not None else vision_family(self.model, processor)
        text_config = self.model.config.get_text_config()
        self.context_length = getattr(text_config, "max_position_embeddings", None)

    @classmethod
    def from_pretrained(cls, path_or_name: str, *, device: str | torch.device | None = None,
                        dtype: torch.dtype | None = None, max_batch_size: int = 16, name: str | None = None,
                        batch_invariant: bool = False, **load_kwargs: Any) -> HFVisionPolicy:
        """Load processor and model (``AutoModelForImageTextToText``) from a folder or hub name."""
        from transformers import AutoModelForImageTextToText, AutoProcessor

        model_kwargs = {"dtype": dtype} if dtype is not None else {}
        with quiet_transformers():
            processor = AutoProcessor.from_pretrained(path_or_name, **load_kwargs)
            model = AutoModelForImageTextToText.from_pretrained(path_or_name, **model_kwargs, **load_kwargs)
        return cls(model, processor, device=device, max_batch_size=max_batch_size, name=name,
                   batch_invariant=batch_invariant)

    def close(self) -> None:
        """Release the cache of processed images (the policy stays usable: its next images are
        processed again). A family shared with a trainer loses its cached images too."""
        super().close()
        self.family.clear_cache()

    # ------------------------------------------------------------------ requests
    def _new_row(self, index: int, request: Request, sampling: SamplingParams) -> _VisionRow:
        images = self.family.encode_images(message_images(request.messages))
        row = _VisionRow(**vars(super()._new_row(index, request, sampling)), images=images)
        self.family.check_tokens(row.prompt_ids, images)
        # Computed here, per request, so that image tokens the images cannot be placed on (the
        # right count, but not in one run per image) fail this request alone, not its batch.
        row.positions = self._row_positions(row)
        return row

    def _prompt_ids(self, request: Request) -> list[int]:
        if request.prompt_token_ids is not None:
            return super()._prompt_ids(request)
        text = render_prompt(self.processor, request.messages, request.tools)
        prompt = encode_text(self.processor, text, message_images(request.messages))
        if not prompt:
            raise ValueError("the prompt is empty")
        return prompt

    def _row_positions(self, row: _VisionRow) -> torch.Tensor:
        """``[P, len]`` positions of a row's prompt (P = 3 with M-RoPE, else 1)."""
        if self.family.rope:
            return torch.from_numpy(self.family.rope_positions(row.prompt_ids, row.images))
        return torch.arange(len(row.prompt_ids))[None]

    # ------------------------------------------------------------- decode loop
    def _decode(self, rows: list[_VisionRow], sampling: SamplingParams, cancelled: threading.Event) -> None:
        """As :meth:`HFPolicy._decode`, with the images at prefill and positions kept batch-first
        as ``[rows, P, length]`` (so finished rows leave by indexing dimension 0)."""
        width = max(len(row.prompt_ids) for row in rows)
        input_ids = torch.full((len(rows), width), self._pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        planes = 3 if self.family.rope else 1
        positions = torch.zeros((len(rows), planes, width), dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row.prompt_ids)
            input_ids[i, width - n:] = torch.tensor(row.prompt_ids)
            attention_mask[i, width - n:] = 1
            positions[i, :, width - n:] = row.positions
        input_ids, attention_mask, positions = (t.to(self.device) for t in (input_ids, attention_mask, positions))
        images = {name: value.to(self.device) for name, value in
                  self.family.model_inputs([image for row in rows for image in row.images]).items()}
        cache = DynamicCache(config=self.model.config)
        active = list(rows)
        while True:
            if cancelled.is_set():
                for row in active:
                    row.finish_reason = "length"
                return
            logits = self._vision_logits(input_ids, attention_mask, positions, cache, images)
            images = {}  # the cache holds the image tokens from here on
            tokens, logprobs = sample_next_tokens(logits, sampling, [row.generator for row in active])
            for row, token, logprob in zip(active, tokens.tolist(), logprobs.tolist()):
                self._append(row, token, logprob, sampling)
            keep = [i for i, row in enumerate(active) if not row.done]
            if not keep:
                return
            if len(keep) < len(active):
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                attention_mask, positions, tokens = attention_mask[index], positions[index], tokens[index]
                active = [active[i] for i in keep]
            input_ids = tokens[:, None]
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones((len(active), 1))], dim=-1)
            positions = positions[:, :, -1:] + 1

    def _vision_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor,
                       cache: DynamicCache, images: dict[str, torch.Tensor]) -> torch.Tensor:
        position_ids = positions.permute(1, 0, 2) if self.family.rope else positions[:, 0]
        output = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            use_cache=True, **{self._cache_argument: cache}, **self._last_logits_only, **images)
        return self.family.restrict_logits(output.logits[:, -1, :].float(), float("-inf"))
