"""An OpenAI-compatible HTTP server over any local :class:`Policy`.

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` (messages, tools, sampling
parameters, ``logprobs``) and ``POST /v1/completions`` (a text prompt or a token-id list; needs
a policy with a tokenizer). With ``return_token_ids`` the answers carry the prompt and
completion token ids in vLLM's fields, so :class:`~agentgym.policies.openai_compat.OpenAIPolicy`
in token mode records exact trajectories through this server.

Errors use OpenAI's ``{"error": {"message", "type", "param", "code"}}`` body: 422 for a request
that does not match the schema (garbage JSON included), 400 for one the policy cannot serve
(unknown token ids, a prompt longer than the context), 404 for an unknown model, 500 only when
the policy itself crashes.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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
from agentgym.serve.worker import PolicyWorker
from agentgym.tool_calls import parse_tool_calls

TOKEN_ID_PREFIX = "token_id:"
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error", 422: "invalid_request_error",
                500: "server_error"}
_ERRORS = {code: {"model": ErrorResponse} for code in (400, 404, 422, 500)}


def create_app(policy: Policy, *, model_name: str | None = None, max_batch_size: int = 8,
               default_max_tokens: int = 256, max_tokens_limit: int = 4096) -> FastAPI:
    """A FastAPI app serving ``policy`` under the name ``model_name`` (default: ``policy.name``).

    Args:
        max_batch_size: the most concurrent requests sent to the policy as one batch.
        default_max_tokens: ``max_tokens`` of a chat request that gives none (at most
            ``max_tokens_limit``).
        max_tokens_limit: the largest ``max_tokens`` accepted.
    """
    worker = PolicyWorker(policy, max_batch_size=max_batch_size)
    served_name = model_name or policy.name
    created = int(time.time())

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        await worker.aclose()

    app = FastAPI(title="agentgym policy server", version="1", lifespan=lifespan)
    _install_error_handlers(app)

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

    async def generate(request: Request, sampling: SamplingParams) -> Generation:
        try:
            generation = await worker.generate(request, sampling)
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
    async def chat_completions(body: ChatCompletionRequest) -> ChatCompletionResponse:
        max_tokens = body.max_completion_tokens or body.max_tokens or min(default_max_tokens, max_tokens_limit)
        sampling = sampling_params(body, max_tokens, logprobs=body.logprobs)
        tools = [tool.model_dump(exclude_none=True) for tool in body.tools] if body.tools else None
        request = Request(messages=[m.to_policy() for m in body.messages], tools=tools, seed=body.seed)
        generation = await generate(request, sampling)
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
    async def completions(body: CompletionRequest) -> CompletionResponse:
        tokenizer = policy.tokenizer
        if tokenizer is None:
            raise HTTPException(400, f"{served_name!r} works on chat messages only (it has no tokenizer): "
                                     "use /v1/chat/completions")
        sampling = sampling_params(body, body.max_tokens, logprobs=body.logprobs is not None)
        prompt = list(tokenizer.encode(body.prompt)) if isinstance(body.prompt, str) else body.prompt
        unknown = sorted({token for token in prompt if token >= len(tokenizer)})
        if unknown:
            raise HTTPException(400, f"prompt token ids outside the vocabulary (size {len(tokenizer)}): {unknown[:5]}")
        generation = await generate(Request(messages=[], prompt_token_ids=prompt, seed=body.seed), sampling)
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


def _error(status: int, message: str, param: str | None = None) -> JSONResponse:
    body = ErrorResponse(error={"message": message, "type": _ERROR_TYPES.get(status, "invalid_request_error"),
                                "param": param, "code": status})
    return JSONResponse(body.model_dump(), status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if errors and errors[0].get("type") == "json_invalid":
            reason = (errors[0].get("ctx") or {}).get("error", "")
            return _error(422, f"the request body is not valid JSON: {reason}".rstrip(": "))
        problems, params = [], []
        for error in errors[:5]:
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            params.append(where)
            problems.append(f"{where or 'body'}: {error.get('msg')}")
        return _error(422, "invalid request: " + "; ".join(problems), param=params[0] if params and params[0] else None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def crash(_, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")
