"""The invoke function through its Lambda handler: routes, validation, and every error mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from conftest import MAX_OUTPUT_TOKENS, converse_response, http_event

DEFAULT_MODEL = "amazon.nova-micro-v1:0"
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"


def expected_converse(
    text: str, max_tokens: int = MAX_OUTPUT_TOKENS, model: str = DEFAULT_MODEL, **inference: Any
) -> dict[str, Any]:
    return {
        "modelId": model,
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "inferenceConfig": {"maxTokens": max_tokens, **inference},
    }


def test_post_prompt_answers_with_exactly_the_documented_shape(bedrock: Any, call_invoke: Any) -> None:
    bedrock.add_response(
        "converse",
        converse_response("Hi there", tokens=(7, 3)),
        expected_converse("hello", 100, temperature=0.2, topP=0.9, stopSequences=["END"]),
    )
    status, headers, body = call_invoke(
        http_event(
            "POST",
            "/invoke",
            {"prompt": "hello", "maxTokens": 100, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]},
        )
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == {
        "modelId": DEFAULT_MODEL,
        "output": "Hi there",
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": 7,
            "outputTokens": 3,
            "totalTokens": 10,
            "cacheReadInputTokens": 0,
            "cacheWriteInputTokens": 0,
        },
        "latencyMs": 42,
        "reasoning": None,
    }


def test_post_messages_system_and_allowlisted_model(bedrock: Any, call_invoke: Any) -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"text": "reply"}]},
        {"role": "user", "content": [{"text": "second"}, {"text": "part"}]},
    ]
    bedrock.add_response(
        "converse",
        converse_response(),
        {
            "modelId": "us.amazon.nova-lite-v1:0",
            "messages": [
                {"role": "user", "content": [{"text": "first"}]},
                {"role": "assistant", "content": [{"text": "reply"}]},
                {"role": "user", "content": [{"text": "second"}, {"text": "part"}]},
            ],
            "system": [{"text": "be brief"}],
            "inferenceConfig": {"maxTokens": MAX_OUTPUT_TOKENS},
        },
    )
    status, _, body = call_invoke(
        http_event(
            "POST", "/invoke", {"messages": messages, "system": "be brief", "modelId": "us.amazon.nova-lite-v1:0"}
        )
    )
    assert status == 200
    assert body["modelId"] == "us.amazon.nova-lite-v1:0"


def test_get_invoke_uses_input_text(bedrock: Any, call_invoke: Any) -> None:
    bedrock.add_response("converse", converse_response("pong"), expected_converse("ping"))
    status, _, body = call_invoke(http_event("GET", "/invoke", query={"inputText": "ping"}))
    assert (status, body["output"]) == (200, "pong")


def test_get_invoke_without_input_text_is_422(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("GET", "/invoke"))
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["query.inputText"]


def test_models_lists_default_first(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("GET", "/models"))
    assert status == 200
    assert body == {
        "default": DEFAULT_MODEL,
        "models": [DEFAULT_MODEL, "us.amazon.nova-lite-v1:0", "fault.throttling", CLAUDE],
        "embeddingModels": ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"],
    }


def test_health_makes_no_aws_call(bedrock: Any, call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("GET", "/health"))
    assert (status, body) == (200, {"status": "ok"})  # the Stubber would fail on any unexpected call


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, ["body"]),
        ({"prompt": ""}, ["body.prompt"]),
        ({"prompt": "   "}, ["body.prompt"]),
        ({"prompt": 5}, ["body.prompt"]),
        ({"prompt": "a", "messages": [{"role": "user", "content": "b"}]}, ["body"]),
        ({"prompt": "a", "maxTokens": MAX_OUTPUT_TOKENS + 1}, ["body.maxTokens"]),
        ({"prompt": "a", "maxTokens": 0}, ["body.maxTokens"]),
        ({"prompt": "a", "temperature": 1.5}, ["body.temperature"]),
        ({"prompt": "a", "topP": -0.1}, ["body.topP"]),
        ({"prompt": "a", "stopSequences": ["1", "2", "3", "4", "5"]}, ["body.stopSequences"]),
        ({"prompt": "a", "modelId": "anthropic.claude-v2"}, ["body.modelId"]),
        ({"prompt": "a", "unknown": 1}, ["body.unknown"]),
        ({"messages": []}, ["body.messages"]),
        ({"messages": [{"role": "system", "content": "x"}]}, ["body.messages[0].role"]),
        ({"messages": [{"role": "assistant", "content": "x"}]}, ["body.messages"]),
        ({"messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}]}, ["body.messages"]),
    ],
)
def test_invalid_bodies_are_422_with_field_paths(payload: dict[str, Any], fields: list[str], call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("POST", "/invoke", payload))
    assert status == 422
    assert body["message"] and body["requestId"] == "JKJaXmPLvHcESHA="
    assert set(fields) <= {e["field"] for e in body["errors"]}


def test_message_content_list_must_be_text_blocks(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("POST", "/invoke", {"messages": [{"role": "user", "content": []}]}))
    assert status == 422
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        ("body.messages[0].content", 'must be a non-blank string or a non-empty list of {"text": ...} blocks')
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (5, 'must be a non-blank string or a non-empty list of {"text": ...} blocks'),
        ("  ", "must not be blank"),
        ([{"text": "a"}, {"image": "b"}], "block 1 must be an object with exactly one field, text"),
    ],
)
def test_content_errors_name_the_field_in_one_plain_message(content: Any, message: str, call_invoke: Any) -> None:
    """Not pydantic's union branches (`content.str`, `content.list[TextBlock]`): one field, one reason."""
    status, _, body = call_invoke(http_event("POST", "/invoke", {"messages": [{"role": "user", "content": content}]}))
    assert status == 422
    assert body["errors"] == [{"field": "body.messages[0].content", "message": message, "type": "value_error"}]


