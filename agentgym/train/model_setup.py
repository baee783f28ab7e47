"""What a training run sets up before its first step: the model (:func:`load_model`, LoRA
adapters with :func:`wrap_lora`, a vision-language model's family with
:func:`vision_family_for`), the device and autocast precision (:func:`resolve_device`,
:func:`resolve_precision`) and the seeds of every random generator (:func:`seed_everything`).

Every function raises :class:`~agentgym.train.config.ConfigError` for a configuration the
machine or the model cannot run, with the setting to change in the message.
"""

from __future__ import annotations

import contextlib
import os
import random
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from agentgym.policies.hf import quiet_transformers
from agentgym.train.config import ConfigError, TrainConfig


def load_model(section: Any) -> tuple[Any, Any]:
    """Model and tokenizer from ``model.path``: the embedded SmolLM2, a folder or a hub name.
    A model whose configuration has a vision tower (``vision_config``) is loaded as an
    image-text-to-text model, with its processor in the tokenizer's place. A folder that cannot
    be loaded (cut-off weights, a configuration value of the wrong type) is a ``ValueError``
    naming it; ``OSError`` (a missing file, an unreachable hub) passes through. A hub name is
    read from the local hub cache when the hub cannot be reached
    (:func:`~agentgym.policies.hub.loadable_source`), not after a minute of retries."""
    from agentgym.policies.embedded import load_embedded_model
    from agentgym.policies.hub import loadable_source
    from agentgym.policies.specs import EMBEDDED_SPEC, canonical_spec, looks_like_local_path

    if canonical_spec(section.path) == EMBEDDED_SPEC:
        return load_embedded_model()
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    kwargs = {"revision": section.revision} if section.revision else {}
    source = loadable_source(section.path, is_folder=looks_like_local_path(section.path), revision=section.revision)
    if source != section.path:
        kwargs = {}  # a cached snapshot's folder, already at the revision
    try:
        with quiet_transformers():
            if getattr(AutoConfig.from_pretrained(source, **kwargs), "vision_config", None) is not None:
                return (AutoModelForImageTextToText.from_pretrained(source, **kwargs),
                        AutoProcessor.from_pretrained(source, **kwargs))
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError:
        raise  # a missing file or an unreachable hub: the callers word it
    except Exception as exc:  # noqa: BLE001 - cut-off weights, a config value of the wrong type...
        message = " ".join(str(exc).split())
        raise ValueError(f"cannot load the model {section.path}: {type(exc).__name__}: "
                         f"{message[:300] + '...' if len(message) > 300 else message}") from exc
    return model, tokenizer


def vllm_model_source(path: str) -> str:
    """What ``vllm.LLM`` is given for ``model.path``: the embedded model's converted folder for
    its spec (vLLM would look ``smollm2-135m`` up on the hub), else the path as written with a
    leading ``~`` expanded."""
    from agentgym.policies.embedded import embedded_model_folder
    from agentgym.policies.specs import EMBEDDED_SPEC, canonical_spec

    if canonical_spec(path) == EMBEDDED_SPEC:
        return str(embedded_model_folder())
    return str(Path(path).expanduser()) if path.startswith("~") else path


def vision_family_for(config: TrainConfig, model: Any, processor: Any) -> Any:
    """The :class:`~agentgym.policies.hf_vision.VisionFamily` of a vision-language model, after
    refusing what cannot train one."""
    from agentgym.policies.hf_vision import vision_family

    if config.algorithm.spec.information_gain:
        from agentgym.train.estimators import estimator_names, estimator_spec

        usable = ", ".join(n for n in estimator_names() if not estimator_spec(n).information_gain)
        raise ConfigError(f"algorithm {config.algorithm.name!r} is not available for vision-language models (its "
                          f"answer scoring is text-only); use {usable}")
    if config.rollout.backend == "vllm":
        raise ConfigError("rollout.backend = 'vllm' is not available for vision-language models; use 'hf'")
    try:
        return vision_family(model, processor)
    except ValueError as exc:
        raise ConfigError(f"model: {exc}") from None


def wrap_lora(model: Any, lora: Any) -> Any:
    """The model with trainable LoRA adapters (peft); everything else frozen."""
    from peft import LoraConfig, get_peft_model

    targets = "all-linear" if lora.target_modules == ["all-linear"] else list(lora.target_modules)
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=targets,
                        task_type="CAUSAL_LM")
    with without_checkpointing_deprecation():  # peft asks for it on every wrap
        return get_peft_model(model, config)


@contextlib.contextmanager
def without_checkpointing_deprecation() -> Iterator[None]:
    """Hide transformers' FutureWarning about ``is_gradient_checkpointing``, which peft (on every
    LoRA wrap) and TRL (on every generation) read: not the user's to fix. Only that warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def resolve_device(device: str) -> torch.device:
    """The device of ``run.device``: ``"auto"`` is this process's GPU (``LOCAL_RANK`` under a
    launcher) when CUDA is available, else the CPU; a CUDA device without CUDA is refused."""
    if device == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        # One GPU per process under torchrun / accelerate (LOCAL_RANK is set by the launcher).
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"run.device = {device!r}, but no CUDA device is available")
    return resolved


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for training forward passes (``None``: the model's own)."""
    if precision == "fp32":
        return None
    cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if precision == "bf16":
        if not cuda_bf16:
            raise ConfigError(f"run.precision = 'bf16' needs a CUDA device with bf16 support (device: {device})")
        return torch.bfloat16
    return torch.bfloat16 if cuda_bf16 else None


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
