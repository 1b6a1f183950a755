"""The calls this gateway makes: Bedrock Converse, ConverseStream and InvokeModel, with deadlines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import caching
import reasoning
from config import EMBEDDING_CONCURRENCY, settings
from errors import from_botocore
from guardrails import Guardrail


@dataclass(frozen=True)
class Conversation:
    """A provider-neutral request: what /invoke and /v1/chat/completions both turn into."""

    model_id: str
    messages: list[dict[str, Any]]  # Converse shape: {"role": ..., "content": [{"text": ...}, {"toolUse": ...}]}
    system: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    tool_config: dict[str, Any] | None = None  # Converse toolConfig: {"tools": [...], "toolChoice": {...}}
    guardrail: Guardrail | None = None  # set per caller (app.call_model): the key's own or the stack's
    cache: bool = True  # cache points where the model supports them (and PROMPT_CACHING is not off)
    reasoning_budget: int | None = None  # extended thinking: tokens on top of max_tokens


@dataclass(frozen=True)
class ToolUse:
    id: str
    name: str
    input: Any


@dataclass(frozen=True)
class Reply:
    model_id: str
    output: str  # the text blocks, joined
    stop_reason: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    latency_ms: int
    tool_uses: tuple[ToolUse, ...] = ()
    reasoning: tuple[dict[str, Any], ...] = ()  # Converse reasoningContent blocks, signatures included
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    guardrail_trace: dict[str, Any] | None = None

    @classmethod
    def from_converse(cls, model_id: str, response: dict[str, Any]) -> Reply:
        """From Converse's response, or one a stream was assembled into (openai_compat/relay.py)."""
        usage = response.get("usage") or {}
        blocks = response["output"]["message"]["content"]
        return cls(
            model_id=model_id,
            output="".join(block.get("text", "") for block in blocks),
            stop_reason=response.get("stopReason", ""),
            input_tokens=usage.get("inputTokens", 0),
            output_tokens=usage.get("outputTokens", 0),
            total_tokens=usage.get("totalTokens", 0),
            latency_ms=(response.get("metrics") or {}).get("latencyMs", 0),
            tool_uses=tuple(
                ToolUse(id=b["toolUse"]["toolUseId"], name=b["toolUse"]["name"], input=b["toolUse"].get("input"))
                for b in blocks
                if "toolUse" in b
            ),
            reasoning=tuple(b["reasoningContent"] for b in blocks if "reasoningContent" in b),
            cache_read_tokens=usage.get("cacheReadInputTokens", 0),
            cache_write_tokens=usage.get("cacheWriteInputTokens", 0),
            guardrail_trace=response.get("trace"),
        )

    @property
    def prompt_tokens(self) -> int:
        """Every input token, cached or not (what OpenAI calls prompt_tokens, and what key budgets count)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def reasoning_text(self) -> str:
        return reasoning.text_of(self.reasoning)


@cache
def client() -> Any:
    """Created on first use, once per container: /health and rejected requests never pay for it.

    botocore directly, not boto3: boto3's import adds s3transfer (~45 ms of cold start here) and nothing we use.
    Clients are thread-safe: embeddings share this one across their worker threads.
    """
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        user_agent_extra="bedrock-gateway",
        max_pool_connections=EMBEDDING_CONCURRENCY,
    )
    return botocore.session.get_session().create_client("bedrock-runtime", config=config)


def converse_arguments(conversation: Conversation) -> dict[str, Any]:
    # The thinking budget comes on top: MaxOutputTokens keeps meaning the visible answer.
    answer_tokens = conversation.max_tokens or settings.max_output_tokens
    inference: dict[str, Any] = {"maxTokens": answer_tokens + (conversation.reasoning_budget or 0)}
    if conversation.temperature is not None:
        inference["temperature"] = conversation.temperature
    if conversation.top_p is not None:
        inference["topP"] = conversation.top_p
    if conversation.stop:
        inference["stopSequences"] = conversation.stop
    arguments: dict[str, Any] = {
        "modelId": conversation.model_id,
        "messages": conversation.messages,
        "inferenceConfig": inference,
    }
    system = [{"text": text} for text in conversation.system]
    tool_config = conversation.tool_config
    if conversation.cache and settings.prompt_caching:
        system, tool_config = caching.with_cache_points(conversation.model_id, system, tool_config)
    if system:
        arguments["system"] = system
    if tool_config:
        arguments["toolConfig"] = tool_config
    if conversation.guardrail:
        arguments["guardrailConfig"] = conversation.guardrail.converse_config()
    if conversation.reasoning_budget:
        arguments["additionalModelRequestFields"] = reasoning.request_fields(conversation.reasoning_budget)
    return arguments


def converse(conversation: Conversation) -> Reply:
    """Call Converse; every botocore failure leaves as a GatewayError with its HTTP status."""
    try:
        response = client().converse(**converse_arguments(conversation))
    except Exception as exc:
        raise from_botocore(exc) from exc
    return Reply.from_converse(conversation.model_id, response)


def converse_stream(conversation: Conversation) -> Iterator[dict[str, Any]]:
    """Call ConverseStream: its events, one dict each, as Bedrock sends them. A failure before the first event is
    a GatewayError here; one after it surfaces while iterating (map it with errors.from_botocore). Closing the
    iterator closes the connection, which stops the model (and its bill) mid-answer."""
    try:
        response = client().converse_stream(**converse_arguments(conversation))
    except Exception as exc:
        raise from_botocore(exc) from exc
    return response["stream"]


def invoke_model(model_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """InvokeModel with a JSON body: (the decoded answer, Bedrock's input token count from its response header)."""
    try:
        response = client().invoke_model(
            modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
        answer = json.loads(response["body"].read())
    except Exception as exc:
        raise from_botocore(exc) from exc
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return answer, int(headers.get("x-amzn-bedrock-input-token-count") or 0)
