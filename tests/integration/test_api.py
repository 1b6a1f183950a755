"""The gateway end to end: authorizer, validation, Bedrock calls and their failures, through real HTTP."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from conftest import Api

DEFAULT_MODEL = "amazon.nova-micro-v1:0"
MAX_OUTPUT_TOKENS = 1024  # template default


def assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["message"] and body["requestId"]
    return body


def test_health_needs_no_token(api: Api) -> None:
    response = api.call("GET", "/health", auth=None)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_missing_authorization_is_401(api: Api) -> None:
    assert api.invoke({"prompt": "hi"}, auth=None).status_code == 401


def test_wrong_token_is_403(api: Api) -> None:
    response = api.invoke({"prompt": "hi"}, auth="Bearer not-the-token")
    assert response.status_code == 403
    assert "not-the-token" not in response.text


@pytest.mark.parametrize("scheme", ["Bearer {}", "bearer {}", "{}"])
def test_token_accepted_with_bearer_any_case_or_bare(scheme: str, api: Api) -> None:
    response = api.call("GET", "/models", auth=scheme.format(api.target.token))
    assert response.status_code == 200, response.text


def test_models_lists_the_default(api: Api) -> None:
    body = api.call("GET", "/models").json()
    assert body["default"] in body["models"]


@pytest.mark.local_only
def test_post_prompt_echoes_with_usage_that_adds_up(api: Api) -> None:
    response = api.invoke({"prompt": "hello gateway world", "maxTokens": 50})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"modelId", "output", "stopReason", "usage", "latencyMs", "reasoning"}
    assert body["output"] == "echo: hello gateway world" and body["reasoning"] is None
    assert body["modelId"] == DEFAULT_MODEL and body["stopReason"] == "end_turn"
    usage = body["usage"]
    assert usage == {
        "inputTokens": 3,
        "outputTokens": 4,
        "totalTokens": 7,
        "cacheReadInputTokens": 0,
        "cacheWriteInputTokens": 0,
    }


@pytest.mark.local_only
def test_post_messages_echoes_the_last_user_turn(api: Api) -> None:
    response = api.invoke(
        {
            "system": "be brief",
            "messages": [
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": [{"text": "first answer"}]},
                {"role": "user", "content": [{"text": "second question"}]},
            ],
        }
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"] == "echo: second question"
    assert body["usage"]["totalTokens"] == body["usage"]["inputTokens"] + body["usage"]["outputTokens"]


@pytest.mark.local_only
def test_get_invoke_with_input_text(api: Api) -> None:
    response = api.call("GET", "/invoke", params={"inputText": "hi there"})
    assert response.status_code == 200, response.text
    assert response.json()["output"] == "echo: hi there"


def test_malformed_json_is_400(api: Api) -> None:
    response = api.call("POST", "/invoke", data='{"prompt": ', headers={"content-type": "application/json"})
    assert_error(response, 400)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"prompt": 42}, "body.prompt"),
        ({"messages": "hi"}, "body.messages"),
        ({}, "body"),
        ({"system": "only a system prompt"}, "body"),
        ({"prompt": "hi", "maxTokens": MAX_OUTPUT_TOKENS + 1}, "body.maxTokens"),
        ({"prompt": "hi", "modelId": "anthropic.claude-3-opus-20240229-v1:0"}, "body.modelId"),
        ({"prompt": "hi", "temperature": "hot"}, "body.temperature"),
    ],
)
def test_invalid_input_is_422_with_field_paths(payload: dict[str, Any], field: str, api: Api) -> None:
    body = assert_error(api.invoke(payload), 422)
    assert field in [e["field"] for e in body["errors"]]


def test_body_over_5_mb_is_413(api: Api) -> None:
    # 5 MB + 100 KB: over the gateway's limit, still under Lambda's 6 MB invocation payload with the event around it
    response = api.call(
        "POST",
        "/invoke",
        data=json.dumps({"prompt": "x" * (5 * 1024 * 1024 + 100_000)}),
        headers={"content-type": "application/json"},
    )
    assert_error(response, 413)


def test_unknown_route_is_404(api: Api) -> None:
    assert_error(api.call("GET", "/no/such/route"), 404)


@pytest.mark.local_only
@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("fault.throttling", 429),
        ("fault.validation", 400),
        ("fault.timeout", 504),
        ("fault.unavailable", 503),
        ("fault.notready", 503),
        ("fault.accessdenied", 502),
    ],
)
def test_bedrock_faults_map_to_statuses(model: str, status: int, api: Api) -> None:
    started = time.monotonic()
    response = api.invoke({"prompt": "hi", "modelId": model})
    body = assert_error(response, status)
    assert set(body) == {"message", "requestId"}
    assert "Exception" not in body["message"] and "arn:" not in body["message"]
    if status in (429, 503):
        assert response.headers["Retry-After"] == "2"
    if model == "fault.timeout":  # the stand-in hangs 10 s; local read timeout 2 s x 1 attempt (events/env.json)
        elapsed = time.monotonic() - started
        assert 2 <= elapsed < 2 + 1.5, elapsed  # the gateway's own deadline answered, with a small margin


BAD_INPUTS: list[Any] = [
    None,
    [],
    "string",
    0,
    {"prompt": None},
    {"prompt": ["a"]},
    {"messages": [{}]},
    {"messages": [{"role": "user"}]},
    {"prompt": "a", "topP": 2},
    {"prompt": "a" * 10, "x": 1},
    {"prompt": "\u0000\ud7ff\U0001f600"},
    {"prompt": "a", "stopSequences": "END"},
]


@pytest.mark.parametrize("payload", BAD_INPUTS)
def test_bad_input_never_causes_5xx(payload: Any, api: Api) -> None:
    response = api.call("POST", "/invoke", data=json.dumps(payload), headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text


@pytest.mark.local_only
def test_rotation_both_keys_then_old_key_refused(api: Api, ssm: Any) -> None:
    parameter = os.environ["LOCAL_TOKEN_PARAMETER"]
    original = api.target.token
    ssm.put_parameter(
        Name=parameter,
        Value=json.dumps({"old": original, "new": "rotated-token-2026"}),
        Type="SecureString",
        Overwrite=True,
    )
    try:
        time.sleep(1.1)  # TOKEN_REFRESH_INTERVAL locally
        assert api.call("GET", "/models", auth="Bearer rotated-token-2026").status_code == 200
        assert api.call("GET", "/models").status_code == 200
        ssm.put_parameter(
            Name=parameter, Value=json.dumps({"new": "rotated-token-2026"}), Type="SecureString", Overwrite=True
        )
        time.sleep(2 + 3 + 1)  # authorizer cache TTL + the authorizer's max_age (local settings) + margin
        assert api.call("GET", "/models").status_code == 403
        assert api.call("GET", "/models", auth="Bearer rotated-token-2026").status_code == 200
    finally:
        ssm.put_parameter(Name=parameter, Value=original, Type="SecureString", Overwrite=True)
        time.sleep(6)  # let caches forget the rotation for the tests after this one
