"""Managed keys end to end in-process with moto: scripts/keys.py writes the table, the authorizer finds keys by
hash (cached, negative-cached, fail closed), and the invoke function enforces models, rpm, tpm and the monthly
budget with atomic counters, meters usage and answers GET /usage. Clocks are injected for the boundaries."""

from __future__ import annotations

import importlib.util
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import KEYS_TABLE, authorizer_app, converse_response, http_event, load_event
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
MODEL = "amazon.nova-micro-v1:0"
NOW = datetime(2026, 11, 28, 10, 15, 42, tzinfo=UTC)
ROOT_TOKEN = "root-token-0123456789"


def load_keys_script() -> Any:
    spec = importlib.util.spec_from_file_location("keys_script", ROOT / "scripts" / "keys.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


keys_script = load_keys_script()


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The keys table (the template's schema) in moto, wired into both functions; counts DynamoDB calls."""
    import managed_keys
    import metering

    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=KEYS_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        metering.client.cache_clear()
        managed_keys.dynamodb_fetch.cache_clear()
        monkeypatch.setattr(metering, "TABLE_NAME", KEYS_TABLE)
        monkeypatch.setattr(metering, "utcnow", lambda: NOW)
        store = managed_keys.ManagedKeyStore(KEYS_TABLE, max_age=60, negative_age=10)
        monkeypatch.setattr(authorizer_app, "managed", store)
        from token_store import TokenStore

        root = TokenStore("/p", max_age=300, refresh_interval=30, fetch=lambda *a, **k: ROOT_TOKEN)
        monkeypatch.setattr(authorizer_app, "store", root)
        calls: list[str] = []
        metering.client().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
        dynamodb.calls = calls  # type: ignore[attr-defined]
        yield dynamodb
        metering.client.cache_clear()
        managed_keys.dynamodb_fetch.cache_clear()


def keys(table: Any, *args: str) -> tuple[int, Any]:
    """Run scripts/keys.py --local --json against the moto table; (status, parsed stdout)."""
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        status = keys_script.main(["--local", "--json", *args], dynamodb=table)
    return status, json.loads(out.getvalue()) if status == 0 else None


def with_table_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """keys.py --local reads the table name from events/env.json: point it at the test table."""
    original = keys_script.Target.__init__

    def init(self: Any, args: Any, dynamodb: Any = None, cloudformation: Any = None) -> None:
        original(self, args, dynamodb, cloudformation)
        self.table = KEYS_TABLE

    monkeypatch.setattr(keys_script.Target, "__init__", init)


@pytest.fixture
def cli(table: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with_table_name(monkeypatch)
    return lambda *args: keys(table, *args)


def authorize(token: str, context: Any) -> dict[str, Any]:
    event = load_event("authorizer-allow.json")
    event["headers"]["authorization"] = f"Bearer {token}"
    return authorizer_app.lambda_handler(event, context)


def as_key(event: dict[str, Any], authorized: dict[str, Any]) -> dict[str, Any]:
    """The event API Gateway builds after the authorizer allowed: its context under authorizer.lambda."""
    event["requestContext"]["authorizer"] = {"lambda": authorized["context"]}
    return event


def chat(call_invoke: Any, authorized: dict[str, Any], model: str = MODEL) -> tuple[int, dict[str, str], Any]:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return call_invoke(as_key(http_event("POST", "/v1/chat/completions", body), authorized))


# ---- the CLI and what the table holds ---------------------------------------------------------------------------


def test_create_prints_the_token_once_and_the_table_holds_only_its_hash(cli: Any, table: Any) -> None:
    status, created = cli("create", "team-a", "--rpm", "5", "--models", MODEL, "--description", "search team")
    assert status == 0 and created["keyId"] == "team-a" and len(created["token"]) >= 43
    assert created["rpm"] == 5 and created["models"] == [MODEL]
    items = table.scan(TableName=KEYS_TABLE)["Items"]
    assert {i["pk"]["S"].split("#")[0] for i in items} == {"ID", "KEY"}
    assert created["token"] not in json.dumps(items)
    import hashlib

    assert f"KEY#{hashlib.sha256(created['token'].encode()).hexdigest()}" in {i["pk"]["S"] for i in items}


def test_cli_refuses_duplicates_unknown_names_and_models_the_gateway_does_not_allow(cli: Any) -> None:
    assert cli("create", "team-a")[0] == 0
    assert cli("create", "team-a")[0] == 2
    assert cli("update", "nobody", "--rpm", "3")[0] == 2
    assert cli("create", "team-b", "--models", "gpt-4o")[0] == 2
    assert cli("create", "bad name")[0] == 2
    assert cli("create", "team-c", "--expires", "2020-01-01")[0] == 2
    assert cli("create", "team-d", "--rpm", "0")[0] == 2


def test_update_clear_disable_enable_list_and_revoke(cli: Any) -> None:
    cli("create", "team-a", "--rpm", "5", "--tpm", "100")
    assert cli("update", "team-a", "--clear-rpm", "--monthly-tokens", "1000")[1]["rpm"] is None
    shown = cli("show", "team-a")[1]
    assert (shown["rpm"], shown["tpm"], shown["monthlyTokens"], shown["disabled"]) == (None, 100, 1000, False)
    assert cli("disable", "team-a")[1]["disabled"] is True
    assert cli("enable", "team-a")[1]["disabled"] is False
    assert [k["keyId"] for k in cli("list")[1]["keys"]] == ["team-a"]
    assert cli("revoke", "team-a")[1] == {"keyId": "team-a", "revoked": True}
    assert cli("list")[1] == {"keys": []}


# ---- the authorizer -----------------------------------------------------------------------------------------------


def test_authorizer_finds_a_managed_key_by_hash_and_passes_its_limits(cli: Any, context: Any) -> None:
    token = cli("create", "team-a", "--rpm", "5", "--models", MODEL)[1]["token"]
    decision = authorize(token, context)
    assert decision["isAuthorized"] is True
    assert decision["context"]["keyId"] == "team-a" and decision["context"]["keyType"] == "managed"
    assert json.loads(decision["context"]["limits"]) == {
        "models": [MODEL],
        "rpm": 5,
        "tpm": None,
        "monthlyTokens": None,
        "expiresAt": None,
        "guardrail": None,
    }


def test_disabled_expired_and_revoked_keys_are_denied(cli: Any, context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    token = cli("create", "team-a", "--expires", (NOW.date() + timedelta(days=400)).isoformat())[1]["token"]
    authorizer_app.managed.max_age = 0  # no cache: every decision reads the table
    assert authorize(token, context)["isAuthorized"] is True
    cli("disable", "team-a")
    assert authorize(token, context) == {"isAuthorized": False}
    cli("enable", "team-a")
    expires = cli("show", "team-a")[1]["expiresAt"]
    with monkeypatch.context() as later:
        later.setattr(time, "time", lambda: expires + 1)
        assert authorize(token, context) == {"isAuthorized": False}
    assert authorize(token, context)["isAuthorized"] is True
    cli("revoke", "team-a")
    assert authorize(token, context) == {"isAuthorized": False}


def test_unknown_tokens_are_negative_cached_and_cached_keys_cost_no_call(cli: Any, context: Any) -> None:
    import managed_keys

    token = cli("create", "team-a")[1]["token"]
    provider = managed_keys.dynamodb_fetch(KEYS_TABLE).__self__
    reads: list[str] = []
    provider.table.meta.client.meta.events.register("before-call.dynamodb.GetItem", lambda **_: reads.append("x"))
    for _ in range(5):
        assert authorize("x" * 43, context) == {"isAuthorized": False}
        assert authorize(token, context)["isAuthorized"] is True
    assert len(reads) == 2  # one miss (then remembered), one hit (then cached for KeyCacheSeconds)


def test_root_keys_never_touch_the_table(table: Any, context: Any) -> None:
    touched: list[str] = []
    authorizer_app.managed._fetch = lambda name, **kw: touched.append(name)
    assert authorize(ROOT_TOKEN, context)["context"] == {"keyId": "default", "keyType": "root"}
    assert touched == []


def test_a_table_failure_denies(context: Any) -> None:
    def broken(name: str, **_: Any) -> Any:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        raise GetParameterError("ProvisionedThroughputExceededException")

    authorizer_app.managed._fetch = broken
    assert authorize("y" * 43, context) == {"isAuthorized": False}


# ---- the invoke function --------------------------------------------------------------------------------------------


def managed(cli: Any, context: Any, *options: str) -> dict[str, Any]:
    return authorize(cli("create", "team-a", *options)[1]["token"], context)


def test_a_model_outside_the_key_list_is_403_in_both_shapes(cli: Any, context: Any, call_invoke: Any) -> None:
    key = managed(cli, context, "--models", "fault.throttling")  # allowed both here and in events/env.json
    status, _, body = chat(call_invoke, key)
    assert status == 403 and body["error"]["code"] == "model_not_allowed"
    status, _, body = call_invoke(as_key(http_event("POST", "/invoke", {"prompt": "hi"}), key))
    assert status == 403 and body["code"] == "model_not_allowed" and body["requestId"]
    status, _, body = call_invoke(as_key(http_event("GET", "/v1/models"), key))
    assert [m["id"] for m in body["data"]] == ["fault.throttling"]


def test_rpm_admits_exactly_the_limit_then_429_until_the_next_minute(
    cli: Any, context: Any, call_invoke: Any, bedrock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metering

    key = managed(cli, context, "--rpm", "2")
    for _ in range(2):
        bedrock.add_response("converse", converse_response())
        assert chat(call_invoke, key)[0] == 200
    status, headers, body = chat(call_invoke, key)  # no Converse response queued: the model is never called
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    assert headers["Retry-After"] == str(60 - NOW.second) and "2 requests per minute" in body["error"]["message"]
    monkeypatch.setattr(metering, "utcnow", lambda: NOW + timedelta(seconds=60 - NOW.second))
    bedrock.add_response("converse", converse_response())
    assert chat(call_invoke, key)[0] == 200


def test_tpm_counts_the_answers_tokens(cli: Any, context: Any, call_invoke: Any, bedrock: Any) -> None:
    key = managed(cli, context, "--tpm", "10")
    bedrock.add_response("converse", converse_response(tokens=(8, 4)))  # 12 tokens: over, but admitted before
    assert chat(call_invoke, key)[0] == 200
    status, _, body = chat(call_invoke, key)
    assert status == 429 and "10 tokens per minute" in body["error"]["message"]


def test_monthly_budget_is_insufficient_quota_until_the_first(
    cli: Any, context: Any, call_invoke: Any, bedrock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metering

    key = managed(cli, context, "--monthly-tokens", "5")
    bedrock.add_response("converse", converse_response(tokens=(5, 2)))
    assert chat(call_invoke, key)[0] == 200
    status, headers, body = chat(call_invoke, key)
    assert status == 429 and body["error"]["code"] == "insufficient_quota"
    first = datetime(2026, 12, 1, tzinfo=UTC)
    assert headers["Retry-After"] == str(int((first - NOW).total_seconds()))
    monkeypatch.setattr(metering, "utcnow", lambda: first)
    bedrock.add_response("converse", converse_response())
    assert chat(call_invoke, key)[0] == 200


def test_counters_are_atomic_across_concurrent_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """12 containers admitting at once against rpm 5: exactly 5 pass. DynamoDB applies conditional writes
    atomically; so does the local stand-in (local/aws_standin.py), served here over HTTP like in `make local`."""
    import socket
    import sys

    from werkzeug.serving import make_server

    import metering
    from caller import Caller
    from errors import GatewayError

    sys.path.insert(0, str(ROOT / "local"))
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    from aws_standin import Serialized

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = Serialized(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
        monkeypatch.setattr(metering, "TABLE_NAME", "atomic-test")
        metering.client.cache_clear()
        metering.client().create_table(
            TableName="atomic-test",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        who = Caller(key_id="team-a", managed=True, rpm=5)
        results: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(12)

        def one() -> None:
            start.wait()
            try:
                metering.admit(who, NOW)  # the first requests of a minute: they also race to open it
                outcome = "ok"
            except GatewayError as err:
                outcome = str(err.status)
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=one) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == ["429"] * 7 + ["ok"] * 5
    finally:
        server.shutdown()
        metering.client.cache_clear()


def test_a_key_store_failure_is_503_and_never_an_unmetered_call(
    cli: Any, context: Any, call_invoke: Any, table: Any
) -> None:
    key = managed(cli, context, "--rpm", "5")
    table.delete_table(TableName=KEYS_TABLE)
    status, headers, body = chat(call_invoke, key)  # the Stubber would fail on a Converse call
    assert status == 503 and headers["Retry-After"] == "2" and body["error"]["code"] == "key_store_unavailable"


def test_usage_is_metered_per_key_model_and_day_and_reported(
    cli: Any, context: Any, call_invoke: Any, bedrock: Any, table: Any
) -> None:
    key = managed(cli, context, "--rpm", "10", "--monthly-tokens", "1000")
    for tokens in ((3, 2), (4, 1)):
        bedrock.add_response("converse", converse_response(tokens=tokens))
        assert chat(call_invoke, key)[0] == 200
    item = table.get_item(TableName=KEYS_TABLE, Key={"pk": {"S": "METER#team-a#202611"}})["Item"]
    counters = (item[f"u#28#{MODEL}#req"]["N"], item[f"u#28#{MODEL}#in"]["N"], item[f"u#28#{MODEL}#out"]["N"])
    assert counters == ("2", "7", "3") and item["tokens"]["N"] == "10"
    status, _, usage = call_invoke(as_key(http_event("GET", "/usage"), key))
    assert status == 200
    assert usage["minute"]["requests"] == 2 and usage["minute"]["tokens"] == 10
    assert usage["month"] == {"tokens": 10, "remaining": 990, "resetsInSeconds": usage["month"]["resetsInSeconds"]}
    assert usage["limits"]["rpm"] == 10
    status, rows = cli("usage", "team-a")
    assert (
        rows["usage"]
        == [
            {
                "keyId": "team-a",
                "modelId": MODEL,
                "day": "2026-11-28",
                "requests": 2,
                "inputTokens": 7,
                "outputTokens": 3,
            }
        ]
        or NOW.date() != datetime.now(UTC).date()
    )


def test_dynamodb_calls_per_request(cli: Any, context: Any, call_invoke: Any, bedrock: Any, table: Any) -> None:
    """Root: 0. Managed without limits: 1 (usage, after). Managed with limits: 2 (admit before, usage after),
    except the first request of a minute, which opens the minute's counters (a read and a write more)."""
    root = {"context": {"keyId": "default", "keyType": "root"}}
    for key, expected in (
        (root, []),
        (managed(cli, context), ["UpdateItem"]),
        (authorize(cli("create", "team-b", "--rpm", "9")[1]["token"], context), ["UpdateItem", "UpdateItem"]),
    ):
        bedrock.add_response("converse", converse_response())
        assert chat(call_invoke, key)[0] == 200  # the first request of the minute
        table.calls.clear()
        bedrock.add_response("converse", converse_response())
        assert chat(call_invoke, key)[0] == 200
        assert table.calls == expected


def test_root_usage_says_cloudwatch(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("GET", "/usage"))
    assert status == 200 and body["type"] == "root" and "CloudWatch" in body["message"]


def test_key_metrics_carry_the_key_id(
    cli: Any, context: Any, call_invoke: Any, bedrock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    key = managed(cli, context)
    bedrock.add_response("converse", converse_response(tokens=(6, 3)))
    chat(call_invoke, key)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (by_key,) = [line for line in lines if "KeyId" in line]
    assert by_key["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["ModelId", "service"], ["service"], ["KeyId"]]
    assert by_key["KeyId"] == "team-a" and by_key["InputTokens"] == [6.0] and by_key["OutputTokens"] == [3.0]


def test_stack_name_target_reads_the_table_and_models_from_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """--stack-name: the table from the KeysTableName output, the allowed models from the stack's parameters."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="eu-west-1")
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        dynamodb.create_table(
            TableName="gw-keys",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        template = {
            "Parameters": {name: {"Type": "String", "Default": ""} for name in ("BedrockModelId", "AllowedModelIds")},
            "Resources": {
                "P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/x", "Type": "String", "Value": "x"}}
            },
            "Outputs": {"KeysTableName": {"Value": "gw-keys"}},
        }
        cfn.create_stack(
            StackName="gw",
            TemplateBody=json.dumps(template),
            Parameters=[
                {"ParameterKey": "BedrockModelId", "ParameterValue": "amazon.nova-micro-v1:0"},
                {"ParameterKey": "AllowedModelIds", "ParameterValue": "amazon.nova-lite-v1:0"},
            ],
        )
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = keys_script.main(
                ["--stack-name", "gw", "--json", "create", "team-x", "--models", "amazon.nova-lite-v1:0"],
                dynamodb=dynamodb,
                cloudformation=cfn,
            )
        assert status == 0 and json.loads(out.getvalue())["models"] == ["amazon.nova-lite-v1:0"]
        assert "keys table gw-keys on AWS DynamoDB in eu-west-1 (stack gw)" in err.getvalue()
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            refused = keys_script.main(
                ["--stack-name", "gw", "create", "team-y", "--models", "cohere.embed-english-v3"],
                dynamodb=dynamodb,
                cloudformation=cfn,
            )
        assert refused == 2 and "not allowed by this gateway" in err.getvalue()


def test_an_expired_key_is_refused_by_the_invoke_function_too(cli: Any, context: Any, call_invoke: Any) -> None:
    """API Gateway may cache the authorizer's "allow" past the expiry: the invoke function checks it again."""
    key = managed(cli, context, "--expires", (NOW.date() + timedelta(days=1)).isoformat())
    limits = json.loads(key["context"]["limits"])
    key["context"]["limits"] = json.dumps({**limits, "expiresAt": int(NOW.timestamp()) - 1})
    status, _, body = chat(call_invoke, key)
    assert status == 403 and body["error"]["code"] == "key_expired"


def test_a_key_may_name_an_allowed_guardrail_which_reaches_the_invoke_function(
    cli: Any, context: Any, call_invoke: Any, capsys: Any
) -> None:
    status, _ = cli("create", "team-g", "--guardrail", "notallowed:1")
    assert status != 0 and "--guardrail: 'notallowed' is not allowed" in capsys.readouterr().err
    status, created = cli("create", "team-g", "--guardrail", "strictguardrail:2")  # KEY_GUARDRAIL_ARNS in env.json
    assert status == 0 and created["guardrail"] == "strictguardrail:2"
    decision = authorize(created["token"], context)
    assert json.loads(decision["context"]["limits"])["guardrail"] == "strictguardrail:2"
    # this unit environment allows no key guardrail: the invoke function refuses before any model call
    status, _, body = chat(call_invoke, decision)
    assert status == 403 and body["error"]["code"] == "guardrail_not_allowed"
    assert cli("update", "team-g", "--clear-guardrail")[1]["guardrail"] is None
