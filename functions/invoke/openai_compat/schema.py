"""Request bodies of the OpenAI routes. Shapes only: every rule about meaning lives in chat.py and messages.py.

Fields whose OpenAI type is a union (message content, stop, tool_choice, response_format, embedding input) are
typed `Any` here with their documented schema attached, and checked by the translation, which names the exact
parameter (`messages[2].content[0].image_url.url`) instead of pydantic's union branches (`content.str`).
Models are built on first use (`defer_build`): a container that only serves /invoke never pays for them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from config import MAX_TOOLS

TEXT_PART = {
    "type": "object",
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
    "required": ["type", "text"],
}
IMAGE_PART = {
    "type": "object",
    "properties": {
        "type": {"const": "image_url"},
        "image_url": {
            "type": "object",
            "properties": {"url": {"type": "string"}, "detail": {"enum": ["auto", "low", "high"]}},
            "required": ["url"],
        },
    },
    "required": ["type", "image_url"],
}
CONTENT_SCHEMA = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"anyOf": [TEXT_PART, IMAGE_PART]}},
        {"type": "null"},
    ]
}

THINKING_BLOCK = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "type": {"const": "thinking"},
                "thinking": {"type": "string"},
                "signature": {"type": "string"},
            },
            "required": ["type", "thinking", "signature"],
        },
        {
            "type": "object",
            "properties": {"type": {"const": "redacted_thinking"}, "data": {"type": "string"}},
            "required": ["type", "data"],
        },
    ]
}

Content = Annotated[Any, WithJsonSchema(CONTENT_SCHEMA)]
Nullable = Annotated[Any, WithJsonSchema({})]  # refused unless null; any JSON is read


class FunctionCall(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")
    name: str
    arguments: str


class ToolCall(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel, defer_build=True):
    """One message of any role; which fields each role may use is checked in messages.py."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Content = None
    name: str | None = None  # ignored: Converse has no participant names
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None  # an earlier assistant refusal, sent back as its text
    # An earlier answer's reasoning: the signed thinking_blocks go back to the model (tool use needs them);
    # reasoning_content is their readable text, which the model does not take back (it is not signed).
    reasoning_content: str | None = None
    thinking_blocks: Annotated[Any, WithJsonSchema({"type": "array", "items": THINKING_BLOCK})] = None
    # What the SDK's own message objects carry when a client appends them to the history; refused unless null.
    annotations: Nullable = None
    audio: Nullable = None
    function_call: Nullable = None


class FunctionDefinition(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")
    type: Literal["function"]
    function: FunctionDefinition


class StreamOptions(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")
    include_usage: bool | None = None
    include_obfuscation: bool | None = None  # ignored: nothing is obfuscated here


TOOL_CHOICE_SCHEMA = {
    "anyOf": [
        {"enum": ["none", "auto", "required"]},
        {
            "type": "object",
            "properties": {
                "type": {"const": "function"},
                "function": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
            },
            "required": ["type", "function"],
        },
        {"type": "null"},
    ]
}
RESPONSE_FORMAT_SCHEMA = {
    "anyOf": [
        {"type": "object", "properties": {"type": {"enum": ["text", "json_object"]}}, "required": ["type"]},
        {
            "type": "object",
            "properties": {
                "type": {"const": "json_schema"},
                "json_schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "schema": {"type": "object"},
                        "strict": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
                    },
                    "required": ["name"],
                },
            },
            "required": ["type", "json_schema"],
        },
        {"type": "null"},
    ]
}
STOP_SCHEMA = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 4}, {"type": "null"}]
}


class ChatCompletionRequest(BaseModel, defer_build=True):
    """OpenAI's Chat Completions body. Unknown fields are refused (as OpenAI does); chat.py says what each does."""

    model_config = ConfigDict(extra="forbid")
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    model: str | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    stop: Annotated[Any, WithJsonSchema(STOP_SCHEMA)] = None
    n: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    tools: Annotated[list[Tool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: Annotated[Any, WithJsonSchema(TOOL_CHOICE_SCHEMA)] = None
    parallel_tool_calls: bool | None = None
    response_format: Annotated[Any, WithJsonSchema(RESPONSE_FORMAT_SCHEMA)] = None
    reasoning_effort: str | None = None  # low | medium | high (a thinking budget) or none
    cache: bool | None = None  # gateway extension (extra_body): false puts no prompt-cache points
    # Honoured only at their neutral value; anything else is refused with a 400 that names the field.
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    modalities: list[str] | None = None
    verbosity: str | None = None
    audio: Nullable = None
    prediction: Nullable = None
    web_search_options: Nullable = None
    functions: Nullable = None
    function_call: Nullable = None
    # Cannot change the answer: accepted and ignored (user is logged).
    user: str | None = None
    seed: int | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None


class EmbeddingRequest(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")
    input: Annotated[
        Any,
        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}),
    ]
    model: str | None = None
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = None
    user: str | None = None  # ignored: cannot change the vectors
