"""Every sample in events/ runs through its handler (AWS stubbed), so the samples never rot."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from conftest import EVENTS, authorizer_app, converse_response, invoke_app
from moto import mock_aws

# events/expected.json: what each sample gives; also used by `make test-docker` (sam local invoke).
EXPECTED = {
    name: ("authorizer" if e["function"] == "AuthorizerFunction" else "invoke", e.get("isAuthorized", e.get("status")))
    for name, e in json.loads((EVENTS / "expected.json").read_text()).items()
}


def test_every_event_file_is_covered() -> None:
    assert {p.name for p in EVENTS.glob("*.json")} - {"env.json", "expected.json"} == set(EXPECTED)


def test_events_use_api_gateway_shape() -> None:
    for name in EXPECTED:
        event = json.loads((EVENTS / name).read_text())
        assert event["version"] == "2.0"
        assert all(key == key.lower() for key in event["headers"]), f"{name}: API Gateway sends lower-case headers"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_runs_through_its_handler(name: str, context: Any, monkeypatch: pytest.MonkeyPatch, bedrock: Any) -> None:
    function, expected = EXPECTED[name]
    event = json.loads((EVENTS / name).read_text())
    if function == "authorizer":
        with mock_aws():
            boto3.client("ssm").put_parameter(
                Name="/bedrock-gateway/api-token", Value="sample-events-token", Type="SecureString"
            )
            import token_store

            token_store.ssm_fetch.cache_clear()
            store = token_store.TokenStore("/bedrock-gateway/api-token", max_age=0, refresh_interval=30)
            monkeypatch.setattr(authorizer_app, "store", store)
            assert authorizer_app.lambda_handler(event, context)["isAuthorized"] is expected
            token_store.ssm_fetch.cache_clear()
        return
    method = event["requestContext"]["http"]["method"]
    if expected == 200 and event["rawPath"] in ("/invoke", "/v1/chat/completions"):
        bedrock.add_response("converse", converse_response("sample answer"))
    if expected == 200 and event["rawPath"] == "/v1/embeddings":
        for _ in json.loads(event["body"])["input"]:
            payload = json.dumps({"embedding": [0.1] * 256, "inputTextTokenCount": 2}).encode()
            bedrock.add_response(
                "invoke_model",
                {"body": StreamingBody(io.BytesIO(payload), len(payload)), "contentType": "application/json"},
            )
    response = invoke_app.lambda_handler(event, context)
    assert response["statusCode"] == expected, (name, method, response.get("body"))


def test_env_json_only_names_declared_variables() -> None:
    """sam local silently drops variables a function does not declare: catch the typo here."""
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((Path(__file__).resolve().parents[2] / "template.yaml").read_text())
    env = json.loads((EVENTS / "env.json").read_text())
    global_vars = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert set(env["Parameters"]) <= global_vars
    for function in ("AuthorizerFunction", "InvokeFunction"):
        declared = set(template["Resources"][function]["Properties"]["Environment"]["Variables"]) | global_vars
        assert set(env[function]) <= declared, function
