"""Managed keys against the local emulation: created with scripts/keys.py --local, enforced by the authorizer and
the invoke function through the local DynamoDB (moto), exactly as documented in README's "Keys and limits"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
import pytest
import requests
from conftest import TIMEOUT, Api
from discovery import Target

ROOT = Path(__file__).resolve().parents[2]
MODEL = "amazon.nova-micro-v1:0"
pytestmark = pytest.mark.local_only
REVOKE_WITHIN = 2 + 2 + 2  # KeyCacheSeconds + AuthorizerCacheTtl locally, plus the negative cache and slack


def keys(*args: str) -> dict[str, Any]:
    """scripts/keys.py --local --json, as a user runs it."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "keys.py"), "--local", "--json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def new_key(*options: str) -> tuple[str, str]:
    name = f"it-{uuid.uuid4().hex[:8]}"
    return name, keys("create", name, *options)["token"]


def call(
    target: Target, token: str, path: str = "/invoke", body: Any = None, method: str = "POST"
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if body is None and method == "POST":
        body = {"prompt": "count these four words", "maxTokens": 20}
    return requests.request(method, target.url + path, json=body, headers=headers, timeout=TIMEOUT)


def whole_minute_ahead(seconds: int = 15) -> None:
    """Counting tests must not straddle a minute boundary (the rate limits are per calendar minute)."""
    now = datetime.now(UTC)
    if now.second > 60 - seconds:
        time.sleep(60 - now.second + 0.5)


def test_a_model_outside_the_key_list_is_refused(target: Target) -> None:
    _, token = new_key("--models", "amazon.nova-lite-v1:0")
    response = call(target, token)  # /invoke uses the default model, which this key may not use
    assert response.status_code == 403 and response.json()["code"] == "model_not_allowed"
    client = openai.OpenAI(base_url=f"{target.url}/v1", api_key=token, max_retries=0, timeout=TIMEOUT)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "model_not_allowed"
    allowed = client.chat.completions.create(model="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "x"}])
    assert allowed.choices[0].message.content == "echo: x"
    assert [m.id for m in client.models.list()] == ["amazon.nova-lite-v1:0"]


def test_rpm_is_exact_under_concurrency(target: Target) -> None:
    _, token = new_key("--rpm", "5")
    whole_minute_ahead()
    barrier = threading.Barrier(12)

    def one(_: int) -> int:
        barrier.wait()
        return call(target, token).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = sorted(pool.map(one, range(12)))
    assert statuses == [200] * 5 + [429] * 7
    refused = call(target, token)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_tpm_and_monthly_budget(target: Target) -> None:
    whole_minute_ahead()
    _, token = new_key("--tpm", "8")
    first = call(target, token)  # admitted under the limit; its 9 tokens take the minute over it
    assert first.status_code == 200 and first.json()["usage"]["totalTokens"] > 8
    second = call(target, token)
    assert second.status_code == 429 and "tokens per minute" in second.json()["message"]
    _, token = new_key("--monthly-tokens", "5")
    assert call(target, token).status_code == 200
    spent = call(target, token)
    assert spent.status_code == 429 and spent.json()["code"] == "insufficient_quota"
    assert int(spent.headers["Retry-After"]) > 60  # until the 1st of next month, UTC


def test_usage_agrees_with_what_the_responses_reported(target: Target) -> None:
    whole_minute_ahead(20)
    name, token = new_key("--rpm", "50", "--monthly-tokens", "100000")
    reported = 0
    for prompt in ("one", "two words", "three more words"):
        response = call(target, token, body={"prompt": prompt})
        reported += response.json()["usage"]["totalTokens"]
    chat = call(
        target, token, "/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": "a b"}]}
    )
    reported += chat.json()["usage"]["total_tokens"]
    embedded = call(target, token, "/v1/embeddings", {"input": ["x y", "z"]})
    reported += embedded.json()["usage"]["prompt_tokens"]
    usage = call(target, token, "/usage", method="GET").json()
    assert usage["keyId"] == name and usage["type"] == "managed"
    assert usage["minute"] == {"requests": 5, "tokens": reported, "resetsInSeconds": usage["minute"]["resetsInSeconds"]}
    assert usage["month"]["tokens"] == reported and usage["month"]["remaining"] == 100000 - reported
    assert usage["limits"]["rpm"] == 50
    per_day = keys("usage", name)["usage"]
    assert sum(r["requests"] for r in per_day) == 5
    assert sum(r["inputTokens"] + r["outputTokens"] for r in per_day) == reported


def test_expired_and_revoked_keys_stop_working_within_the_documented_time(target: Target) -> None:
    import boto3

    name, token = new_key("--expires", "2099-01-01")
    assert call(target, token).status_code == 200
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=os.environ["LOCAL_SSM_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    table = json.loads((ROOT / "events" / "env.json").read_text())["InvokeFunction"]["KEYS_TABLE_NAME"]
    digest = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"ID#{name}"}})["Item"]["hash"]["S"]
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"KEY#{digest}"}})["Item"]
    policy = json.loads(item["policy"]["S"]) | {"expiresAt": int(time.time()) - 1}  # time has passed
    dynamodb.put_item(TableName=table, Item={**item, "policy": {"S": json.dumps(policy)}})
    assert denied_within(target, token, REVOKE_WITHIN)

    name, token = new_key()
    assert call(target, token).status_code == 200
    keys("revoke", name)
    started = time.monotonic()
    assert denied_within(target, token, REVOKE_WITHIN)
    assert time.monotonic() - started <= REVOKE_WITHIN


def denied_within(target: Target, token: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if call(target, token, "/models", method="GET").status_code == 403:
            return True
        time.sleep(0.3)
    return False


def test_root_keys_are_unaffected(api: Api) -> None:
    usage = api.call("GET", "/usage").json()
    assert usage["type"] == "root" and "CloudWatch" in usage["message"]
    assert api.invoke({"prompt": "root still answers"}).status_code == 200


def test_key_store_down_managed_keys_fail_closed_root_keys_answer(target: Target, api: Api) -> None:
    _, token = new_key("--rpm", "100")
    assert call(target, token).status_code == 200
    assert api.invoke({"prompt": "warm"}).status_code == 200
    moto = int(os.environ["LOCAL_SSM_PID"])
    os.kill(moto, signal.SIGSTOP)  # DynamoDB (and SSM) stop answering
    try:
        root = api.invoke({"prompt": "root, with the key store down"})
        managed = call(target, token)
    finally:
        os.kill(moto, signal.SIGCONT)
    assert root.status_code == 200  # root keys need no DynamoDB: cached SSM ring, zero table calls
    assert managed.status_code in (403, 503)  # the lookup denies, or admission cannot count: never unmetered
    if managed.status_code == 503:
        assert managed.json()["code"] == "key_store_unavailable" and managed.headers["Retry-After"]
