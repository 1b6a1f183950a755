"""One measurement in a fresh process (bench.py runs it): cold init, or warm per-request timings.

usage: measure.py cold|warm|ssm-calls|dynamodb-calls FUNCTION [calls]
FUNCTION: authorizer | authorizer-managed (a managed key, policy cached) | invoke | invoke-tools (an OpenAI chat
completion offering two tools, answered with a tool call) | invoke-managed (a managed key with rpm and a monthly
budget: one conditional write before, one transaction after) | baseline.
Prints one JSON object. AWS is stubbed below the HTTP layer (botocore `before-send`), so serialisation,
signing and parsing all run, as in Lambda, but nothing leaves the process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START = time.perf_counter()

os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    POWERTOOLS_SERVICE_NAME="bench",
    POWERTOOLS_METRICS_NAMESPACE="Bench",
    POWERTOOLS_LOG_LEVEL="INFO",
    TOKEN_PARAMETER_NAME="/bedrock-gateway/api-token",
    TOKEN_CACHE_SECONDS="300",
    TOKEN_REFRESH_INTERVAL="30",
    BEDROCK_MODEL_ID="amazon.nova-micro-v1:0",
    MAX_OUTPUT_TOKENS="1024",
    KEYS_TABLE_NAME="bench-keys",
)
TOKEN = "bench-token-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - stubbed SSM value
CONVERSE = json.dumps(
    {
        "output": {"message": {"role": "assistant", "content": [{"text": "echo: hello"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
        "metrics": {"latencyMs": 1},
    }
).encode()
CONVERSE_TOOL_USE = json.dumps(
    {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "calling get_weather"},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 40, "outputTokens": 12, "totalTokens": 52},
        "metrics": {"latencyMs": 1},
    }
).encode()
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Current time in a timezone",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
        },
    },
]
GET_PARAMETER = json.dumps(
    {"Parameter": {"Name": "/bedrock-gateway/api-token", "Type": "SecureString", "Value": TOKEN, "Version": 1}}
).encode()
MANAGED_TOKEN = "bench-managed-token-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - stubbed table item
MANAGED_POLICY = {"keyId": "team-bench", "models": None, "rpm": 1000000, "tpm": None, "monthlyTokens": 10**12}
GET_ITEM = json.dumps({"Item": {"pk": {"S": "KEY#x"}, "policy": {"S": json.dumps(MANAGED_POLICY)}}}).encode()
CALLS = {"GetParameter": 0}


class Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def stub(client: Any, operation: str, body: bytes) -> None:
    from botocore.awsrequest import AWSResponse

    def send(request: Any, **_: Any) -> AWSResponse:
        CALLS[operation] = CALLS.get(operation, 0) + 1
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, Raw(body))

    client.meta.events.register(f"before-send.*.{operation}", send)


def load(function: str) -> tuple[Any, Any]:
    """Import the handler and create its client: what a cold start pays before serving.

    bench.py runs this with `python -S` and PYTHONPATH = the built package + the runtime's boto3, as in Lambda;
    run by hand (no PYTHONPATH), it imports from the source tree and the current virtualenv.
    """
    if function == "baseline":
        if not os.environ.get("PYTHONPATH"):
            sys.path.insert(0, str(ROOT / "bench"))
        import baseline_handler

        return baseline_handler.lambda_handler, baseline_handler.client
    folder = function.split("-")[0]
    if not os.environ.get("PYTHONPATH"):
        sys.path.insert(0, str(ROOT / "functions" / folder))
    import app

    if folder == "invoke":
        import bedrock

        return app.lambda_handler, bedrock.client()
    if function == "authorizer-managed":
        import managed_keys

        managed_keys.dynamodb_fetch("bench-keys")  # created when the first managed token arrives
    import token_store

    return app.lambda_handler, token_store.ssm_fetch()


def event_for(function: str) -> dict[str, Any]:
    name = {
        "authorizer": "authorizer-allow.json",
        "invoke": "invoke-post.json",
        "invoke-tools": "chat-completions-post.json",
        "invoke-managed": "invoke-post.json",
        "authorizer-managed": "authorizer-allow.json",
        "baseline": "invoke-post.json",
    }
    event = json.loads((ROOT / "events" / name[function]).read_text())
    if function == "authorizer":
        event["headers"]["authorization"] = f"Bearer {TOKEN}"
    if function == "authorizer-managed":
        event["headers"]["authorization"] = f"Bearer {MANAGED_TOKEN}"
    if function == "invoke-managed":
        limits = {k: MANAGED_POLICY.get(k) for k in ("models", "rpm", "tpm", "monthlyTokens", "expiresAt")}
        context = {"keyId": "team-bench", "keyType": "managed", "limits": json.dumps(limits)}
        event["requestContext"]["authorizer"] = {"lambda": context}
    if function == "invoke-tools":
        body = json.loads(event["body"])
        event["body"] = json.dumps({**body, "tools": TOOLS, "tool_choice": "auto"})
    return event


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 256, "bench-request"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


def main() -> None:
    mode, function = sys.argv[1], sys.argv[2]
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    handler, client = load(function)
    init_ms = (time.perf_counter() - START) * 1000
    if mode == "cold":
        print(json.dumps({"init_ms": init_ms}))
        return
    if function.startswith("authorizer"):
        stub(client.__self__.client, "GetParameter", GET_PARAMETER)
    else:
        stub(client, "Converse", CONVERSE_TOOL_USE if function == "invoke-tools" else CONVERSE)
    if function == "authorizer-managed":
        import managed_keys

        stub(managed_keys.dynamodb_fetch("bench-keys").__self__.table.meta.client, "GetItem", GET_ITEM)
    if function == "invoke-managed":
        import metering

        metering.TABLE_NAME = "bench-keys"
        for operation in ("UpdateItem", "GetItem"):
            stub(metering.client(), operation, b"{}")
    event, context = event_for(function), Context()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - log and EMF lines are formatted and written, not shown
    real_stdout, sys.stdout = sys.stdout, devnull
    logger = getattr(sys.modules.get("app"), "logger", None)
    if logger is not None:
        logger.registered_handler.setStream(devnull)
    try:
        for _ in range(50):  # warm-up: first call pays lazy imports and caches
            result = handler(event, context)
        assert result.get("statusCode", 200) == 200 and result.get("isAuthorized", True), result
        if mode == "dynamodb-calls":  # per request, once warm
            dynamodb = ("GetItem", "UpdateItem")
            before = {k: v for k, v in CALLS.items() if k in dynamodb}
            for _ in range(calls):
                handler(event, context)
            after = {k: v for k, v in CALLS.items() if k in dynamodb}
            sys.stdout = real_stdout
            per_request = sum(after.values()) - sum(before.values())
            print(json.dumps({"requests": calls, "dynamodb_calls_per_request": per_request / calls}))
            return
        if mode == "ssm-calls":  # counted from the container's first request
            for _ in range(calls - 50):
                handler(event, context)
            sys.stdout = real_stdout
            print(json.dumps({"requests": calls, "get_parameter_calls": CALLS["GetParameter"]}))
            return
        timings = []
        clock = time.perf_counter_ns
        for _ in range(calls):
            started = clock()
            handler(event, context)
            timings.append(clock() - started)
    finally:
        sys.stdout = real_stdout
    timings.sort()
    print(
        json.dumps(
            {
                "calls": calls,
                "p50_us": timings[len(timings) // 2] / 1000,
                "p99_us": timings[int(len(timings) * 0.99)] / 1000,
            }
        )
    )


if __name__ == "__main__":
    main()