@pytest.mark.parametrize("raw", ['{"prompt": ', "not json", '{"prompt": "a",}'])
def test_malformed_json_is_400(raw: str, call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("POST", "/invoke", raw))
    assert status == 400
    assert body["message"] == "Request body is not valid JSON." and body["requestId"]


def test_body_over_5_mb_is_413_before_parsing(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("POST", "/invoke", {"prompt": "x" * (5 * 1024 * 1024)}))
    assert status == 413
    assert "5 MB" in body["message"] and body["requestId"]


def test_non_json_content_type_is_415(call_invoke: Any) -> None:
    event = http_event("POST", "/invoke", "prompt=hi", headers={"content-type": "application/x-www-form-urlencoded"})
    status, _, body = call_invoke(event)
    assert status == 415 and "application/json" in body["message"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("DELETE", "/invoke"), ("GET", "/v1/nothing")])
def test_unknown_route_is_json_404(method: str, path: str, call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event(method, path))
    assert status == 404
    assert "message" in json.dumps(body)


@pytest.mark.parametrize(
    ("code", "http_status", "retry_after"),
    [
        ("ValidationException", 400, None),
        ("ThrottlingException", 429, "2"),
        ("ServiceQuotaExceededException", 429, "2"),
        ("ModelTimeoutException", 504, None),
        ("ModelNotReadyException", 503, "2"),
        ("ServiceUnavailableException", 503, "2"),
        ("AccessDeniedException", 502, None),
        ("ResourceNotFoundException", 502, None),
        ("InternalServerException", 500, None),
        ("ModelErrorException", 500, None),
    ],
)
def test_bedrock_errors_map_to_statuses(
    code: str, http_status: int, retry_after: str | None, bedrock: Any, call_invoke: Any, logs: Any
) -> None:
    secret_reason = f"arn:aws:bedrock:us-east-1::foundation-model/{DEFAULT_MODEL} says no"
    bedrock.add_client_error(
        "converse",
        service_error_code=code,
        service_message=secret_reason,
        http_status_code=http_status if http_status != 500 else 500,
    )
    status, headers, body = call_invoke(http_event("POST", "/invoke", {"prompt": "hi"}))
    assert status == http_status
    assert headers.get("Retry-After") == retry_after
    assert set(body) == {"message", "requestId"}
    assert "arn:" not in body["message"] and code not in body["message"]
    assert secret_reason in logs()  # the AWS reason is logged for operators


