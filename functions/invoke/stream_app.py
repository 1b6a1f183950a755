"""The streaming API's function: POST /v1/chat/completions answered as the model writes (REST API, payload 1.0).

`handler` turns the event into a StreamedResponse; stream_runtime.py writes it to Lambda in streaming mode. The
buffered HTTP API (app.py) stays the primary API: both share the translation (openai_compat), the ChunkEncoder,
the key's checks and counters, the guardrail and the metrics (model_calls). Errors found before the model's first
event keep their HTTP status; an error after it is a `data: {"error": ...}` event, then the stream ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

import model_calls
import request_checks
from bedrock import Conversation
from caching import estimate_tokens
from caller import Caller
from errors import GatewayError, field_errors, from_botocore, openai_error_body
from observability import add_dimension_sets, logger, metrics
from openai_compat import chat, streaming
from openai_compat.relay import Relay

ROUTE = ("POST", "/v1/chat/completions")


@dataclass
class StreamedResponse:
    """What the runtime sends: status and headers first (API Gateway needs them before any byte), then the body."""

    status: int
    headers: dict[str, str]
    body: Iterable[bytes] = field(default_factory=list)


def json_response(status: int, payload: dict[str, Any], headers: dict[str, str]) -> StreamedResponse:
    return StreamedResponse(status, {"Content-Type": "application/json", **headers}, [json.dumps(payload).encode()])


def error_response(err: GatewayError, rid: str) -> StreamedResponse:
    log = logger.warning if err.status < 500 else logger.error
    log("Request failed", extra={"status": err.status, "reason": err.detail or err.message})
    payload = openai_error_body(err.message, err.kind, code=err.code, param=err.param)
    return json_response(err.status, payload, {"x-request-id": rid, **err.headers})


def parse(event: dict[str, Any]) -> Any:
    """The request body as a ChatCompletionRequest, or a GatewayError naming what is wrong."""
    from pydantic import ValidationError

    from openai_compat.schema import ChatCompletionRequest

    rejected = request_checks.precheck(event)
    if rejected:
        raise rejected
    try:
        return ChatCompletionRequest.model_validate_json(request_checks.body_text(event) or "null")
    except ValidationError as exc:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            raise GatewayError(400, "Request body is not valid JSON.", kind="invalid_request_error") from None
        fields = field_errors(errors)
        logger.info("Invalid request", extra={"errors": fields})
        raise request_checks.openai_invalid(fields) from None


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> StreamedResponse:
    who = Caller.from_event(event)
    logger.append_keys(key_id=who.key_id, key_type="managed" if who.managed else "root")
    rid = (event.get("requestContext") or {}).get("requestId") or "-"
    try:
        if (event.get("httpMethod"), event.get("resource") or event.get("path")) != ROUTE:
            raise GatewayError(404, "No such route.", kind="invalid_request_error", code="not_found")
        request = parse(event)
        if request.user:
            logger.append_keys(openai_user=request.user[:128])
        plan = chat.to_plan(request)
        if not plan.stream:  # the streaming URL answers stream=false too, in one piece
            completion = chat.completion(model_calls.call_model(who, plan.conversation), plan, rid)
            flush(who)
            return json_response(200, completion, {"x-request-id": rid})
        conversation, counted_at, events = model_calls.open_stream(who, plan.conversation)
    except GatewayError as err:
        flush(who)
        return error_response(err, rid)
    except Exception:
        logger.exception("Unexpected error")
        flush(who)
        return error_response(GatewayError(500, "Internal error."), rid)
    encoder = streaming.ChunkEncoder(f"chatcmpl-{rid}", int(time.time()), conversation.model_id, plan.include_usage)
    headers = {"Content-Type": streaming.CONTENT_TYPE, "Cache-Control": "no-cache", "x-request-id": rid}
    return StreamedResponse(200, headers, relay(who, conversation, plan, encoder, events, counted_at))


def relay(
    who: Caller,
    conversation: Conversation,
    plan: chat.ChatPlan,
    encoder: streaming.ChunkEncoder,
    events: Iterator[dict[str, Any]],
    counted_at: datetime,
) -> Iterator[bytes]:
    """Each chunk as soon as Bedrock's delta arrives. Closing this generator (the client went away) closes the
    Bedrock stream, which stops the model."""
    live = Relay(plan, encoder, conversation.model_id)
    finished = False
    try:
        for chunk in live.chunks(events):
            yield chunk.encode()
        finished = True
        model_calls.answered(who, conversation, live.reply(), counted_at)
        yield encoder.done().encode()
    except GeneratorExit:
        logger.warning("Client disconnected: Bedrock stream closed", extra={"model_id": conversation.model_id})
        if not finished:
            meter_unfinished(who, conversation, live, counted_at)
        raise
    except Exception as exc:  # after the first byte the status is sent: the error travels as an event
        err = exc if isinstance(exc, GatewayError) else from_botocore(exc)
        if not finished:
            model_calls.count_failure(conversation.model_id, err)
            meter_unfinished(who, conversation, live, counted_at)
        logger.error("Stream failed", extra={"status": err.status, "reason": err.detail or err.message})
        error = openai_error_body(err.message, err.kind, code=err.code or str(err.status), param=err.param)
        yield encoder.event(error).encode()
    finally:
        close = getattr(events, "close", None)
        if close:
            close()
        flush(who)


def meter_unfinished(who: Caller, conversation: Conversation, live: Relay, counted_at: datetime) -> None:
    """A stream that ended early (the client left, an error mid-stream) still counts against the key: Bedrock's
    usage when its metadata came, else an estimate of what was sent and written, so leaving early never escapes a
    budget."""
    if live.metadata:
        reply = live.reply()
        model_calls.meter(who, reply.model_id, reply.prompt_tokens, reply.output_tokens, counted_at)
        return
    sent = estimate_tokens(json.dumps(conversation.messages, default=str) + "".join(conversation.system))
    written = estimate_tokens(live.written())
    model_calls.meter(who, conversation.model_id, sent, written, counted_at)
    logger.info("Usage estimated for an unfinished stream", extra={"input_tokens": sent, "output_tokens": written})


def flush(who: Caller) -> None:
    """Metrics leave when the answer is complete (the handler returns before the stream ends)."""
    add_dimension_sets(who.key_id)
    metrics.flush_metrics()
