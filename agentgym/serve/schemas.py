"""Request and response models of the OpenAI-compatible policy server.

Requests follow OpenAI's schema in strict mode (``"5"`` is not an integer, ``true`` is not a
number) and ignore unknown fields, as OpenAI-compatible servers do. Responses follow OpenAI's
schema plus vLLM's token-id extensions: ``prompt_token_ids`` and ``token_ids`` when a request
sets ``return_token_ids``, and log-prob tokens written ``token_id:N`` when it sets
``return_tokens_as_token_ids``.

Text anywhere in a request must be valid Unicode: JSON can spell a lone UTF-16 surrogate
(``"\\ud800"``), which no tokenizer can encode; such a request fails validation with an
``unpaired_surrogate`` error that names the field (``messages[0].content``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
TokenId = Annotated[int, Field(ge=0)]
# Seeds travel as 64-bit integers in every back-end.
Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


# ------------------------------------------------------------------ requests
class FunctionCall(_Strict):
    name: NonEmptyStr
    arguments: str


class ToolCall(_Strict):
    id: NonEmptyStr
    type: Literal["function"] = "function"
    function: FunctionCall


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ChatMessage(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _content_present(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role} message needs content (only an assistant message with tool_calls may omit it)")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id it answers")
        return self

    def to_policy(self) -> dict[str, Any]:
        """The message as a policy's chat template takes it: text content, OpenAI tool calls."""
        content = self.content if not isinstance(self.content, list) else "".join(p.text for p in self.content)
        message: dict[str, Any] = {"role": "system" if self.role == "developer" else self.role,
                                   "content": content if content is not None else ""}
        if self.tool_calls:
            message["tool_calls"] = [call.model_dump() for call in self.tool_calls]
        for key in ("name", "tool_call_id"):
            if getattr(self, key) is not None:
                message[key] = getattr(self, key)
        return message


class FunctionSpec(_Strict):
    name: NonEmptyStr
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolSpec(_Strict):
    type: Literal["function"] = "function"
    function: FunctionSpec


def unpaired_surrogate(data: Any) -> tuple[str, int, str] | None:
    """The first string in ``data`` (JSON values: dicts, lists, strings) that holds a lone
    UTF-16 surrogate, as ``(field path, character index, the surrogate as \\uXXXX)``; the path
    is written as in the request (``messages[0].content``), keys get `` (a key)``.

    Iterative, so a deeply nested body cannot overflow the stack.
    """
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as exc:
                    return path or "the request body", exc.start, f"\\u{ord(value[exc.start]):04x}"
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                # A key may hold the surrogate itself: the path is written with it escaped.
                name = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
                child = f"{path}.{name}" if path else name
                stack.append((item, child))
                stack.append((key, f"{child} (a key)"))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in reversed(list(enumerate(value))))
    return None


class _SamplingRequest(_Strict):
    """The fields both endpoints share."""

    model: str | None = None
    temperature: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    stop: NonEmptyStr | Annotated[list[NonEmptyStr], Field(max_length=16)] | None = None
    seed: Seed | None = None
    n: int = 1
    stream: bool = False
    return_token_ids: bool = False
    return_tokens_as_token_ids: bool = False

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        found = unpaired_surrogate(data)
        if found is not None:
            path, index, surrogate = found
            raise PydanticCustomError(
                "unpaired_surrogate",
                "{path} contains an unpaired surrogate ({surrogate} at character {index}): text must be valid "
                "Unicode, and a UTF-16 surrogate is only valid as half of a pair",
                {"path": path, "surrogate": surrogate, "index": index})
        return data

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only n=1 is supported: send one request per sample")
        return value

    @field_validator("stream")
    @classmethod
    def _not_streaming(cls, value: bool) -> bool:
        if value:
            raise ValueError("streaming is not supported by this server")
        return value

    @property
    def stop_strings(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())


class ChatCompletionRequest(_SamplingRequest):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    tools: list[ToolSpec] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    logprobs: bool = False
    top_logprobs: int | None = None
    tool_choice: Any = None
    response_format: Any = None

    @model_validator(mode="after")
    def _model_chooses_tools(self) -> "ChatCompletionRequest":
        choice = self.tool_choice
        if choice not in (None, "auto") and not (choice == "none" and not self.tools):
            raise ValueError(f"tool_choice {json.dumps(choice)[:80]} is not supported: the model chooses whether to "
                             "call a tool (\"auto\"; \"none\" only without tools)")
        return self

    @field_validator("response_format")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        if value is not None and value != {"type": "text"}:
            raise ValueError(f"response_format {json.dumps(value)[:80]} is not supported: the model's output is not "
                             "constrained (only {\"type\": \"text\"})")
        return value

    @field_validator("top_logprobs")
    @classmethod
    def _no_alternatives(cls, value: int | None) -> int | None:
        if value:
            raise ValueError("top_logprobs is not supported: only the sampled tokens' log-probs are reported")
        return value

    @property
    def prompt_characters(self) -> int:
        """How many characters of text the prompt is made from: message contents, tool-call
        arguments and tool schemas (as JSON)."""
        total = 0
        for message in self.messages:
            content = message.content
            total += len(content) if isinstance(content, str) else sum(len(p.text) for p in content or ())
            total += sum(len(call.function.arguments) + len(call.function.name) for call in message.tool_calls or ())
        if self.tools:
            total += sum(len(json.dumps(tool.model_dump(exclude_none=True))) for tool in self.tools)
        return total


class CompletionRequest(_SamplingRequest):
    prompt: NonEmptyStr | Annotated[list[TokenId], Field(min_length=1)]
    max_tokens: Annotated[int, Field(ge=1)] = 16
    logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    echo: bool = False

    @field_validator("echo")
    @classmethod
    def _no_echo(cls, value: bool) -> bool:
        if value:
            raise ValueError("echo is not supported: ask for return_token_ids to get the prompt's token ids")
        return value


# ----------------------------------------------------------------- responses
class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[dict[str, Any]] = Field(default_factory=list)


class ChatLogprobs(BaseModel):
    content: list[TokenLogprob]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: ChatLogprobs | None = None
    finish_reason: Literal["stop", "length", "tool_calls"]
    token_ids: list[int] | None = None


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    prompt_token_ids: list[int] | None = None


class CompletionLogprobs(BaseModel):
    tokens: list[str]
    token_logprobs: list[float]
    text_offset: list[int]
    # Alternatives are not computed: only the sampled tokens' log-probs are reported.
    top_logprobs: list[dict[str, float]] | None = None


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: Literal["stop", "length"]
    token_ids: list[int] | None = None
    prompt_token_ids: list[int] | None = None


class CompletionResponse(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "agentgym"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorInfo(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: int


class ErrorResponse(BaseModel):
    error: ErrorInfo