@pytest.mark.parametrize(
    ("exc", "http_status", "attempts"),
    [
        (ReadTimeoutError(endpoint_url="https://bedrock"), 504, 2),
        (EndpointConnectionError(endpoint_url="https://bedrock"), 503, 2),
        (ConnectionClosedError(endpoint_url="https://bedrock"), 503, 2),
        (RuntimeError("boom"), 500, 1),
    ],
)
def test_transport_failures_map_to_statuses(exc: Exception, http_status: int, attempts: int, call_invoke: Any) -> None:
    import bedrock as bedrock_module

    calls = []

    def fail(**_: Any) -> None:
        calls.append(1)
        raise exc

    events = bedrock_module.client().meta.events
    events.register_first("before-send.bedrock-runtime.Converse", fail)
    try:
        status, _, body = call_invoke(http_event("POST", "/invoke", {"prompt": "hi"}))
    finally:
        events.unregister("before-send.bedrock-runtime.Converse", fail)
    assert status == http_status
    assert set(body) == {"message", "requestId"} and "Traceback" not in body["message"]
    assert len(calls) == attempts  # retried once at most (BEDROCK_MAX_ATTEMPTS=2)


def test_client_deadlines_fit_api_gateway() -> None:
    import bedrock as bedrock_module

    config = bedrock_module.client().meta.config
    assert config.read_timeout == 2 and config.connect_timeout == 2
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert bedrock_module.client() is bedrock_module.client()  # once per container


def test_metrics_are_emitted_per_model(bedrock: Any, call_invoke: Any, capsys: pytest.CaptureFixture[str]) -> None:
    bedrock.add_response("converse", converse_response(tokens=(11, 4)), expected_converse("hi"))
    call_invoke(http_event("POST", "/invoke", {"prompt": "hi"}))
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf, "no EMF line printed"
    metric = emf[-1]
    assert metric["ModelId"] == DEFAULT_MODEL
    assert (metric["InputTokens"], metric["OutputTokens"], metric["ModelLatency"]) == ([11.0], [4.0], [42.0])


def test_logs_carry_request_id_and_key_id(bedrock: Any, call_invoke: Any, logs: Any) -> None:
    bedrock.add_response("converse", converse_response(), expected_converse("hi"))
    call_invoke(http_event("POST", "/invoke", {"prompt": "hi"}))
    entries = [json.loads(line) for line in logs().splitlines()]
    answered = next(entry for entry in entries if entry["message"] == "Model answered")
    assert answered["correlation_id"] == "JKJaXmPLvHcESHA="
    assert answered["key_id"] == "default"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/invoke", {"inputText": "hi", "modelId": "x"}),
        ("/models", {"x": "1"}),
        ("/invoke", {"inputText": "hi", "": "null"}),
    ],
)
def test_unknown_query_parameters_are_422(path: str, query: dict[str, str], call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("GET", path, query=query))
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {f"query.{k}" for k in query if k != "inputText"}


@pytest.mark.parametrize("raw", [b"\xff\x1fxn?\xfe", b'{"prompt": "\xc3"}'])
def test_base64_body_that_is_not_utf8_is_400(raw: bytes, call_invoke: Any) -> None:
    import base64

    event = http_event("POST", "/invoke", base64.b64encode(raw).decode())
    event["isBase64Encoded"] = True
    status, _, body = call_invoke(event)
    assert status == 400 and "UTF-8" in body["message"]


def test_base64_json_body_is_accepted(bedrock: Any, call_invoke: Any) -> None:
    import base64

    bedrock.add_response("converse", converse_response(), expected_converse("hé"))
    event = http_event("POST", "/invoke", base64.b64encode('{"prompt": "hé"}'.encode()).decode())
    event["isBase64Encoded"] = True
    assert call_invoke(event)[0] == 200
