"""An in-process vLLM engine as a :class:`Policy` (GPU only: ``pip install vllm``).

A thin adapter over vLLM's offline Python API (``vllm.LLM``): every prompt goes to the engine
as token ids (``{"prompt_token_ids": ...}``, vLLM's ``TokensPrompt``) — the rollout engine's
exact transcript when ``Request.prompt_token_ids`` is given, else the tokenizer's chat template
— so each generation is token-exact. The translation lives in pure functions
(:func:`vllm_sampling_kwargs`, :func:`generation_from_output`, ...), tested without vLLM.

Sampling: ``max_tokens``, ``temperature``, ``top_p``, ``stop`` and a seed per request
(``Request.seed``, else ``SamplingParams.seed + i``). ``logprobs=0`` asks for the sampled
token's log-probability only. Stop strings are kept in the text
(``include_stop_str_in_output=True``), as :class:`SamplingParams` specifies: the text is what the
sampled tokens decode to.

Log-probabilities: vLLM >= 0.10.2 reports raw ``log_softmax(logits)`` by default, *before*
temperature. :class:`VLLMPolicy` sets the engine's ``logprobs_mode="processed_logprobs"`` there
(unless told otherwise), which reports them after temperature scaling — the contract of
:class:`SamplingParams` when ``top_p == 1``; with ``top_p < 1`` vLLM's processed values are
also renormalised over the nucleus. Older vLLM versions have no such switch: their values are
computed before temperature.

New weights (:meth:`VLLMPolicy.load_weights`): vLLM versions with ``LLM.apply_model`` (the V1
engine, 0.8 and later) run ``model.load_weights(pairs)`` inside each worker; with the V1
engine's worker processes the callable and tensors are pickled across, which vLLM only allows
with ``VLLM_ALLOW_INSECURE_SERIALIZATION=1`` (or build the engine in-process with
``VLLM_ENABLE_V1_MULTIPROCESSING=0``). Older versions (V0 engine) reach the model directly at
``llm.llm_engine.model_executor.driver_worker.model_runner.model``. Either way the prefix cache
is reset afterwards, since its keys and values were computed with the old weights. Both routes
copy every tensor through the host; for large models, broadcast weights over NCCL instead
(vLLM's RLHF examples: ``collective_rpc`` with a worker extension).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Sequence

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.rollout.prompt_text import render_prompt
from agentgym.rollout.transcript import encode_text

PROCESSED_LOGPROBS_SINCE = (0, 10, 2)


# ---------------------------------------------------------------- pure mapping
def vllm_sampling_kwargs(sampling: SamplingParams, seed: int | None) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for one request sampled with ``seed``."""
    return {
        "n": 1,
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "stop": list(sampling.stop),
        "include_stop_str_in_output": True,
        "seed": seed,
        "logprobs": 0 if sampling.logprobs else None,
    }


def request_seed(request: Request, sampling: SamplingParams, index: int) -> int | None:
    """``Request.seed`` when given, else ``sampling.seed + index``."""
    if request.seed is not None:
        return request.seed
    return None if sampling.seed is None else sampling.seed + index


def prompt_token_ids(request: Request, tokenizer: Any) -> list[int]:
    """The exact prompt: ``request.prompt_token_ids``, else the chat template's tokens."""
    if request.prompt_token_ids is not None:
        return [int(token) for token in request.prompt_token_ids]
    text = render_prompt(tokenizer, request.messages, request.tools)
    # The template already wrote the special tokens it wants; a lone surrogate is U+FFFD (encode_text).
    return encode_text(tokenizer, text)


def generation_from_output(output: Any) -> Generation:
    """A :class:`Generation` from a ``vllm.RequestOutput`` of one prompt (``n=1``)."""
    completion = output.outputs[0]
    token_ids = [int(token) for token in completion.token_ids]
    logprobs = None
    if completion.logprobs is not None:
        # One mapping per position, token id -> Logprob; the sampled token is always in it.
        logprobs = [float(step[token].logprob) for step, token in zip(completion.logprobs, token_ids)]
    reason = completion.finish_reason
    if reason not in ("stop", "length"):  # "abort", or None for an unfinished request
        return Generation(text="", token_ids=token_ids, prompt_token_ids=list(output.prompt_token_ids),
                          finish_reason="error", error=f"vLLM ended the request: finish_reason={reason!r}")
    return Generation(text=completion.text, token_ids=token_ids, logprobs=logprobs,
                      prompt_token_ids=[int(token) for token in output.prompt_token_ids], finish_reason=reason,
                      metadata={"stop_reason": getattr(completion, "stop_reason", None)})


