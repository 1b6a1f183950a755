"""The authorizer against moto's SSM: caching, rotation, fail-closed paths, and log hygiene."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SSMProvider
from conftest import authorizer_app, load_event
from moto import mock_aws

from token_store import TokenStore

PARAMETER = "/bedrock-gateway/api-token"
TOKEN = "s3cr3t-Token_value.0123456789abcdef"
ALLOW = {"isAuthorized": True, "context": {"keyId": "default", "keyType": "root"}}
DENY = {"isAuthorized": False}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("ssm")
        client.calls = 0  # type: ignore[attr-defined]

        def count(**_: Any) -> None:
            client.calls += 1  # type: ignore[attr-defined]

        client.meta.events.register("before-call.ssm.GetParameter", count)
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(ssm: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> TokenStore:
    """A fresh store (as in a new container) wired into the handler, with its own Powertools cache."""
    provider = SSMProvider(boto3_client=ssm)
    new = TokenStore(PARAMETER, max_age=300, refresh_interval=30, fetch=provider.get, clock=clock)
    monkeypatch.setattr(authorizer_app, "store", new)
    return new


def put(ssm: Any, value: str) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=value, Type="SecureString", Overwrite=True)


def request(header: str | None, context: Any) -> dict[str, Any]:
    event = load_event("authorizer-allow.json")
    if header is None:
        del event["headers"]["authorization"]
    else:
        event["headers"]["authorization"] = header
    return authorizer_app.lambda_handler(event, context)


def test_allows_the_token_and_names_the_key(ssm: Any, store: TokenStore, context: Any) -> None:
    put(ssm, TOKEN)
    assert request(f"Bearer {TOKEN}", context) == ALLOW
    assert request(f"bearer {TOKEN}", context) == ALLOW
    assert request(TOKEN, context) == ALLOW


def test_headers_arrive_case_insensitively(ssm: Any, store: TokenStore, context: Any) -> None:
    put(ssm, TOKEN)
    event = load_event("authorizer-allow.json")
    event["headers"] = {"Authorization": f"Bearer {TOKEN}"}  # sam local's Title-Case
    assert authorizer_app.lambda_handler(event, context) == ALLOW


@pytest.mark.parametrize("header", [None, "", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN[:-1]])
def test_denies_everything_else(header: str | None, ssm: Any, store: TokenStore, context: Any) -> None:
    put(ssm, TOKEN)
    assert request(header, context) == DENY


def test_one_ssm_call_across_many_warm_invocations(ssm: Any, store: TokenStore, context: Any, clock: Clock) -> None:
    put(ssm, TOKEN)
    for _ in range(200):
        assert request(f"Bearer {TOKEN}", context) == ALLOW
        clock.now += 1
    assert ssm.calls == 1


def test_unknown_tokens_force_at_most_one_refresh_per_interval(
    ssm: Any, store: TokenStore, context: Any, clock: Clock
) -> None:
    put(ssm, TOKEN)
    request(f"Bearer {TOKEN}", context)
    for _ in range(100):  # a flood of bad tokens inside one interval
        assert request("Bearer wrong-token", context) == DENY
    assert ssm.calls == 2  # the first fetch + one forced refresh
    clock.now += 30
    request("Bearer wrong-token", context)
    assert ssm.calls == 3


def test_rotation_new_key_works_at_once_old_key_until_removed(
    ssm: Any, store: TokenStore, context: Any, clock: Clock
) -> None:
    store.max_age = 1  # seconds on Powertools' own (real) clock
    put(ssm, "old-token")
    assert request("Bearer old-token", context)["isAuthorized"]
    put(ssm, json.dumps({"2026-10": "old-token", "2026-11": "new-token"}))
    clock.now += 30
    assert request("Bearer new-token", context) == {
        "isAuthorized": True,
        "context": {"keyId": "2026-11", "keyType": "root"},
    }
    assert request("Bearer old-token", context) == {
        "isAuthorized": True,
        "context": {"keyId": "2026-10", "keyType": "root"},
    }
    put(ssm, json.dumps({"2026-11": "new-token"}))
    assert request("Bearer old-token", context)["isAuthorized"]  # cached: valid until max_age runs out
    time.sleep(1.1)
    assert request("Bearer old-token", context) == DENY
    assert request("Bearer new-token", context)["isAuthorized"]


@pytest.mark.parametrize("value", [" ", "{not json", '{"k": 1}', "two words"])
def test_unusable_parameter_fails_closed(value: str, ssm: Any, store: TokenStore, context: Any, logs: Any) -> None:
    put(ssm, value)
    assert request(f"Bearer {TOKEN}", context) == DENY
    assert "Root keys unavailable" in logs()


def test_missing_parameter_fails_closed(ssm: Any, store: TokenStore, context: Any, logs: Any) -> None:
    assert request(f"Bearer {TOKEN}", context) == DENY
    assert "ParameterNotFound" in logs()


def test_unreachable_ssm_fails_closed_fast(monkeypatch: pytest.MonkeyPatch, context: Any, logs: Any) -> None:
    import token_store

    token_store.ssm_fetch.cache_clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.setattr(authorizer_app, "store", TokenStore(PARAMETER, max_age=300, refresh_interval=30))
    started = time.monotonic()
    try:
        assert request(f"Bearer {TOKEN}", context) == DENY
    finally:
        token_store.ssm_fetch.cache_clear()
    assert time.monotonic() - started < 5  # inside the authorizer's 5 s timeout
    assert "EndpointConnectionError" in logs() or "Could not connect" in logs()


def test_token_and_header_never_logged(
    ssm: Any, store: TokenStore, context: Any, logs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    put(ssm, json.dumps({"a": TOKEN, "b": "second-" + TOKEN}))
    authorizer_app.logger.setLevel("DEBUG")  # even at DEBUG
    try:
        for header in (f"Bearer {TOKEN}", f"Bearer {TOKEN}zz", f"Basic {TOKEN}", TOKEN, "Bearer x" * 100):
            request(header, context)
    finally:
        authorizer_app.logger.setLevel("INFO")
    output = logs() + capsys.readouterr().out
    assert "Authorized" in output and "Denied" in output
    assert TOKEN not in output
    assert "Bearer" not in output
