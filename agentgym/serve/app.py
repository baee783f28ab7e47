"""An OpenAI-compatible HTTP server over any local :class:`Policy`.

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` (messages, tools, sampling
parameters, ``logprobs``) and ``POST /v1/completions`` (a text prompt or a token-id list; needs
a policy with a tokenizer). With ``return_token_ids`` the answers carry the prompt and
completion token ids in vLLM's fields, so :class:`~agentgym.policies.openai_compat.OpenAIPolicy`
in token mode records exact trajectories through this server.

Errors use OpenAI's ``{"error": {"message", "type", "param", "code"}}`` body: 422 for a request
that does not match the schema (garbage JSON included), 400 for one the policy cannot serve
(unknown token ids, a prompt longer than the context, text that is not valid Unicode), 401
without the API key (when one is set), 404 for an unknown model, 413 for a body over the
limit, 500 only when the policy itself crashes.

Hostile or careless clients cannot stall the server:

- bodies over ``max_body_bytes`` are refused before they are read (:mod:`agentgym.serve.guards`);
- a prompt with more characters than ``max_prompt_chars`` (by default 32 per token of the
  policy's ``context_length``, more than any tokenizer packs into a token) is refused before it
  is tokenised, and tokenising runs on a thread of its own, never on the event loop;
- a request whose client disconnects is cancelled: dropped from the queue, and its batch
  stopped once all of that batch's clients are gone (see :class:`PolicyWorker`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Callable, TypeVar

from fastapi import FastAPI, HTTPException
from fastapi import Request as HTTPRequest
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentgym.core import check_api_key
from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.serve.schemas import (
    AssistantMessage,
    ChatChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatLogprobs,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    CompletionResponse,
    ErrorResponse,
    ModelCard,
    ModelList,
    TokenLogprob,
    ToolCall,
    Usage,
)
from agentgym.serve.guards import DEFAULT_MAX_BODY_BYTES, BearerAuth, BodyLimit, CrashAnswer, error_body
from agentgym.serve.worker import PolicyWorker
from agentgym.tool_calls import parse_tool_calls

TOKEN_ID_PREFIX = "token_id:"
# No tokenizer packs more characters than this into one token on average over a whole prompt.
CHARS_PER_TOKEN_BOUND = 32
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                413: "invalid_request_error", 422: "invalid_request_error", 500: "server_error"}
_ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 500)}
_T = TypeVar("_T")
log = logging.getLogger("agentgym.serve")


class ClientDisconnected(Exception):
    """The client went away before its answer was ready."""


def create_app(policy: Policy, *, model_name: str | None = None, max_batch_size: int = 8,
               default_max_tokens: int = 256, max_tokens_limit: int = 4096, api_key: str | None = None,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_prompt_chars: int | None = None) -> FastAPI:
    """A FastAPI app serving ``policy`` under the name ``model_name`` (default: ``policy.name``).

    Args:
        max_batch_size: the most concurrent requests sent to the policy as one batch.
        default_max_tokens: ``max_tokens`` of a chat request that gives none (at most
            ``max_tokens_limit``).
        max_tokens_limit: the largest ``max_tokens`` accepted.
        api_key: when set, every request must carry ``Authorization: Bearer <api_key>`` (401
            otherwise). :func:`~agentgym.serve.serve` insists on one beyond loopback. A key no
            header can carry (a line break, a space at either end) is a ``ValueError``.
        max_body_bytes: the largest request body accepted (413 otherwise; default 8 MiB).
        max_prompt_chars: the most characters a prompt may have before tokenising (a text
            prompt, or the text of all messages and tools); default ``32 * context_length``
            when the policy has a ``context_length``, else no limit but the body's.

    Every limit is an ``int >= 1`` (``max_prompt_chars`` may be ``None``): anything else is a
    ``ValueError`` naming it, here rather than a refusal of every request.
    """
    if api_key is not None and not api_key:
        raise ValueError("api_key is empty: give a non-empty key, or None for no authentication")
    check_api_key(api_key)  # a key no client can send: 401 to every client
    for name, value in (("max_batch_size", max_batch_size), ("default_max_tokens", default_max_tokens),
                        ("max_tokens_limit", max_tokens_limit), ("max_body_bytes", max_body_bytes),
                        ("max_prompt_chars", 1 if max_prompt_chars is None else max_prompt_chars)):
        if type(value) is not int or value < 1:
            raise ValueError(f"create_app: {name} must be an int >= 1, got {value!r}")
    context_length = getattr(policy, "context_length", None)
    if max_prompt_chars is None and isinstance(context_length, int) and context_length > 0:
        max_prompt_chars = CHARS_PER_TOKEN_BOUND * context_length
    worker = PolicyWorker(policy, max_batch_size=max_batch_size)
    off_loop = _OffLoopThread("agentgym-tokenize")
    served_name = model_name or policy.name
    created = int(time.time())

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        try:
            yield
        finally:
            off_loop.close()
            await worker.aclose()

    app = FastAPI(title="agentgym policy server", version="1", lifespan=lifespan)
    app.router.redirect_slashes = False  # "/v1/completions/" is a 404, not a redirect
    _install_error_handlers(app)
    app.add_middleware(CrashAnswer, logger=log)  # a bug behind a route: 500, the connection kept
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key)  # added last: runs first

    def check_prompt_length(characters: int, field: str) -> None:
        if max_prompt_chars is not None and characters > max_prompt_chars:
            context = f" for a {context_length}-token context" if context_length else ""
            raise HTTPException(400, f"{field} has {characters} characters; this server accepts at most "
                                     f"{max_prompt_chars}{context}")

    def sampling_params(body: ChatCompletionRequest | CompletionRequest, max_tokens: int, logprobs: bool) -> SamplingParams:
        if body.model is not None and body.model != served_name:
            raise HTTPException(404, f"model {body.model!r} is not served here; this server serves {served_name!r}")
        if max_tokens > max_tokens_limit:
            raise HTTPException(400, f"max_tokens is {max_tokens}; this server allows at most {max_tokens_limit}")
        try:
            return SamplingParams(max_tokens=max_tokens, temperature=1.0 if body.temperature is None else body.temperature,
                                  top_p=1.0 if body.top_p is None else body.top_p, stop=body.stop_strings,
                                  logprobs=logprobs)
        except ValueError as exc:  # the schema should have caught it; never let it become a 500
            raise HTTPException(400, str(exc)) from None

    async def generate(request: Request, sampling: SamplingParams, connection: HTTPRequest) -> Generation:
        """The worker's generation, cancelled if the client disconnects first."""
        job = asyncio.ensure_future(worker.generate(request, sampling))
        gone = asyncio.ensure_future(_disconnected(connection))
        try:
            await asyncio.wait([job, gone], return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when this handler is cancelled (server shutdown)
            gone.cancel()
            if not job.done():
                job.cancel()
        if job.cancelled():
            raise ClientDisconnected
        try:
            generation = job.result()
        except Exception as exc:
            raise HTTPException(500, f"the policy failed: {type(exc).__name__}: {exc}") from exc
        if generation.finish_reason == "error":
            raise HTTPException(400, f"the policy could not serve this request: {generation.error}")
        return generation

    @app.get("/v1/models", response_model=ModelList)
    async def list_models() -> ModelList:
        return ModelList(data=[ModelCard(id=served_name, created=created)])

    @app.post("/v1/chat/completions", response_model=ChatCompletionResponse, response_model_exclude_none=True,
              responses=_ERRORS)
    async def chat_completions(body: ChatCompletionRequest, connection: HTTPRequest) -> ChatCompletionResponse:
        max_tokens = body.max_completion_tokens or body.max_tokens or min(default_max_tokens, max_tokens_limit)
        sampling = sampling_params(body, max_tokens, logprobs=body.logprobs)
        check_prompt_length(body.prompt_characters, "the prompt (messages and tools)")
        tools = [tool.model_dump(exclude_none=True) for tool in body.tools] if body.tools else None
        request = Request(messages=[m.to_policy() for m in body.messages], tools=tools, seed=body.seed)
        generation = await generate(request, sampling, connection)
        content, tool_calls = _tool_calls(generation, offered=bool(tools))
        finish = "tool_calls" if tool_calls and generation.finish_reason == "stop" else generation.finish_reason
        logprobs = None
        if body.logprobs and generation.logprobs is not None and generation.token_ids is not None:
            tokens = _token_strings(policy, generation.token_ids, body.return_tokens_as_token_ids)
            logprobs = ChatLogprobs(content=[
                TokenLogprob(token=token, logprob=logprob, bytes=list(token.encode("utf-8")))
                for token, logprob in zip(tokens, generation.logprobs)])
        choice = ChatChoice(message=AssistantMessage(content=content, tool_calls=tool_calls), logprobs=logprobs,
                            finish_reason=finish, token_ids=generation.token_ids if body.return_token_ids else None)
        return ChatCompletionResponse(
            id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()), model=served_name, choices=[choice],
            usage=_usage(generation.prompt_token_ids, generation.token_ids),
            prompt_token_ids=generation.prompt_token_ids if body.return_token_ids else None)

    @app.post("/v1/completions", response_model=CompletionResponse, response_model_exclude_none=True,
              responses=_ERRORS)
    async def completions(body: CompletionRequest, connection: HTTPRequest) -> CompletionResponse:
        tokenizer = policy.tokenizer
        if tokenizer is None:
            raise HTTPException(400, f"{served_name!r} works on chat messages only (it has no tokenizer): "
                                     "use /v1/chat/completions")
        sampling = sampling_params(body, body.max_tokens, logprobs=body.logprobs is not None)
        if isinstance(body.prompt, str):
            check_prompt_length(len(body.prompt), "prompt")
            prompt = await off_loop.run(lambda: list(tokenizer.encode(body.prompt)))
        else:
            prompt = body.prompt
        if context_length and len(prompt) >= context_length:
            raise HTTPException(400, f"the prompt has {len(prompt)} tokens; the model's context holds "
                                     f"{context_length} (prompt and generation together)")
        vocabulary = len(tokenizer)
        unknown = sorted({token for token in prompt if token >= vocabulary})
        if unknown:
            raise HTTPException(400, f"prompt token ids outside the vocabulary (size {vocabulary}): {unknown[:5]}")
        generation = await generate(Request(messages=[], prompt_token_ids=prompt, seed=body.seed), sampling,
                                    connection)
        logprobs = None
        if body.logprobs is not None and generation.logprobs is not None and generation.token_ids is not None:
            tokens = _token_strings(policy, generation.token_ids, body.return_tokens_as_token_ids)
            pieces = _token_strings(policy, generation.token_ids, as_ids=False)
            offsets = [sum(len(piece) for piece in pieces[:i]) for i in range(len(pieces))]
            logprobs = CompletionLogprobs(tokens=tokens, token_logprobs=generation.logprobs, text_offset=offsets)
        prompt_ids = generation.prompt_token_ids or prompt
        choice = CompletionChoice(
            text=generation.text, logprobs=logprobs, finish_reason=generation.finish_reason,
            token_ids=generation.token_ids if body.return_token_ids else None,
            prompt_token_ids=prompt_ids if body.return_token_ids else None)
        return CompletionResponse(id=f"cmpl-{uuid.uuid4().hex}", created=int(time.time()), model=served_name,
                                  choices=[choice], usage=_usage(prompt_ids, generation.token_ids))

    return app


