"""A policy served over HTTP by any OpenAI-compatible server (vLLM, SGLang, llama.cpp, hosted APIs).

Two modes:

* **Text mode** (the default): ``POST /chat/completions`` with the request's messages and tools.
  The server applies its own chat template, so the trajectory is text-only unless the server
  also returns the token ids (vLLM >= 0.10.2 with ``return_token_ids``, or ``agentgym
  serve-policy``): ask for them with ``return_token_ids=True``. A generation is token-exact
  only when *both* the prompt and the completion ids came back.
* **Token mode**: when the policy has a ``tokenizer`` (the server's model's tokenizer) and a
  request carries ``prompt_token_ids``, ``POST /completions`` with the token-id list as the
  prompt (vLLM, SGLang and ``agentgym serve-policy`` accept it), asking for the sampled token
  ids (``return_token_ids``, and ``return_tokens_as_token_ids`` so log-prob entries read
  ``token_id:N``). The prompt the server continues is exactly the one the rollout engine built.

**Images.** An image part of a message's content, ``{"type": "image", "image": <uint8 array>}``
(what :class:`~agentgym.wrappers.ChatHistory` makes of a ``{"text", "image"}`` observation; an
:class:`~agentgym.images.ImageRef` or a PIL image also do), is sent as an OpenAI image part,
``{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}`` (a part's
``detail`` goes inside ``image_url``). PNG is lossless, so the server sees the exact pixels.
Each distinct image is encoded once while it stays among the last :data:`IMAGE_CACHE_SIZE`
(a multi-turn conversation sends its earlier screenshots again every turn), off the event loop.
Token mode cannot carry images (a token-id prompt has no pixels): such a request is a
:class:`PolicyError`.

Failures: 429, 5xx, connection errors and timeouts are retried with exponential backoff and
jitter (a ``Retry-After`` header wins); any other 4xx is a :class:`PolicyError` carrying the
server's message, and a redirect (not followed) one naming where it points; token ids that are
not integers make an answer malformed. :meth:`OpenAIPolicy.agenerate` never raises for one failed request: that
request's generation has ``finish_reason="error"`` and the error text, the others are kept.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, AsyncGenerator, Sequence
from urllib.parse import urlsplit

import httpx
import numpy as np

from agentgym.core import is_finite_number, is_int
from agentgym.images import ImageFileError, ImageRef, image_digest, is_image, png_data_url
from agentgym.policies.base import FinishReason, Generation, Policy, PolicyError, Request, SamplingParams

TOKEN_ID_PREFIX = "token_id:"
#: distinct images whose ``data:`` URLs a policy keeps, so a conversation's images are encoded once
IMAGE_CACHE_SIZE = 64
_FINISH_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length", "tool_calls": "stop",
                                            "function_call": "stop", "eos": "stop"}


class _RetryableError(Exception):
    """A failed attempt worth repeating, with the delay the server asked for (if any)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenAIPolicy(Policy):
    """A model behind an OpenAI-compatible HTTP API; see the module docstring.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` (a bare ``http://host:port``
            gets ``/v1`` appended).
        model: the ``model`` field of every request.
        api_key: sent as a bearer token.
        max_concurrency: the most requests in flight at once (shared by concurrent batches).
        max_retries: how many times a failed request is repeated before giving up.
        timeout: seconds allowed for one HTTP request.
        tokenizer: the server model's Hugging Face tokenizer; enables token mode.
        name: a label for tables and logs (default: ``model``).
        return_token_ids: in text mode, ask the server for prompt and completion token ids
            (vLLM >= 0.10.2 extension; hosted APIs reject unknown fields, so it is off by default).
        retry_delay: the first backoff delay in seconds (doubled each retry, plus jitter).
        max_retry_delay: the longest backoff delay, ``Retry-After`` included.
    """

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, max_concurrency: int = 8,
                 max_retries: int = 4, timeout: float = 60.0, tokenizer: Any = None, name: str | None = None,
                 return_token_ids: bool = False, retry_delay: float = 0.5, max_retry_delay: float = 30.0) -> None:
        max_concurrency = _count("max_concurrency", max_concurrency, 1)
        max_retries = _count("max_retries", max_retries, 0)
        if timeout is not None and not (is_finite_number(timeout) and timeout > 0):
            raise ValueError(f"OpenAIPolicy: timeout must be a finite positive number of seconds, got {timeout!r}")
        for option, delay in (("retry_delay", retry_delay), ("max_retry_delay", max_retry_delay)):
            if not (is_finite_number(delay) and delay >= 0):
                raise ValueError(f"OpenAIPolicy: {option} must be a finite number of seconds >= 0, got {delay!r}")
        self.base_url = _api_root(base_url)
        self.model = model
        self.name = name or model
        self.tokenizer = tokenizer
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.return_token_ids = return_token_ids
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        # as UTF-8 bytes: a key beyond ASCII (which agentgym's servers take) is no str header to httpx
        self._headers = {"Authorization": f"Bearer {api_key}".encode()} if api_key else {}
        self._jitter = random.Random()
        # An httpx client and an asyncio semaphore belong to one event loop; `generate()` runs a
        # fresh loop per call, and loops of several threads may share the policy, so both are
        # made per loop (and the client closed as its loop ends: see _closed_with_its_loop).
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()
        self._per_loop_lock = threading.Lock()
        self._image_urls: OrderedDict[str, str] = OrderedDict()  # digest -> data URL, oldest first
        self._image_lock = threading.Lock()

    # ------------------------------------------------------------------ API
    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        seeds = [_request_seed(r, sampling, i) for i, r in enumerate(requests)]
        return list(await asyncio.gather(*(self._generate_or_error(r, sampling, s) for r, s in zip(requests, seeds))))

    async def agenerate_one(self, request: Request, sampling: SamplingParams, seed: int | None = None) -> Generation:
        """One generation sampled with ``seed`` (``sampling.seed`` is not used); raises
        :class:`PolicyError` when it fails."""
        has_images = _has_image_parts(request.messages)
        if self.tokenizer is not None and request.prompt_token_ids is not None:
            if has_images:
                raise PolicyError(f"{self.name}: a request with images cannot be sent in token mode (a token-id "
                                  "prompt carries no pixels); use a policy without a tokenizer (text mode)")
            path, payload = "/completions", self._completion_payload(request, sampling, seed)
            data = await self._post(path, payload)
            return _completion_generation(data, request.prompt_token_ids)
        messages = await asyncio.to_thread(self._with_image_urls, request.messages) if has_images else None
        path, payload = "/chat/completions", self._chat_payload(request, sampling, seed, messages)
        return _chat_generation(await self._post(path, payload))

    async def aclose(self) -> None:
        """Close the client of the running event loop (those of other loops close as their loops end)."""
        with self._per_loop_lock:
            state = self._per_loop.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.lifetime.aclose()  # closes the client

    def close(self) -> None:
        """Close the clients of loops that are neither running nor closed; a client whose loop
        has ended was closed with it (or holds no live connections worth closing politely)."""
        with self._per_loop_lock:
            states = list(self._per_loop.items())
            self._per_loop.clear()
        for loop, state in states:
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(state.lifetime.aclose())

    # ------------------------------------------------------------- payloads
    def _chat_payload(self, request: Request, sampling: SamplingParams, seed: int | None,
                      messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        payload = {"model": self.model, "messages": request.messages if messages is None else messages,
                   **_sampling_fields(sampling, seed)}
        if request.tools:
            payload["tools"] = request.tools
        if sampling.logprobs:
            payload["logprobs"] = True
        if self.return_token_ids:
            payload.update(_VLLM_TOKEN_FIELDS)
            if sampling.stop:  # keep the text equal to what the tokens decode to
                payload["include_stop_str_in_output"] = True
        return payload

    def _completion_payload(self, request: Request, sampling: SamplingParams, seed: int | None) -> dict[str, Any]:
        payload = {"model": self.model, "prompt": list(request.prompt_token_ids or ()),
                   **_sampling_fields(sampling, seed), **_VLLM_TOKEN_FIELDS}
        if sampling.stop:  # keep the text equal to what the tokens decode to
            payload["include_stop_str_in_output"] = True
        if sampling.logprobs:
            payload["logprobs"] = 1
        return payload

    def _with_image_urls(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``messages`` with each image part as an OpenAI ``image_url`` part (new lists and
        dicts where something changed; the request's own are left alone)."""
        converted = []
        for message in messages:
            content = message.get("content")
            if isinstance(content, list) and any(_is_image_part(part) for part in content):
                parts = [self._image_url_part(part) if _is_image_part(part) else part for part in content]
                message = {**message, "content": parts}
            converted.append(message)
        return converted

    def _image_url_part(self, part: dict[str, Any]) -> dict[str, Any]:
        if "image" not in part:
            raise PolicyError(f"{self.name}: an image part without its image ({sorted(part)}); a trajectory read "
                              "from a record without loading its images?")
        image = part["image"]
        if isinstance(image, ImageRef):
            try:
                image = image.load()
            except ImageFileError as exc:
                raise PolicyError(f"{self.name}: {exc}") from None
        elif not isinstance(image, np.ndarray) and hasattr(image, "__array_interface__"):  # a PIL image
            image = np.asarray(image)
        if not is_image(image):
            raise PolicyError(f"{self.name}: an image part holds {_described(image)}, not an image (a uint8 array "
                              "H x W or H x W x 1/3/4)")
        url = {"url": self._data_url(image)}
        if part.get("detail") is not None:
            url["detail"] = part["detail"]
        return {"type": "image_url", "image_url": url}

    def _data_url(self, image: np.ndarray) -> str:
        digest = image_digest(image)
        with self._image_lock:
            url = self._image_urls.get(digest)
            if url is not None:
                self._image_urls.move_to_end(digest)
                return url
        url = png_data_url(image)
        with self._image_lock:
            self._image_urls[digest] = url
            while len(self._image_urls) > IMAGE_CACHE_SIZE:
                self._image_urls.popitem(last=False)
        return url

    # ----------------------------------------------------------------- HTTP
    async def _generate_or_error(self, request: Request, sampling: SamplingParams, seed: int | None) -> Generation:
        """The request's generation, or its error generation: whatever fails for one request (a
        refusal, text that cannot be sent as JSON, a malformed answer) leaves the batch alone."""
        try:
            return await self.agenerate_one(request, sampling, seed)
        except PolicyError as exc:
            return Generation(text="", finish_reason="error", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - one request's failure, reported as its generation
            return Generation(text="", finish_reason="error", error=f"{self.name}: {type(exc).__name__}: {exc}")

    async def _loop_state(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        """The running loop's client and concurrency slots, made on its first request."""
        loop = asyncio.get_running_loop()
        state = self._per_loop.get(loop)
        if state is None:
            client = httpx.AsyncClient(base_url=self.base_url, headers=self._headers,
                                       timeout=httpx.Timeout(self.timeout))
            state = _LoopState(client, asyncio.Semaphore(self.max_concurrency), _closed_with_its_loop(client))
            await state.lifetime.__anext__()
            with self._per_loop_lock:
                for ended in [other for other in self._per_loop if other.is_closed()]:
                    del self._per_loop[ended]  # their clients were closed as they ended
                self._per_loop[loop] = state
        return state.client, state.slots

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with retries; the decoded JSON body, or :class:`PolicyError`."""
        client, slots = await self._loop_state()
        attempt = 0
        while True:
            try:
                # The slot is held for the request only, never while backing off.
                async with slots:
                    return await self._attempt(client, path, payload)
            except _RetryableError as exc:
                if attempt == self.max_retries:
                    raise PolicyError(f"{self.base_url}{path}: gave up after {attempt + 1} attempts: {exc}") from None
                await asyncio.sleep(self._backoff(attempt, exc.retry_after))
                attempt += 1

    async def _attempt(self, client: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await client.post(path, json=payload)
        except httpx.TimeoutException as exc:
            raise _RetryableError(f"timed out after {self.timeout:g} s ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _RetryableError(f"connection failed: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _RetryableError(f"HTTP {status}: {_error_message(response)}", _retry_after(response))
        if status >= 400:
            raise PolicyError(f"{self.base_url}{path} refused the request: HTTP {status}: {_error_message(response)}")
        if response.is_redirect:  # not followed: a POST's body is not resent everywhere; point base_url there
            raise PolicyError(f"{self.base_url}{path} answered HTTP {status}, a redirect to "
                              f"{response.headers.get('location')!r}: give base_url the address it moved to")
        try:
            data = response.json()
        except ValueError:
            raise PolicyError(f"{self.base_url}{path} answered with invalid JSON: {response.text[:200]!r}") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
            raise PolicyError(f"{self.base_url}{path} answered without choices: {str(data)[:200]}")
        return data

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_delay)
        delay = self.retry_delay * 2 ** attempt
        return min(delay + self._jitter.uniform(0, delay), self.max_retry_delay)


@dataclass
class _LoopState:
    """What one event loop's requests share: its client, its concurrency slots and the async
    generator that closes the client as the loop ends."""

    client: httpx.AsyncClient
    slots: asyncio.Semaphore
    lifetime: AsyncGenerator[None, None]


async def _closed_with_its_loop(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Keeps ``client`` until the event loop it was made on shuts its async generators down
    (``asyncio.run`` does as it ends: each ``generate()`` and ``rollout()`` call), then closes it
    there, so its keep-alive connections do not outlive the loop waiting for the garbage
    collector. Started once on the loop (which then tracks it) and referenced by the policy."""
    try:
        yield
    finally:
        await client.aclose()


# ----------------------------------------------------------- response parsing
def _chat_generation(data: dict[str, Any]) -> Generation:
    """A generation from a ``chat.completion`` body (OpenAI schema, vLLM's token-id fields)."""
    choice = _first_choice(data)
    message = choice.get("message") or {}
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    entries = (choice.get("logprobs") or {}).get("content") or []
    logprobs = [e.get("logprob") for e in entries] if entries else None
    token_ids = choice.get("token_ids") or _ids_from_tokens([e.get("token") for e in entries])
    prompt_token_ids = data.get("prompt_token_ids") or choice.get("prompt_token_ids")
    _check_token_ids("prompt token ids", prompt_token_ids)
    return _generation(data, choice, text=text, token_ids=token_ids, logprobs=logprobs,
                       prompt_token_ids=prompt_token_ids,
                       tool_calls=message.get("tool_calls") or None)


def _completion_generation(data: dict[str, Any], sent_prompt: list[int]) -> Generation:
    """A generation from a ``text_completion`` body for a token-id prompt."""
    choice = _first_choice(data)
    echoed = choice.get("prompt_token_ids") or data.get("prompt_token_ids")
    if echoed is not None and list(echoed) != list(sent_prompt):
        raise PolicyError("the server continued a different prompt than the token ids it was sent "
                          f"({len(echoed)} tokens instead of {len(sent_prompt)})")
    lp = choice.get("logprobs") or {}
    logprobs = lp.get("token_logprobs")
    token_ids = choice.get("token_ids") or _ids_from_tokens(lp.get("tokens") or [])
    return _generation(data, choice, text=choice.get("text") or "", token_ids=token_ids, logprobs=logprobs,
                       prompt_token_ids=list(sent_prompt), tool_calls=None)


def _generation(data: dict[str, Any], choice: dict[str, Any], *, text: str, token_ids: list[int] | None,
                logprobs: list[float] | None, prompt_token_ids: list[int] | None,
                tool_calls: list[dict[str, Any]] | None) -> Generation:
    raw_finish = choice.get("finish_reason")
    metadata: dict[str, Any] = {"finish_reason": raw_finish, "model": data.get("model")}
    if logprobs is not None and (any(not isinstance(x, (int, float)) for x in logprobs)
                                 or (token_ids is not None and len(logprobs) != len(token_ids))):
        # Log-probs that do not line up with the sampled tokens are worse than none.
        metadata["dropped_logprobs"] = len(logprobs)
        logprobs = None
    _check_token_ids("token ids", token_ids)
    token_ids = list(token_ids) if token_ids is not None else None
    return Generation(
        text=text, token_ids=token_ids, logprobs=[float(x) for x in logprobs] if logprobs is not None else None,
        prompt_token_ids=list(prompt_token_ids) if token_ids is not None and prompt_token_ids is not None else None,
        finish_reason=_FINISH_REASONS.get(raw_finish, "stop"), tool_calls=tool_calls, metadata=metadata)


def _first_choice(data: dict[str, Any]) -> dict[str, Any]:
    choice = data["choices"][0]
    if not isinstance(choice, dict):
        raise PolicyError(f"malformed choice in the server's answer: {str(choice)[:200]}")
    return choice


def _check_token_ids(name: str, ids: Any) -> None:
    """A :class:`PolicyError` unless the server's ``ids`` are ``None`` or a list of token ids
    (integers, not bools, from 0 up): a malformed answer, not a token-exact generation."""
    if ids is not None and not (isinstance(ids, list) and all(type(t) is int and t >= 0 for t in ids)):
        raise PolicyError(f"the server answered {name} that are not integers: {str(ids)[:200]}")


def _ids_from_tokens(tokens: list[Any]) -> list[int] | None:
    """Token ids from ``token_id:N`` log-prob tokens (vLLM's ``return_tokens_as_token_ids``)."""
    if not tokens or not all(isinstance(t, str) and t.startswith(TOKEN_ID_PREFIX) for t in tokens):
        return None
    try:
        return [int(t[len(TOKEN_ID_PREFIX):]) for t in tokens]
    except ValueError:
        return None


# ------------------------------------------------------------------ helpers
def _is_image_part(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "image"


def _has_image_parts(messages: Sequence[dict[str, Any]]) -> bool:
    return any(isinstance(m.get("content"), list) and any(_is_image_part(p) for p in m["content"]) for m in messages)


def _described(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


# vLLM's extensions for token-exact results (ignored by servers that accept unknown fields).
_VLLM_TOKEN_FIELDS = {"return_token_ids": True, "return_tokens_as_token_ids": True}


def _count(option: str, value: Any, minimum: int) -> int:
    """``value`` as an ``int`` of at least ``minimum`` (a NumPy integer too; not a bool or a
    float: ``max_retries=1.5`` never equals an attempt count, and retried forever)."""
    if not is_int(value) or value < minimum:
        raise ValueError(f"OpenAIPolicy: {option} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _request_seed(request: Request, sampling: SamplingParams, index: int) -> int | None:
    """``Request.seed`` when given, else ``sampling.seed + index`` (see :class:`SamplingParams`)."""
    if request.seed is not None:
        return request.seed
    return None if sampling.seed is None else sampling.seed + index


def _sampling_fields(sampling: SamplingParams, seed: int | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"max_tokens": sampling.max_tokens, "temperature": sampling.temperature,
                              "top_p": sampling.top_p}
    if sampling.stop:
        fields["stop"] = list(sampling.stop)
    if seed is not None:
        fields["seed"] = seed
    return fields


def _api_root(base_url: str) -> str:
    url = base_url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    return url if parts.path else url + "/v1"


def _error_message(response: httpx.Response) -> str:
    """The server's own words: OpenAI's ``error.message``, FastAPI's ``detail``, or the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("error", "detail", "message"):
            if body.get(key):
                return str(body[key])[:500]
    return str(body)[:500]


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number of seconds or an HTTP date), if given."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
