"""Chat Completions -> Converse and back. Which OpenAI fields are honoured, refused or ignored is decided here.

The rule: a field that would change the answer is honoured or refused with a 400 naming it; only fields that
cannot change the answer (user, seed, store, metadata, service_tier, ...) are accepted and ignored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import capabilities
import reasoning
from bedrock import Conversation, Reply
from config import MAX_STOP_SEQUENCES, settings

from . import catalog, tools
from .messages import invalid, to_turns
from .schema import ChatCompletionRequest

# Converse stopReason -> OpenAI finish_reason
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "tool_use": "tool_calls",
}

# field -> (is the value neutral?, why anything else is refused)
NEUTRAL_ONLY: dict[str, tuple[Any, str]] = {
    "frequency_penalty": (lambda v: not v, "Bedrock's Converse API has no frequency penalty; send 0 or leave it out"),
    "presence_penalty": (lambda v: not v, "Bedrock's Converse API has no presence penalty; send 0 or leave it out"),
    "logit_bias": (lambda v: not v, "Bedrock's Converse API has no logit bias"),
    "logprobs": (lambda v: not v, "Bedrock's Converse API returns no log probabilities"),
    "top_logprobs": (lambda v: v is None, "Bedrock's Converse API returns no log probabilities"),
    "modalities": (lambda v: v in (None, ["text"]), "only text output is supported"),
    "verbosity": (lambda v: v is None, "Bedrock's Converse API has no verbosity setting"),
    "audio": (lambda v: v is None, "audio output is not supported"),
    "prediction": (lambda v: v is None, "predicted outputs are not supported"),
    "web_search_options": (lambda v: v is None, "web search is not supported"),
    "functions": (lambda v: v is None, "the deprecated 'functions' parameter is not supported; use 'tools'"),
    "function_call": (
        lambda v: v is None,
        "the deprecated 'function_call' parameter is not supported; use 'tool_choice'",
    ),
}


@dataclass(frozen=True)
class ChatPlan:
    conversation: Conversation
    tools: tools.ToolPlan
    stream: bool
    include_usage: bool


def to_plan(request: ChatCompletionRequest) -> ChatPlan:
    """Refuse what the gateway cannot honour, clamp what Bedrock bounds tighter, translate the rest."""
    for name, (neutral, reason) in NEUTRAL_ONLY.items():
        if not neutral(getattr(request, name)):
            raise invalid(name, reason)
    if request.n not in (None, 1):
        raise invalid("n", "only n=1 is supported (Converse returns one choice)")
    if request.stream_options is not None and not request.stream:
        raise invalid("stream_options", "is only allowed when stream is true")
    model = request.model or settings.default_model
    if model in settings.embedding_models and model not in settings.allowed_models:
        raise invalid("model", f"'{model}' is an embedding model (POST /v1/embeddings); chat needs a chat model")
    if model not in settings.allowed_models:
        raise catalog.not_found(model, " for chat")
    tool_plan = tools.plan(request.tools, request.tool_choice, request.response_format, request.parallel_tool_calls)
    turns = to_turns(
        request.messages, tools_as_text=not tool_plan.user_tools, thinking=capabilities.of(model).reasoning
    )
    requested = request.max_completion_tokens or request.max_tokens
    budget = reasoning.effort_budget(request.reasoning_effort)
    if budget is not None:
        choice = (tool_plan.config or {}).get("toolChoice") or {}
        forced = (
            "response_format" if tool_plan.response_tool else "tool_choice" if set(choice) & {"any", "tool"} else None
        )
        reasoning.check(
            model,
            budget,
            param="reasoning_effort",
            temperature=request.temperature,
            top_p=request.top_p,
            forced_tool=forced,
        )
    conversation = Conversation(
        model_id=model,
        messages=turns.turns,
        system=turns.system,
        max_tokens=min(requested, settings.max_output_tokens) if requested else None,
        temperature=min(request.temperature, 1.0) if request.temperature is not None else None,
        top_p=request.top_p,
        stop=stop_sequences(request.stop),
        tool_config=tool_plan.config,
        cache=request.cache is not False,
        reasoning_budget=budget,
    )
    return ChatPlan(
        conversation=conversation,
        tools=tool_plan,
        stream=bool(request.stream),
        include_usage=bool(request.stream_options and request.stream_options.include_usage),
    )


def stop_sequences(stop: Any) -> list[str]:
    if stop is None:
        return []
    sequences = [stop] if isinstance(stop, str) else stop
    if not isinstance(sequences, list) or not all(isinstance(s, str) for s in sequences):
        raise invalid("stop", "must be a string or a list of strings")
    if len(sequences) > MAX_STOP_SEQUENCES:
        raise invalid("stop", f"at most {MAX_STOP_SEQUENCES} stop sequences (got {len(sequences)})")
    return [s for s in sequences if s]


def finish_reason(stop_reason: str, has_calls: bool, structured: bool) -> str:
    """OpenAI's finish_reason for an answer, buffered or streamed."""
    if has_calls:
        return "tool_calls"
    finish = FINISH_REASONS.get(stop_reason, "stop")
    if structured or finish == "tool_calls":  # structured output, or only tools parallel_tool_calls left out
        return "stop"
    return finish


def usage(reply: Reply) -> dict[str, Any]:
    """OpenAI's usage: prompt_tokens counts every input token, cached or not, as OpenAI does."""
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.prompt_tokens + reply.output_tokens,
        "prompt_tokens_details": {
            "cached_tokens": reply.cache_read_tokens,
            "cache_write_tokens": reply.cache_write_tokens,
        },
    }


def completion(reply: Reply, plan: ChatPlan, request_id: str) -> dict[str, Any]:
    """The chat.completion body; streaming re-frames exactly this as chunks."""
    calls, structured = tools.tool_calls(reply, plan.tools)
    message: dict[str, Any] = {"role": "assistant", "content": reply.output or None, "refusal": None}
    if calls:
        message["tool_calls"] = calls
    elif structured is not None:
        message["content"] = json.dumps(structured, ensure_ascii=False)
    if message["content"] is None and not calls:
        message["content"] = ""
    if reply.reasoning:  # never mixed into content; the signed blocks go back with the next request (tool use)
        message["reasoning_content"] = reply.reasoning_text
        message["thinking_blocks"] = reasoning.to_openai(reply.reasoning)
    finish = finish_reason(reply.stop_reason, bool(calls), structured is not None)
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model_id,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage(reply),
    }
