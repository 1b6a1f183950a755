"""OpenAI Chat Completions on top of Converse: request and response shapes, and their translation."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bedrock import Conversation, Reply
from config import MAX_STOP_SEQUENCES, settings
from errors import GatewayError

# Converse stopReason -> OpenAI finish_reason
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "tool_use": "tool_calls",
}


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | Annotated[list[TextPart], Field(min_length=1)]

    @property
    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class ChatCompletionRequest(BaseModel):
    """Fields OpenAI clients send that Converse cannot honour are ignored, except those that change meaning."""

    model_config = ConfigDict(extra="ignore")
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    model: str | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    stop: str | Annotated[list[str], Field(max_length=MAX_STOP_SEQUENCES)] | None = None
    n: int | None = None
    stream: bool | None = None
    user: str | None = None


def _invalid(message: str, param: str) -> GatewayError:
    return GatewayError(400, message, kind="invalid_request_error", param=param)


def to_conversation(request: ChatCompletionRequest) -> Conversation:
    """Reject what the gateway cannot do, clamp what Bedrock bounds tighter, merge turns Converse wants merged."""
    if request.stream:
        raise _invalid("stream=true is not supported: API Gateway HTTP APIs cannot stream responses.", "stream")
    if request.n not in (None, 1):
        raise _invalid("Only n=1 is supported.", "n")
    model = request.model or settings.default_model
    if model not in settings.allowed_models:
        raise GatewayError(
            404,
            f"The model '{model[:200]}' does not exist or is not allowed (GET /v1/models lists them).",
            kind="invalid_request_error",
            code="model_not_found",
            param="model",
        )
    system = [m.text for m in request.messages if m.role in ("system", "developer") and m.text.strip()]
    turns: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role in ("system", "developer") or not message.text.strip():
            continue
        if turns and turns[-1]["role"] == message.role:  # Converse needs alternating roles: merge repeats
            turns[-1]["content"].append({"text": message.text})
        else:
            turns.append({"role": message.role, "content": [{"text": message.text}]})
    if not turns or turns[0]["role"] != "user":
        raise _invalid("messages need a non-empty user message before any assistant message.", "messages")
    requested = request.max_completion_tokens or request.max_tokens
    stop = [request.stop] if isinstance(request.stop, str) else (request.stop or [])
    return Conversation(
        model_id=model,
        messages=turns,
        system=system,
        max_tokens=min(requested, settings.max_output_tokens) if requested else None,
        temperature=min(request.temperature, 1.0) if request.temperature is not None else None,
        top_p=request.top_p,
        stop=[s for s in stop if s],
    )


def completion(reply: Reply, request_id: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model_id,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.output},
                "finish_reason": FINISH_REASONS.get(reply.stop_reason, "stop"),
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.total_tokens,
        },
    }


def model_list() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 0, "owned_by": m.split(".")[-2] if "." in m else "bedrock"}
            for m in settings.allowed_models
        ],
    }


# ---- response shapes, for the OpenAPI document only (the routes return plain dicts: no per-request cost) ------


class ChatChoiceMessage(BaseModel, defer_build=True):  # response shape: built when first used
    role: Literal["assistant"]
    content: str


class ChatChoice(BaseModel, defer_build=True):  # response shape: built when first used
    index: int
    message: ChatChoiceMessage
    finish_reason: str
    logprobs: None = None


class ChatUsage(BaseModel, defer_build=True):  # response shape: built when first used
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel, defer_build=True):  # response shape: built when first used
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage


class OpenAIModel(BaseModel, defer_build=True):  # response shape: built when first used
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class OpenAIModelList(BaseModel, defer_build=True):  # response shape: built when first used
    object: Literal["list"]
    data: list[OpenAIModel]


class OpenAIErrorDetail(BaseModel, defer_build=True):  # response shape: built when first used
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel, defer_build=True):  # response shape: built when first used
    error: OpenAIErrorDetail


def responses(model: type[BaseModel]) -> dict[int, dict[str, Any]]:
    error = {"description": "Error (OpenAI shape)", "content": {"application/json": {"model": OpenAIError}}}
    return {200: {"description": "OK", "content": {"application/json": {"model": model}}}} | {
        status: error for status in (400, 404, 413, 429, 502, 503, 504)
    }
