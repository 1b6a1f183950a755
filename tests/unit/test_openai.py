"""/v1/chat/completions and /v1/models: OpenAI shapes in and out, Converse underneath."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import MAX_OUTPUT_TOKENS, converse_response, http_event

DEFAULT_MODEL = "amazon.nova-micro-v1:0"


def chat(call_invoke: Any, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    return call_invoke(http_event("POST", "/v1/chat/completions", payload))


def test_completion_maps_roles_and_answers_in_openai_shape(bedrock: Any, call_invoke: Any) -> None:
    bedrock.add_response(
        "converse",
        converse_response("Hi!", tokens=(9, 2)),
        {
            "modelId": DEFAULT_MODEL,
            "messages": [
                {"role": "user", "content": [{"text": "hello"}, {"text": "again"}]},
                {"role": "assistant", "content": [{"text": "yes?"}]},
                {"role": "user", "content": [{"text": "part one part two"}]},
            ],
            "system": [{"text": "be brief"}, {"text": "be kind"}],
            "inferenceConfig": {"maxTokens": 100, "temperature": 1.0, "topP": 0.5, "stopSequences": ["END"]},
        },
    )
    status, _, body = chat(
        call_invoke,
        {
            "model": DEFAULT_MODEL,
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "developer", "content": [{"type": "text", "text": "be kind"}]},
                {"role": "user", "content": "hello"},
                {"role": "user", "content": "again"},
                {"role": "assistant", "content": "yes?"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "part one "}, {"type": "text", "text": "part two"}],
                },
            ],
            "max_completion_tokens": 100,
            "temperature": 1.7,
            "top_p": 0.5,
            "stop": "END",
            "user": "u-1",
            "presence_penalty": 0,
        },
    )
    assert status == 200
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-") and body["model"] == DEFAULT_MODEL
    assert isinstance(body["created"], int)
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi!", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert body["usage"] == {
        "prompt_tokens": 9,
        "completion_tokens": 2,
        "total_tokens": 11,
        "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ],
)
def test_finish_reason_mapping(stop_reason: str, finish: str, bedrock: Any, call_invoke: Any) -> None:
    bedrock.add_response("converse", converse_response(stop=stop_reason))
    _, _, body = chat(call_invoke, {"messages": [{"role": "user", "content": "hi"}]})
    assert body["choices"][0]["finish_reason"] == finish


def test_max_tokens_is_capped(bedrock: Any, call_invoke: Any) -> None:
    bedrock.add_response(
        "converse",
        converse_response(),
        {
            "modelId": DEFAULT_MODEL,
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "inferenceConfig": {"maxTokens": MAX_OUTPUT_TOKENS},
        },
    )
    status, _, _ = chat(call_invoke, {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100_000})
    assert status == 200


@pytest.mark.parametrize(
    ("payload", "status", "param", "code"),
    [
        (
            {"messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": True}},
            400,
            "stream_options",
            None,
        ),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, 400, "n", None),
        ({"messages": [{"role": "user", "content": "hi"}], "model": "gpt-4o"}, 404, "model", "model_not_found"),
        ({"messages": []}, 400, "messages", None),
        ({"messages": [{"role": "function", "content": "x"}]}, 400, "messages[0].role", None),
        ({"messages": [{"role": "tool", "content": "x"}]}, 400, "messages[0].tool_call_id", None),
        ({"messages": [{"role": "assistant", "content": "x"}]}, 400, "messages", None),
        ({"messages": [{"role": "system", "content": "only system"}]}, 400, "messages", None),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": 3}, 400, "temperature", None),
        ({"messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b", "c", "d", "e"]}, 400, "stop", None),
    ],
)
def test_errors_in_openai_shape(
    payload: dict[str, Any], status: int, param: str, code: str | None, call_invoke: Any
) -> None:
    got, _, body = chat(call_invoke, payload)
    assert got == status
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"].startswith(param) and error["code"] == code


def test_malformed_json_is_openai_400(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("POST", "/v1/chat/completions", "{nope"))
    assert status == 400 and body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 429, "rate_limit_error"),
        ("ValidationException", 400, "invalid_request_error"),
        ("AccessDeniedException", 502, "upstream_error"),
    ],
)
def test_bedrock_errors_keep_the_status_mapping(
    code: str, status: int, kind: str, bedrock: Any, call_invoke: Any
) -> None:
    bedrock.add_client_error("converse", service_error_code=code, service_message="arn:aws:secret detail")
    got, headers, body = chat(call_invoke, {"messages": [{"role": "user", "content": "hi"}]})
    assert got == status and body["error"]["type"] == kind
    assert "arn:" not in body["error"]["message"]
    assert ("Retry-After" in headers) == (status == 429)


def test_model_list_in_openai_shape(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("GET", "/v1/models"))
    assert status == 200 and body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [
        DEFAULT_MODEL,
        "us.amazon.nova-lite-v1:0",
        "fault.throttling",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "amazon.titan-embed-text-v2:0",
        "cohere.embed-english-v3",
    ]
    assert body["data"][0] == {"id": DEFAULT_MODEL, "object": "model", "created": 0, "owned_by": "amazon"}


def test_unknown_v1_route_is_openai_404(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("GET", "/v1/files"))
    assert status == 404 and body["error"]["code"] == "not_found"