# -------------------------------------------------------------------- helpers
class _OffLoopThread:
    """One thread for CPU work the event loop must not do (tokenising a prompt); started on
    first use, so an app can be served again after :meth:`close`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._pool: ThreadPoolExecutor | None = None

    async def run(self, work: Callable[[], _T]) -> _T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


async def _disconnected(connection: HTTPRequest) -> None:
    """Return when the client has disconnected (the request body has been read by then, so the
    next ASGI message is the disconnect)."""
    while (await connection.receive())["type"] != "http.disconnect":
        pass


def _tool_calls(generation: Generation, offered: bool) -> tuple[str | None, list[ToolCall] | None]:
    """The message content and tool calls: the policy's own, else Hermes ``<tool_call>`` blocks
    in its text when tools were offered (as vLLM's ``hermes`` tool parser does)."""
    if generation.tool_calls:
        return generation.text or None, [_as_tool_call(call) for call in generation.tool_calls]
    if offered:
        parsed = parse_tool_calls(generation.text)
        if parsed.calls and parsed.error is None:
            calls = []
            for call in parsed.calls:
                openai_call = call.to_openai()
                openai_call["id"] = f"call_{uuid.uuid4().hex[:24]}"  # unique across the conversation
                calls.append(ToolCall.model_validate(openai_call))
            return parsed.text or None, calls
    return generation.text, None


def _as_tool_call(call: dict[str, Any]) -> ToolCall:
    function = call.get("function", call)
    arguments = function.get("arguments", {})
    return ToolCall.model_validate({
        "id": call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
        "function": {"name": function.get("name"),
                     "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}})


def _token_strings(policy: Policy, token_ids: list[int], as_ids: bool) -> list[str]:
    """Each token as text, or as ``token_id:N`` (always, for a policy without a tokenizer)."""
    if as_ids or policy.tokenizer is None:
        return [f"{TOKEN_ID_PREFIX}{token}" for token in token_ids]
    return [policy.tokenizer.decode([token]) for token in token_ids]


def _usage(prompt_ids: list[int] | None, token_ids: list[int] | None) -> Usage:
    prompt, completion = len(prompt_ids or ()), len(token_ids or ())
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _error(status: int, message: str, param: str | None = None) -> Response:
    """OpenAI's error body, written as ASCII JSON (so even a message quoting invalid text encodes)."""
    body = error_body(status, message, _ERROR_TYPES.get(status, "invalid_request_error"), param)
    headers = {"connection": "close"} if status == 413 else None  # the rest of the body stays unread
    return Response(body, status_code=status, media_type="application/json", headers=headers)


_FASTAPI_PARSE_ERROR = "There was an error parsing the body"  # FastAPI's words for a body json.loads failed on


def _parse_failure(cause: BaseException) -> str:
    """Why the body did not parse, in the client's terms."""
    if isinstance(cause, RecursionError):
        return "it is nested too deeply"
    if isinstance(cause, UnicodeDecodeError):
        return f"it is not UTF-8 (byte {cause.start})"
    return str(cause).split("; use sys.set_int_max_str_digits()")[0] or type(cause).__name__


def _field_path(loc: tuple[Any, ...]) -> str:
    """A pydantic location in the request's terms: ``messages[0].content``."""
    path = ""
    for part in loc:
        if part == "body":
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: HTTPRequest, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        content_type = request.headers.get("content-type")
        if any(tuple(e.get("loc", ())) == ("body",) for e in errors) and "json" not in (content_type or "").lower():
            # FastAPI reads a body as JSON only when it says it is (a web page's form post cannot
            # reach the policy): the body was never parsed, so no field of it is at fault.
            return _error(422, f"the request body must be JSON sent with Content-Type: application/json (the "
                               f"request's Content-Type is {content_type or 'none'})"[:300])
        if errors and errors[0].get("type") == "json_invalid":
            reason = (errors[0].get("ctx") or {}).get("error", "")
            return _error(422, f"the request body is not valid JSON: {reason}".rstrip(": "))
        for error in errors:
            if error.get("type") == "unpaired_surrogate":  # valid JSON, but no text a model can read
                return _error(400, error["msg"], param=(error.get("ctx") or {}).get("path"))
        problems, params = [], []
        for error in errors[:5]:
            where = _field_path(tuple(error.get("loc", ())))
            params.append(where)
            problems.append(f"{where or 'body'}: {error.get('msg')}")
        return _error(422, "invalid request: " + "; ".join(problems), param=params[0] if params and params[0] else None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == _FASTAPI_PARSE_ERROR and exc.__cause__ is not None:
            return _error(400, f"the request body is not valid JSON: {_parse_failure(exc.__cause__)}")
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(ClientDisconnected)
    async def client_gone(_, exc: ClientDisconnected) -> Response:
        return _error(499, "the client closed the connection before the answer was ready")
