"""What every model call gets, buffered, streamed or embedding: the key's checks and counters, its guardrail,
metrics and one log line. The HTTP adapters (app.py, stream_app.py) call these; nothing here knows about HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

import guardrails
import metering
from bedrock import Conversation, Reply, converse, converse_stream
from caller import Caller
from errors import GatewayError
from observability import logger, metrics

if TYPE_CHECKING:
    from openai_compat.embeddings import Embedded


def admit(who: Caller, model_id: str) -> datetime:
    """The key's model list and limits, before any paid call. Returns the time the request was counted at."""
    who.check_model(model_id)
    now = metering.utcnow()
    who.check_expiry(now.timestamp())  # exact even while API Gateway still caches the authorizer's "allow"
    try:
        metering.admit(who, now)
    except GatewayError as err:
        if err.status == 503:
            metrics.add_metric(name="KeyStoreErrors", unit=MetricUnit.Count, value=1)
        raise
    return now


def meter(who: Caller, model_id: str, input_tokens: int, output_tokens: int, counted_at: datetime) -> None:
    """A managed key's usage counters (metrics per key come from the KeyId dimension set, for every key). The
    answer exists already: a failure to record is logged and counted (UsageRecordErrors), never turned into an
    error for the caller."""
    try:
        metering.record(who, model_id, input_tokens, output_tokens, counted_at)
    except Exception as exc:
        metrics.add_metric(name="UsageRecordErrors", unit=MetricUnit.Count, value=1)
        logger.error("Usage not recorded", extra={"reason": f"{type(exc).__name__}: {exc}"})


def count_failure(model_id: str, err: GatewayError) -> None:
    """Bedrock's throttling and its failures, by model; requests Bedrock refused as invalid (4xx) are not."""
    name = "BedrockThrottles" if err.status == 429 else "BedrockErrors" if err.status >= 500 else None
    if name:
        metrics.add_dimension("ModelId", model_id)
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def prepare(who: Caller, conversation: Conversation) -> tuple[Conversation, datetime]:
    """The conversation with the key's guardrail, admitted against the key's limits."""
    conversation = replace(conversation, guardrail=guardrails.for_key(who.guardrail))
    return conversation, admit(who, conversation.model_id)


def answered(who: Caller, conversation: Conversation, reply: Reply, counted_at: datetime) -> None:
    """Metrics, the key's counters and the log line of an answer (the answer's text is never logged)."""
    metrics.add_dimension("ModelId", reply.model_id)
    metrics.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=reply.latency_ms)
    metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=reply.input_tokens)
    metrics.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=reply.output_tokens)
    metrics.add_metric(name="CacheReadInputTokens", unit=MetricUnit.Count, value=reply.cache_read_tokens)
    metrics.add_metric(name="CacheWriteInputTokens", unit=MetricUnit.Count, value=reply.cache_write_tokens)
    meter(who, reply.model_id, reply.prompt_tokens, reply.output_tokens, counted_at)
    if reply.stop_reason == "guardrail_intervened":
        metrics.add_metric(name="GuardrailInterventions", unit=MetricUnit.Count, value=1)
        # That it happened and which policies acted (with trace on); never the text that was blocked.
        logger.warning(
            "Guardrail intervened",
            extra={
                "model_id": reply.model_id,
                "guardrail_id": conversation.guardrail.id if conversation.guardrail else None,
                "policies": guardrails.policies_that_acted(reply.guardrail_trace),
            },
        )
    logger.info(
        "Model answered",
        extra={
            "model_id": reply.model_id,
            "stop_reason": reply.stop_reason,
            "input_tokens": reply.input_tokens,
            "cache_read_tokens": reply.cache_read_tokens,
            "cache_write_tokens": reply.cache_write_tokens,
            "output_tokens": reply.output_tokens,
            "tool_calls": len(reply.tool_uses),
            "reasoning_chars": len(reply.reasoning_text),
        },
    )


def call_model(who: Caller, conversation: Conversation) -> Reply:
    """Converse, buffered: the whole answer at once."""
    conversation, counted_at = prepare(who, conversation)
    try:
        reply = converse(conversation)
    except GatewayError as err:
        count_failure(conversation.model_id, err)
        raise
    answered(who, conversation, reply, counted_at)
    return reply


def open_stream(who: Caller, conversation: Conversation) -> tuple[Conversation, datetime, Iterator[dict[str, Any]]]:
    """ConverseStream, up to its first event: failures before it keep their status. The caller relays the events
    and calls answered() (or meter() for a stream cut short) when it ends."""
    conversation, counted_at = prepare(who, conversation)
    try:
        events = converse_stream(conversation)
    except GatewayError as err:
        count_failure(conversation.model_id, err)
        raise
    return conversation, counted_at, events


def call_embeddings(who: Caller, request: Any) -> Embedded:
    """Embeddings with the key's checks and counters, metrics and a log line (the texts are never logged)."""
    from openai_compat import embeddings  # the streaming function never embeds: it does not import this

    model = embeddings.model_for(request)
    counted_at = admit(who, model)
    try:
        embedded = embeddings.embed(request, model)
    except GatewayError as err:
        count_failure(model, err)
        raise
    metrics.add_dimension("ModelId", embedded.model_id)
    metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=embedded.input_tokens)
    meter(who, embedded.model_id, embedded.input_tokens, 0, counted_at)
    logger.info(
        "Embeddings answered",
        extra={"model_id": embedded.model_id, "inputs": len(embedded.vectors), "input_tokens": embedded.input_tokens},
    )
    return embedded
