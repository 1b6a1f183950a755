"""Alarms and the dashboard read metrics that exist: the invoke function's EMF output (run here), the log metric
filters of the template, or AWS's own metrics of this stack's resources. No alarm has an action without a topic."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import converse_response, http_event, invoke_app
from test_template import resource, translated

NAMESPACE = "BedrockGateway"


def emf_lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{") and '"_aws"' in line]


def deployed_environment() -> tuple[str, str]:
    """(metrics namespace, service name) the template gives the invoke function (the unit tests run with others)."""
    from test_template import SOURCE

    namespace = SOURCE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    service = SOURCE["Resources"]["InvokeFunction"]["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    return namespace, service


def published(lines: list[dict[str, Any]]) -> set[tuple[str, str, frozenset[tuple[str, str]]]]:
    """(namespace, metric, dimensions) for every metric and dimension set the EMF lines publish, under the
    namespace and service name the template configures."""
    namespace, service = deployed_environment()
    found = set()
    for line in lines:
        for directive in line["_aws"]["CloudWatchMetrics"]:
            for names in directive["Dimensions"]:
                values = {name: service if name == "service" else str(line[name]) for name in names}
                for metric in directive["Metrics"]:
                    found.add((namespace, metric["Name"], frozenset(values.items())))
    return found


@pytest.fixture(scope="module")
def emitted() -> set[tuple[str, str, frozenset[tuple[str, str]]]]:
    """Run the invoke function through success, a guardrail intervention, throttling, a Bedrock failure and a
    key-store failure."""
    import io
    from contextlib import redirect_stdout

    from botocore.stub import Stubber

    import bedrock

    out = io.StringIO()
    body = {"messages": [{"role": "user", "content": "hi"}]}
    with Stubber(bedrock.client()) as stub, redirect_stdout(out):
        from conftest import FakeContext

        stub.add_response("converse", converse_response())
        stub.add_response("converse", converse_response("Blocked.", stop="guardrail_intervened"))
        stub.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
        stub.add_client_error("converse", service_error_code="InternalServerException", http_status_code=500)
        for _ in range(4):
            invoke_app.lambda_handler(http_event("POST", "/v1/chat/completions", body), FakeContext())
        managed = http_event("POST", "/v1/chat/completions", body)
        limits = json.dumps({"models": None, "rpm": 5, "tpm": None, "monthlyTokens": None, "expiresAt": None})
        managed["requestContext"]["authorizer"] = {"lambda": {"keyId": "k", "keyType": "managed", "limits": limits}}
        import os

        import metering

        metering.client.cache_clear()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:1"  # nothing listens: the key store fails
        try:
            invoke_app.lambda_handler(managed, FakeContext())
        finally:
            del os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
            metering.client.cache_clear()
    return published(emf_lines(out.getvalue()))


def filter_metrics(cfn: dict[str, Any]) -> set[str]:
    return {
        t["MetricName"]
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Logs::MetricFilter"
        for t in r["Properties"]["MetricTransformations"]
        if t["MetricNamespace"] == NAMESPACE
    }


def metric_exists(namespace: str, name: str, dimensions: dict[str, str], emitted: Any, cfn: dict[str, Any]) -> bool:
    if namespace == NAMESPACE:
        if not dimensions:
            return name in filter_metrics(cfn)
        return (namespace, name, frozenset(dimensions.items())) in emitted
    resources = cfn["Resources"]
    if namespace == "AWS/Lambda":
        (function,) = [v.removesuffix(".Ref") for k, v in dimensions.items() if k == "FunctionName"]
        return resources[function]["Type"] == "AWS::Lambda::Function" and name in {"Errors", "Throttles", "Duration"}
    if namespace == "AWS/ApiGateway" and "ApiName" in dimensions:  # the streaming REST API: by name and stage
        api = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::ApiGateway::RestApi")
        stage = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::ApiGateway::Stage")
        return dimensions == {"ApiName": api["Name"], "Stage": stage["StageName"]} and name in {
            "Count",
            "4XXError",
            "5XXError",
            "Latency",
            "IntegrationLatency",
        }
    if namespace == "AWS/ApiGateway":
        return dimensions == {"ApiId": "HttpApi.Ref"} and name in {
            "Count",
            "4xx",
            "5xx",
            "Latency",
            "IntegrationLatency",
        }
    return False


def alarms(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in cfn["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    def dims(items: list[dict[str, str]] | None) -> dict[str, str]:
        return {d["Name"]: d["Value"] for d in items or []}

    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], dims(alarm.get("Dimensions")))]
    return [
        (
            m["MetricStat"]["Metric"]["Namespace"],
            m["MetricStat"]["Metric"]["MetricName"],
            dims(m["MetricStat"]["Metric"].get("Dimensions")),
        )
        for m in alarm["Metrics"]
        if "MetricStat" in m
    ]


def test_the_code_publishes_what_alarms_need(emitted: Any) -> None:
    service = frozenset({("service", "bedrock-gateway")})
    for name in ("BedrockThrottles", "BedrockErrors", "KeyStoreErrors", "ModelLatency", "InputTokens"):
        assert (NAMESPACE, name, service) in emitted, name
    assert (
        NAMESPACE,
        "InputTokens",
        frozenset({("ModelId", "amazon.nova-micro-v1:0"), ("service", "bedrock-gateway")}),
    ) in emitted
    assert (NAMESPACE, "InputTokens", frozenset({("KeyId", "default")})) in emitted


def test_every_alarm_reads_a_metric_that_exists(emitted: Any) -> None:
    cfn = translated()
    found = alarms(cfn)
    assert set(found) == {
        "Api5xxRateAlarm",
        "AuthorizerErrorsAlarm",
        "BedrockThrottlesAlarm",
        "BedrockErrorsAlarm",
        "KeyStoreErrorsAlarm",
        "InvokeDurationAlarm",
        "LambdaThrottlesAlarm",
    }
    for name, alarm in found.items():
        assert alarm["AlarmName"].startswith("gw-") and len(alarm["AlarmDescription"]) > 80, name
        assert "Check first" in alarm["AlarmDescription"], name
        for namespace, metric, dimensions in alarm_metrics(alarm):
            assert metric_exists(namespace, metric, dimensions, emitted, cfn), (name, namespace, metric, dimensions)


def test_the_streaming_api_has_its_alarm_only_when_it_exists(emitted: Any) -> None:
    assert "StreamingErrorsAlarm" not in alarms(translated())
    cfn = translated({"EnableStreaming": "true"})
    alarm = alarms(cfn)["StreamingErrorsAlarm"]
    assert "Check first" in alarm["AlarmDescription"] and alarm["AlarmName"] == "gw-streaming-errors"
    for namespace, metric, dimensions in alarm_metrics(alarm):
        assert metric_exists(namespace, metric, dimensions, emitted, cfn), (namespace, metric, dimensions)


def test_no_alarm_action_without_a_topic() -> None:
    default = translated()
    assert all("AlarmActions" not in a and "OKActions" not in a for a in alarms(default).values())
    assert "AlarmTopic" not in default["Resources"]  # its condition, CreateAlarmTopic, is false
    emailed = translated({"AlarmEmail": "ops@example.com"})
    assert {tuple(a["AlarmActions"]) for a in alarms(emailed).values()} == {("AlarmTopic.Ref",)}
    topic = resource(emailed, "AWS::SNS::Topic")
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": "ops@example.com"}]
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"
    arn = "arn:aws:sns:eu-west-1:111122223333:ops"
    existing = translated({"AlarmTopicArn": arn, "AlarmEmail": "ops@example.com"})
    assert {tuple(a["OKActions"]) for a in alarms(existing).values()} == {(arn,)}


def expand(rows: list[list[Any]]) -> list[tuple[str, str, dict[str, str]]]:
    """Dashboard metric rows, with CloudWatch's "." (same as above) and "..." (same, but these last items)."""
    out, previous = [], []
    for row in rows:
        items = [item for item in row if not isinstance(item, dict)]
        if items and items[0] == "...":
            items = previous[: len(previous) - len(items) + 1] + items[1:]
        else:
            items = [previous[i] if item == "." else item for i, item in enumerate(items)]
        previous = items
        if items:
            out.append((items[0], items[1], dict(zip(items[2::2], items[3::2], strict=True))))
    return out