def vllm_engine_kwargs(vllm_version: str, user_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``vllm.LLM`` keyword arguments: the user's, plus ``logprobs_mode="processed_logprobs"``
    where the version has it (see the module docstring)."""
    kwargs = dict(user_kwargs)
    if _version_tuple(vllm_version) >= PROCESSED_LOGPROBS_SINCE:
        kwargs.setdefault("logprobs_mode", "processed_logprobs")
    return kwargs


def weight_pairs(weights: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``(name, tensor)`` pairs from a state dict or an iterable of pairs."""
    pairs = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise TypeError(f"weights must be a state dict or (name, tensor) pairs, got an item {pair!r:.80}")
    return pairs


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


class _LoadWeights:
    """``model.load_weights(pairs)``, as a picklable callable for ``LLM.apply_model``."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs

    def __call__(self, model: Any) -> None:
        model.load_weights(self.pairs)


# ----------------------------------------------------------------------- glue
def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise ImportError("VLLMPolicy needs vLLM, which runs on GPUs only: pip install vllm") from exc
    return vllm


class VLLMPolicy(Policy):
    """Generate with an in-process ``vllm.LLM``; see the module docstring.

    Args:
        model: a checkpoint folder or hub name.
        name: a label for tables and logs (default: the model's last path part).
        engine_kwargs: passed to ``vllm.LLM`` (``tensor_parallel_size``, ``gpu_memory_utilization``,
            ``max_model_len``, ``dtype``, ``logprobs_mode``, ...).
    """

    def __init__(self, model: str, *, name: str | None = None, **engine_kwargs: Any) -> None:
        self._vllm = _import_vllm()
        self.llm = self._vllm.LLM(model=model, **vllm_engine_kwargs(self._vllm.__version__, engine_kwargs))
        self.tokenizer = self.llm.get_tokenizer()
        self.name = name or model.rstrip("/").rsplit("/", 1)[-1]
        self._lock = threading.Lock()  # vllm.LLM is not thread-safe

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return await asyncio.to_thread(self._generate, list(requests), sampling)

    def _generate(self, requests: list[Request], sampling: SamplingParams) -> list[Generation]:
        results: list[Generation | None] = [None] * len(requests)
        prompts, params, indices = [], [], []
        for index, request in enumerate(requests):
            try:
                prompts.append({"prompt_token_ids": prompt_token_ids(request, self.tokenizer)})
            except Exception as exc:  # a bad request must not sink the batch
                results[index] = Generation(text="", finish_reason="error", error=f"{type(exc).__name__}: {exc}")
                continue
            params.append(self._vllm.SamplingParams(**vllm_sampling_kwargs(sampling, request_seed(request, sampling, index))))
            indices.append(index)
        if prompts:
            with self._lock:
                outputs = self.llm.generate(prompts, params, use_tqdm=False)
            for index, output in zip(indices, outputs):
                results[index] = generation_from_output(output)
        return results  # type: ignore[return-value]

    def load_weights(self, weights: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Replace the engine's weights (a state dict or ``(name, tensor)`` pairs, in the
        checkpoint's naming); see the module docstring for the route each vLLM version takes."""
        pairs = weight_pairs(weights)
        with self._lock:
            if hasattr(self.llm, "apply_model"):
                self.llm.apply_model(_LoadWeights(pairs))
            else:
                self.llm.llm_engine.model_executor.driver_worker.model_runner.model.load_weights(pairs)
            reset_prefix_cache = getattr(self.llm, "reset_prefix_cache", None)
            if reset_prefix_cache is not None:
                reset_prefix_cache()

    def close(self) -> None:
        self.llm = None
