"""Request and response bodies of /invoke and /models. Field limits come from config; change them there."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

import reasoning
from bedrock import Conversation, Reply
from config import MAX_STOP_SEQUENCES, settings

# Text that is not blank: Bedrock rejects blank content, so it is a 422 here rather than a paid round trip.
Text = Annotated[str, Field(min_length=1, pattern=r"\S")]


def check_model(model_id: str | None) -> str:
    """The model to call: the default, or an allowlisted id (anything else is a validation error)."""
    if model_id is None:
        return settings.default_model
    if model_id not in settings.allowed_models:
        raise ValueError("model is not in this gateway's allowlist (GET /models lists them)")
    return model_id


class TextBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text


def text_or_blocks(content: object) -> str | list[TextBlock]:
    """A string, or a non-empty list of {"text": ...} blocks; one plain message instead of pydantic's per-branch
    errors (`content.str`, `content.list[TextBlock]`)."""
    if isinstance(content, str):
        if not content.strip():
            raise ValueError("must not be blank")
        return content
    if isinstance(content, list) and content:
        blocks = []
        for i, block in enumerate(content):
            if not isinstance(block, dict) or set(block) != {"text"} or not isinstance(block["text"], str):
                raise ValueError(f"block {i} must be an object with exactly one field, text")
            if not block["text"].strip():
                raise ValueError(f"block {i}: text must not be blank")
            blocks.append(TextBlock(text=block["text"]))
        return blocks
    raise ValueError('must be a non-blank string or a non-empty list of {"text": ...} blocks')


CONTENT_SCHEMA = {
    "anyOf": [
        {"type": "string", "minLength": 1, "pattern": r"\S"},
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"text": {"type": "string", "minLength": 1, "pattern": r"\S"}},
                "required": ["text"],
                "additionalProperties": False,
            },
        },
    ]
}


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: Annotated[object, AfterValidator(text_or_blocks), WithJsonSchema(CONTENT_SCHEMA)]

    def to_converse(self) -> dict[str, object]:
        blocks = [{"text": self.content}] if isinstance(self.content, str) else [b.model_dump() for b in self.content]
        return {"role": self.role, "content": blocks}


class Reasoning(BaseModel):
    model_config = ConfigDict(extra="forbid")
    budgetTokens: Annotated[int, Field(ge=1)]  # 1024..MaxReasoningTokens, checked with the model (400)


class InvokeRequest(BaseModel):
    """Either `prompt` or `messages` (Converse style: starts with user, roles alternate)."""

    model_config = ConfigDict(extra="forbid")
    prompt: Text | None = None
    messages: Annotated[list[Message], Field(min_length=1)] | None = None
    system: Text | None = None
    modelId: Annotated[str | None, AfterValidator(check_model)] = Field(None, validate_default=True)
    maxTokens: Annotated[int, Field(ge=1, le=settings.max_output_tokens)] | None = None
    temperature: Annotated[float, Field(ge=0, le=1)] | None = None
    topP: Annotated[float, Field(ge=0, le=1)] | None = None
    stopSequences: Annotated[list[Text], Field(max_length=MAX_STOP_SEQUENCES)] | None = None
    cache: bool = True  # false: no prompt-cache points for this request
    reasoning: Reasoning | None = None  # extended thinking, on models that have it

    @field_validator("messages")
    @classmethod
    def _alternate(cls, messages: list[Message] | None) -> list[Message] | None:
        roles = [m.role for m in messages or []]
        if roles and (roles[0] != "user" or any(a == b for a, b in pairwise(roles))):
            raise ValueError("messages must start with user and alternate user/assistant")
        return messages

    @model_validator(mode="after")
    def _one_input(self) -> InvokeRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt or messages")
        return self

    def to_conversation(self) -> Conversation:
        messages = (
            [m.to_converse() for m in self.messages]
            if self.messages
            else [{"role": "user", "content": [{"text": self.prompt}]}]
        )
        model_id = self.modelId or settings.default_model
        budget = None
        if self.reasoning:
            budget = reasoning.check(
                model_id,
                self.reasoning.budgetTokens,
                param="reasoning.budgetTokens",
                temperature=self.temperature,
                top_p=self.topP,
                forced_tool=None,
            )
        return Conversation(
            model_id=model_id,
            messages=messages,
            system=[self.system] if self.system else [],
            max_tokens=self.maxTokens,
            temperature=self.temperature,
            top_p=self.topP,
            stop=self.stopSequences or [],
            cache=self.cache,
            reasoning_budget=budget,
        )


class Usage(BaseModel, defer_build=True):  # response shape: built when first used
    inputTokens: int  # not read from or written to the prompt cache
    outputTokens: int  # the answer, and the reasoning when there is some
    totalTokens: int
    cacheReadInputTokens: int = 0
    cacheWriteInputTokens: int = 0


class InvokeResponse(BaseModel, defer_build=True):  # response shape: built when first used
    modelId: str
    output: str
    stopReason: str
    usage: Usage
    latencyMs: int
    reasoning: str | None = None  # the model's thinking, when reasoning was asked for

    @classmethod
    def from_reply(cls, reply: Reply) -> InvokeResponse:
        return cls(
            modelId=reply.model_id,
            output=reply.output,
            stopReason=reply.stop_reason,
            usage=Usage(
                inputTokens=reply.input_tokens,
                outputTokens=reply.output_tokens,
                totalTokens=reply.total_tokens,
                cacheReadInputTokens=reply.cache_read_tokens,
                cacheWriteInputTokens=reply.cache_write_tokens,
            ),
            latencyMs=reply.latency_ms,
            reasoning=reply.reasoning_text or None,
        )


class ModelList(BaseModel, defer_build=True):  # response shape: built when first used
    default: str
    models: list[str]  # chat models (POST /invoke, /v1/chat/completions)
    embeddingModels: list[str]  # POST /v1/embeddings


class Health(BaseModel, defer_build=True):  # response shape: built when first used
    status: Literal["ok"]


class FieldError(BaseModel, defer_build=True):  # response shape: built when first used
    field: str
    message: str
    type: str


class ErrorResponse(BaseModel, defer_build=True):  # response shape: built when first used
    message: str
    requestId: str
    code: str | None = None  # machine-readable reason where there is one (model_not_allowed, rate_limit_exceeded...)
    errors: list[FieldError] | None = None  # 422 only: every invalid field