def test_the_dashboard_reads_only_real_metrics(emitted: Any) -> None:
    cfn = translated()
    body = json.loads(resource(cfn, "AWS::CloudWatch::Dashboard")["DashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles == [
        "Requests and errors by status class",
        "API latency (ms)",
        "Model latency (ms)",
        "Tokens by model",
        "Authorizer denials and key-store errors",
        "Bedrock throttles and errors; Lambda errors and throttles",
        "Guardrail interventions",
        "Prompt cache: input tokens read and written",
    ]
    for widget in body["widgets"]:
        rows = widget["properties"]["metrics"]
        for row in rows:
            expression = next((i["expression"] for i in row if isinstance(i, dict) and "expression" in i), None)
            if expression:
                name = expression.split('MetricName="')[1].split('"')[0]
                assert (
                    NAMESPACE,
                    name,
                    frozenset({("ModelId", "amazon.nova-micro-v1:0"), ("service", "bedrock-gateway")}),
                ) in emitted
        for namespace, metric, dimensions in expand(
            [r for r in rows if not any(isinstance(i, dict) and "expression" in i for i in r)]
        ):
            assert metric_exists(namespace, metric, dimensions, emitted, cfn), (widget["properties"]["title"], metric)


def test_metric_filters_match_what_the_code_logs(logs: Any, context: Any) -> None:
    """The authorizer's messages the filter counts are the ones it writes; the access log quotes the status."""
    cfn = translated()
    patterns = {
        r["Properties"]["MetricTransformations"][0]["MetricName"]: r["Properties"]["FilterPattern"]
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Logs::MetricFilter"
    }
    from conftest import authorizer_app, load_event

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("no SSM here")

    from token_store import TokenStore

    authorizer_app.store = TokenStore("/p", 0, 30, fetch=broken)
    authorizer_app.managed._fetch = broken
    event = load_event("authorizer-allow.json")
    assert authorizer_app.lambda_handler(event, context) == {"isAuthorized": False}
    written = [json.loads(line)["message"] for line in logs().splitlines() if line.startswith("{")]
    assert "Root keys unavailable" in written and "Denied: keys table unavailable" in written
    for message in ("Root keys unavailable", "Denied: keys table unavailable"):
        assert f'$.message = "{message}"' in patterns["AuthorizerKeyStoreErrors"]
    access = resource(cfn, "AWS::ApiGatewayV2::Stage")["AccessLogSettings"]["Format"]
    assert '"status":"$context.status"' in access.replace(" ", "").replace("\n", "")
    assert patterns["UnauthorizedRequests"] == '{ ($.status = "401") || ($.status = "403") }'
