"""The one call this gateway makes: Bedrock Converse, with deadlines that fit API Gateway's 30 s."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from config import settings
from errors import from_botocore


@dataclass(frozen=True)
class Conversation:
    """A provider-neutral request: what /invoke and /v1/chat/completions both turn into."""

    model_id: str
    messages: list[dict[str, Any]]  # Converse shape: {"role": ..., "content": [{"text": ...}]}
    system: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reply:
    model_id: str
    output: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    latency_ms: int


@cache
def client() -> Any:
    """Created on first use, once per container: /health and rejected requests never pay for it.

    botocore directly, not boto3: boto3's import adds s3transfer (~45 ms of cold start here) and nothing we use.
    """
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        user_agent_extra="bedrock-gateway",
    )
    return botocore.session.get_session().create_client("bedrock-runtime", config=config)


def converse_arguments(conversation: Conversation) -> dict[str, Any]:
    inference: dict[str, Any] = {"maxTokens": conversation.max_tokens or settings.max_output_tokens}
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
    if conversation.system:
        arguments["system"] = [{"text": text} for text in conversation.system]
    return arguments


def converse(conversation: Conversation) -> Reply:
    """Call Converse; every botocore failure leaves as a GatewayError with its HTTP status."""
    try:
        response = client().converse(**converse_arguments(conversation))
    except Exception as exc:
        raise from_botocore(exc) from exc
    usage = response.get("usage", {})
    return Reply(
        model_id=conversation.model_id,
        output="".join(block.get("text", "") for block in response["output"]["message"]["content"]),
        stop_reason=response.get("stopReason", ""),
        input_tokens=usage.get("inputTokens", 0),
        output_tokens=usage.get("outputTokens", 0),
        total_tokens=usage.get("totalTokens", 0),
        latency_ms=response.get("metrics", {}).get("latencyMs", 0),
    )
