"""Unit-test wiring: both functions importable side by side, AWS faked in-process (moto, botocore Stubber)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
MAX_OUTPUT_TOKENS = 512
ALLOWED = "us.amazon.nova-lite-v1:0,fault.throttling,us.anthropic.claude-sonnet-4-20250514-v1:0"
EMBEDDING = "amazon.titan-embed-text-v2:0,cohere.embed-english-v3"
KEYS_TABLE = "bedrock-gateway-keys-test"

os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    POWERTOOLS_SERVICE_NAME="unit",
    POWERTOOLS_METRICS_NAMESPACE="BedrockGatewayTests",
    POWERTOOLS_DEV="false",
    TOKEN_PARAMETER_NAME="/bedrock-gateway/api-token",
    BEDROCK_MODEL_ID="amazon.nova-micro-v1:0",
    ALLOWED_MODEL_IDS=ALLOWED,
    EMBEDDING_MODEL_IDS=EMBEDDING,
    KEYS_TABLE_NAME=KEYS_TABLE,
    MAX_OUTPUT_TOKENS=str(MAX_OUTPUT_TOKENS),
    BEDROCK_READ_TIMEOUT="2",
)
for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_PROFILE"):
    os.environ.pop(name, None)
sys.path[:0] = [str(ROOT / "functions" / "invoke"), str(ROOT / "functions" / "authorizer")]


def load_module(name: str, path: Path) -> ModuleType:
    """Both functions have an app.py: load each under its own name."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


invoke_app = load_module("invoke_app", ROOT / "functions" / "invoke" / "app.py")
authorizer_app = load_module("authorizer_app", ROOT / "functions" / "authorizer" / "app.py")


class FakeContext:
    function_name = "unit"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:unit"
    aws_request_id = "11111111-2222-3333-4444-555555555555"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


def no_managed_key(name: str, **_: Any) -> Any:
    """What Powertools' DynamoDB provider raises for a missing item (a KeyError inside a GetParameterError)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        raise KeyError(name)
    except KeyError:
        raise GetParameterError(name) from None


@pytest.fixture(autouse=True)
def offline_keys_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches a real DynamoDB: the managed-key store answers "no such key" unless a test wires moto in."""
    import managed_keys

    monkeypatch.setattr(
        authorizer_app, "managed", managed_keys.ManagedKeyStore(KEYS_TABLE, 60, 10, fetch=no_managed_key)
    )


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def http_event(
    method: str, path: str, body: Any = None, query: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A real-shaped HTTP API v2 event for the invoke function, based on events/invoke-post.json."""
    event = load_event("invoke-post.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    if body is None:
        event.pop("body", None)
    else:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    event["headers"].update(headers or {})
    return event


@pytest.fixture
def call_invoke(context: FakeContext) -> Any:
    def call(event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        response = invoke_app.lambda_handler(event, context)
        body = response.get("body")
        return response["statusCode"], response.get("headers") or {}, json.loads(body) if body else None

    return call


@pytest.fixture
def bedrock() -> Iterator[Any]:
    """botocore Stubber on the function's own client: parameters are checked against the service model."""
    from botocore.stub import Stubber

    import bedrock as bedrock_module

    stubber = Stubber(bedrock_module.client())
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def converse_response(text: str = "Hello!", stop: str = "end_turn", tokens: tuple[int, int] = (5, 2)) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 42},
    }


@pytest.fixture
def logs() -> Iterator[Any]:
    """Everything both functions' Powertools loggers write during the test, as text."""
    import io

    buffer = io.StringIO()
    handlers = [invoke_app.logger.registered_handler, authorizer_app.logger.registered_handler]
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer.getvalue
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)
