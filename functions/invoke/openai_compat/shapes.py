"""Response shapes of the OpenAI routes, for the OpenAPI document only (routes return plain dicts: no
per-request validation cost). Each model is built when first used, so cold starts do not pay for them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class FunctionCallOut(BaseModel, defer_build=True):
    name: str
    arguments: str


class ToolCallOut(BaseModel, defer_build=True):
    id: str
    type: Literal["function"]
    function: FunctionCallOut


class ThinkingBlock(BaseModel, defer_build=True):
    type: Literal["thinking", "redacted_thinking"]
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None  # redacted_thinking: base64


class ChatChoiceMessage(BaseModel, defer_build=True):
    role: Literal["assistant"]
    content: str | None
    refusal: None = None
    tool_calls: list[ToolCallOut] | None = None
    reasoning_content: str | None = None  # reasoning_effort: the model's thinking, never part of content
    thinking_blocks: list[ThinkingBlock] | None = None  # send back unchanged on the assistant message (tool use)


class ChatChoice(BaseModel, defer_build=True):
    index: int
    message: ChatChoiceMessage
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"]
    logprobs: None = None


class PromptTokensDetails(BaseModel, defer_build=True):
    cached_tokens: int  # read from the prompt cache
    cache_write_tokens: int  # written to it (gateway extension)


class ChatUsage(BaseModel, defer_build=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails


class ChatCompletion(BaseModel, defer_build=True):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage


class OpenAIModel(BaseModel, defer_build=True):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class OpenAIModelList(BaseModel, defer_build=True):
    object: Literal["list"]
    data: list[OpenAIModel]


class Embedding(BaseModel, defer_build=True):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str  # str: base64 little-endian float32


class EmbeddingUsage(BaseModel, defer_build=True):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel, defer_build=True):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class OpenAIErrorDetail(BaseModel, defer_build=True):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel, defer_build=True):
    error: OpenAIErrorDetail


def responses(model: type[BaseModel], stream: bool = False) -> dict[int, dict[str, Any]]:
    """The documented answers of an OpenAI route: the body, or with `stream`, also its event-stream form."""
    content: dict[str, Any] = {"application/json": {"model": model}}
    if stream:
        content["text/event-stream"] = {"schema": {"type": "string", "description": "chat.completion.chunk events"}}
    error = {"description": "Error (OpenAI shape)", "content": {"application/json": {"model": OpenAIError}}}
    return {200: {"description": "OK", "content": content}} | {
        status: error for status in (400, 404, 413, 429, 502, 503, 504)
    }
