"""Property-based: whatever arrives, the handlers answer with a clean client error or a valid answer.

Never a 5xx (Bedrock is replaced by an echo that cannot fail), never a stack trace or internal detail in a
body, never a 200 for a request the request model rejects; the authorizer never authorizes anything but the
token and never raises. Example counts are bounded so the suite stays fast.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import authorizer_app, http_event, invoke_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bedrock
from models import InvokeRequest

# A source file name is a leak; a caller's own query parameter named `py`, echoed as field "query.py", is not.
LEAKS = re.compile(r"Traceback|File \"|arn:aws|botocore|pydantic|/work/|/var/task|Exception|(?<!\bquery)\.py\b")
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "prompt",
        "messages",
        "system",
        "modelId",
        "maxTokens",
        "temperature",
        "topP",
        "stopSequences",
        "role",
        "content",
        "text",
    ]
)
BODIES = st.one_of(
    st.dictionaries(FIELDS, JSON_VALUES, max_size=5).map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def echo_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def converse(conversation: bedrock.Conversation) -> bedrock.Reply:
        text = conversation.messages[-1]["content"][0]["text"]
        return bedrock.Reply(conversation.model_id, f"echo: {text}", "end_turn", 1, 1, 2, 1)

    import model_calls

    monkeypatch.setattr(model_calls, "converse", converse)


def check_clean(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] < 500, response
    body = json.loads(response["body"])
    assert not LEAKS.search(response["body"]), response["body"][:500]
    return body


@SETTINGS
@given(body=BODIES)
def test_any_invoke_body_gets_a_clean_answer(body: str, echo_model: None, context: Any) -> None:
    response = invoke_app.lambda_handler(http_event("POST", "/invoke", body), context)
    check_clean(response)
    if response["statusCode"] == 200:
        InvokeRequest.model_validate_json(body)  # a 200 only for a request the model accepts


@SETTINGS
@given(body=BODIES)
def test_any_chat_completion_body_gets_a_clean_answer(body: str, echo_model: None, context: Any) -> None:
    response = invoke_app.lambda_handler(http_event("POST", "/v1/chat/completions", body), context)
    answer = check_clean(response)
    if response["statusCode"] != 200:
        assert set(answer) == {"error"}


@SETTINGS
@given(
    path=st.sampled_from(["/invoke", "/models", "/health", "/v1/models", "/nope", "/invoke/x"]),
    query=st.dictionaries(st.text(max_size=10), st.text(max_size=300), max_size=3),
    headers=st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12), st.text(max_size=60), max_size=4
    ),
)
def test_any_query_and_headers_get_a_clean_answer(
    path: str, query: dict[str, str], headers: dict[str, str], echo_model: None, context: Any
) -> None:
    check_clean(invoke_app.lambda_handler(http_event("GET", path, query=query or None, headers=headers), context))


@settings(max_examples=500, deadline=None)
@given(header=st.one_of(st.none(), st.text(max_size=600), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_authorizer_never_authorizes_random_headers(header: str | None) -> None:
    class Store:
        def identify(self, token: str) -> str | None:
            return "default" if token == "the-real-token" else None

    original, authorizer_app.store = authorizer_app.store, Store()
    try:
        decision = authorizer_app.authorize(header)
    finally:
        authorizer_app.store = original
    token_forms = {"the-real-token"}
    stripped = (header or "").strip()
    if decision["isAuthorized"]:
        assert stripped in token_forms or stripped.lower().startswith("bearer ")
        assert stripped.split()[-1] in token_forms
