"""template.yaml, translated by the SAM translator and evaluated: what cfn-lint does not check."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfn_eval import Evaluator
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
SOURCE = yaml_parse((ROOT / "template.yaml").read_text())


class NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def translated(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation SAM would deploy, with intrinsics evaluated for `parameters`."""
    import copy
    import os

    template = copy.deepcopy(SOURCE)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/key.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    cfn = transform(template, dict(parameters or {}), NoManagedPolicies())  # as CloudFormation passes them
    evaluate = Evaluator(cfn, parameters or {})

    def deployed(section: dict[str, Any]) -> dict[str, Any]:  # what CloudFormation creates: conditions hold
        return {k: v for k, v in section.items() if "Condition" not in v or evaluate.named_condition(v["Condition"])}

    return {"Resources": evaluate(deployed(cfn["Resources"])), "Outputs": evaluate(deployed(cfn["Outputs"]))}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translated()


def resource(cfn: dict[str, Any], type_: str, name: str | None = None) -> dict[str, Any]:
    matches = {k: v for k, v in cfn["Resources"].items() if v["Type"] == type_ and (name is None or k == name)}
    assert len(matches) == 1, f"{type_} {name}: {list(matches)}"
    return next(iter(matches.values()))["Properties"]


def statements(cfn: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = cfn["Resources"][role]["Properties"].get("Policies", [])
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_authorizer_is_request_payload_2_simple_cached_on_authorization(cfn: dict[str, Any]) -> None:
    api = resource(cfn, "AWS::ApiGatewayV2::Api")
    scheme = api["Body"]["components"]["securitySchemes"]["TokenAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert scheme["type"] == "request"
    assert scheme["authorizerPayloadFormatVersion"] == "2.0"
    assert scheme["enableSimpleResponses"] is True
    assert scheme["identitySource"] == ["$request.header.Authorization"]
    assert scheme["authorizerResultTtlInSeconds"] == 300
    assert (
        translated({"AuthorizerCacheTtl": 0})["Resources"]["HttpApi"]["Properties"]["Body"]["components"][
            "securitySchemes"
        ]["TokenAuthorizer"]["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"]
        == 0
    )


def test_every_route_but_health_requires_the_authorizer(cfn: dict[str, Any]) -> None:
    paths = resource(cfn, "AWS::ApiGatewayV2::Api")["Body"]["paths"]
    seen = set()
    for path, operations in paths.items():
        for method, operation in operations.items():
            seen.add((path, method))
            expected = [{"NONE": []}] if path == "/health" else [{"TokenAuthorizer": []}]
            assert operation["security"] == expected, (path, method)
            assert operation["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"
    assert {
        ("/invoke", "post"),
        ("/invoke", "get"),
        ("/models", "get"),
        ("/health", "get"),
        ("/v1/chat/completions", "post"),
        ("/v1/models", "get"),
        ("/v1/models/{modelId}", "get"),
        ("/usage", "get"),
        ("/v1/embeddings", "post"),
        ("/{proxy+}", "x-amazon-apigateway-any-method"),
    } == seen


def test_default_stage_throttled_and_access_logged_without_headers(cfn: dict[str, Any]) -> None:
    stage = resource(cfn, "AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 20, "ThrottlingRateLimit": 10}
    assert stage["AccessLogSettings"]["DestinationArn"] == "AccessLogGroup.Arn"
    assert "$context.requestId" in stage["AccessLogSettings"]["Format"]
    assert "header" not in stage["AccessLogSettings"]["Format"].lower()


def test_cors_off_by_default_and_configurable() -> None:
    assert "x-amazon-apigateway-cors" not in translated()["Resources"]["HttpApi"]["Properties"]["Body"]
    cors = translated({"CorsAllowOrigin": "https://app.example.com"})["Resources"]["HttpApi"]["Properties"]["Body"][
        "x-amazon-apigateway-cors"
    ]
    assert cors["allowOrigins"] == ["https://app.example.com"]


def test_functions_python312_sized_and_inside_api_gateway_deadline(cfn: dict[str, Any]) -> None:
    invoke = resource(cfn, "AWS::Lambda::Function", "InvokeFunction")
    authorizer = resource(cfn, "AWS::Lambda::Function", "AuthorizerFunction")
    for function in (invoke, authorizer):
        assert function["Runtime"] == "python3.12"
        assert function["Architectures"] == ["arm64"]
        assert function["MemorySize"] >= 256
        assert function["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert authorizer["Timeout"] <= 5
    env = invoke["Environment"]["Variables"]
    assert invoke["Timeout"] < 30  # HTTP API integrations end at 30 s
    max_read = SOURCE["Parameters"]["BedrockReadTimeout"]["MaxValue"]
    worst_case = int(env["BEDROCK_MAX_ATTEMPTS"]) * (float(env["BEDROCK_CONNECT_TIMEOUT"]) + max_read) + 1  # + backoff
    assert worst_case < invoke["Timeout"]
    assert translated({"Architecture": "x86_64"})["Resources"]["InvokeFunction"]["Properties"]["Architectures"] == [
        "x86_64"
    ]


def test_local_endpoint_variables_declared_empty(cfn: dict[str, Any]) -> None:
    invoke = resource(cfn, "AWS::Lambda::Function", "InvokeFunction")["Environment"]["Variables"]
    authorizer = resource(cfn, "AWS::Lambda::Function", "AuthorizerFunction")["Environment"]["Variables"]
    assert invoke["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == "" and authorizer["AWS_ENDPOINT_URL_SSM"] == ""
    assert authorizer["TOKEN_PARAMETER_NAME"] == "/bedrock-gateway/api-token"
    assert invoke["BEDROCK_MODEL_ID"] == "amazon.nova-micro-v1:0" and invoke["MAX_OUTPUT_TOKENS"] == 1024


def test_log_groups_have_retention(cfn: dict[str, Any]) -> None:
    groups = {k: v["Properties"] for k, v in cfn["Resources"].items() if v["Type"] == "AWS::Logs::LogGroup"}
    assert set(groups) == {"AccessLogGroup", "AuthorizerLogGroup", "InvokeLogGroup"}
    assert all(g["RetentionInDays"] == 30 for g in groups.values())
    for name, group in (("AuthorizerFunction", "AuthorizerLogGroup"), ("InvokeFunction", "InvokeLogGroup")):
        assert cfn["Resources"][name]["Properties"]["LoggingConfig"]["LogGroup"] == f"{group}.Ref"


def test_authorizer_reads_only_its_parameter(cfn: dict[str, Any]) -> None:
    granted = statements(cfn, "AuthorizerFunctionRole")
    assert granted == [
        {
            "Sid": "ReadTheTokenParameterOnly",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": "arn:aws:ssm:eu-west-1:111122223333:parameter/bedrock-gateway/api-token",
        },
        {"Sid": "LookUpManagedKeysOnly", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "KeysTable.Arn"},
    ]
    with_key = statements(
        translated({"TokenKmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/k"}), "AuthorizerFunctionRole"
    )
    assert with_key[1]["Action"] == "kms:Decrypt" and with_key[1]["Resource"].endswith(":key/k")
    assert with_key[1]["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}}


def test_invoke_function_may_only_invoke_allowed_models() -> None:
    granted = statements(
        translated({"AllowedModelIds": "us.amazon.nova-lite-v1:0,amazon.titan-text-lite-v1"}), "InvokeFunctionRole"
    )
    keys = next(s for s in granted if s["Sid"] == "MeterManagedKeysOnly")
    assert keys["Resource"] == "KeysTable.Arn" and all(a.startswith("dynamodb:") for a in keys["Action"])
    granted = [s for s in granted if s is not keys]
    assert {s["Action"] for s in granted} == {"bedrock:InvokeModel"}
    direct, through_profiles, embedding = granted
    assert direct["Resource"] == [
        "arn:aws:bedrock:*::foundation-model/amazon.nova-micro-v1:0",
        "arn:aws:bedrock:*::foundation-model/us.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:*::foundation-model/amazon.titan-text-lite-v1",
        "arn:aws:bedrock:*:*:inference-profile/amazon.nova-micro-v1:0",
        "arn:aws:bedrock:*:*:inference-profile/us.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:*:*:inference-profile/amazon.titan-text-lite-v1",
    ]
    assert through_profiles["Resource"] == "arn:aws:bedrock:*::foundation-model/*"
    assert through_profiles["Condition"]["StringLike"]["bedrock:InferenceProfileArn"] == [
        "arn:aws:bedrock:*:*:inference-profile/amazon.nova-micro-v1:0",
        "arn:aws:bedrock:*:*:inference-profile/us.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:*:*:inference-profile/amazon.titan-text-lite-v1",
    ]
    assert embedding["Resource"] == ["arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0"]


def test_embedding_models_are_granted_exactly_and_can_be_turned_off() -> None:
    granted = statements(
        translated({"EmbeddingModelIds": "cohere.embed-english-v3,cohere.embed-multilingual-v3"}), "InvokeFunctionRole"
    )
    assert granted[-1]["Sid"] == "InvokeAllowedEmbeddingModels"
    assert granted[-1]["Resource"] == [
        "arn:aws:bedrock:*::foundation-model/cohere.embed-english-v3",
        "arn:aws:bedrock:*::foundation-model/cohere.embed-multilingual-v3",
    ]
    off = statements(translated({"EmbeddingModelIds": ""}), "InvokeFunctionRole")
    assert [s["Sid"] for s in off] == [
        "InvokeAllowedModelsAndProfiles",
        "InvokeFoundationModelsOnlyThroughAllowedProfiles",
        "MeterManagedKeysOnly",
    ]


def test_empty_allowlist_means_only_the_default(cfn: dict[str, Any]) -> None:
    direct = statements(cfn, "InvokeFunctionRole")[0]
    assert direct["Resource"] == [
        "arn:aws:bedrock:*::foundation-model/amazon.nova-micro-v1:0",
        "arn:aws:bedrock:*:*:inference-profile/amazon.nova-micro-v1:0",
    ]


def test_no_wildcard_resource_for_ssm_or_bedrock(cfn: dict[str, Any]) -> None:
    roles = [k for k, v in cfn["Resources"].items() if v["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        for statement in statements(cfn, role):
            actions = as_list(statement["Action"])
            if any(a.split(":")[0] in ("ssm", "bedrock", "kms") for a in actions):
                assert "*" not in as_list(statement["Resource"]), (role, statement)


def test_outputs(cfn: dict[str, Any]) -> None:
    assert set(cfn["Outputs"]) == {
        "ApiUrl",
        "AuthorizerFunctionName",
        "InvokeFunctionName",
        "TokenParameterName",
        "KeysTableName",
        "DashboardUrl",
    }
    assert cfn["Outputs"]["ApiUrl"]["Value"] == "https://HttpApi.Ref.execute-api.eu-west-1.amazonaws.com"


def test_keys_table_is_on_demand_recoverable_encrypted_with_ttl_and_protectable(cfn: dict[str, Any]) -> None:
    table = resource(cfn, "AWS::DynamoDB::Table")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["DeletionProtectionEnabled"] == "false"
    protected = translated({"KeysTableDeletionProtection": "true"})
    assert resource(protected, "AWS::DynamoDB::Table")["DeletionProtectionEnabled"] == "true"
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert 'KeysTableDeletionProtection="true"' in config["prod"]["deploy"]["parameters"]["parameter_overrides"]


def test_both_functions_know_the_table_and_the_authorizer_its_cache(cfn: dict[str, Any]) -> None:
    authorizer = cfn["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    invoke = cfn["Resources"]["InvokeFunction"]["Properties"]["Environment"]["Variables"]
    assert authorizer["KEYS_TABLE_NAME"] == invoke["KEYS_TABLE_NAME"] == "KeysTable.Ref"
    assert authorizer["KEY_CACHE_SECONDS"] == 60


def test_guardrail_permission_only_when_configured_and_scoped_to_exactly_those_guardrails(cfn: dict[str, Any]) -> None:
    applies = [s for s in statements(cfn, "InvokeFunctionRole") if "bedrock:ApplyGuardrail" in as_list(s["Action"])]
    assert applies == []  # defaults: no guardrail, no ApplyGuardrail at all
    key_arn = "arn:aws:bedrock:eu-west-1:111122223333:guardrail/strict1"
    configured = translated({"GuardrailId": "gr1abc", "GuardrailVersion": "2", "KeyGuardrailArns": key_arn})
    granted = {s["Sid"]: s for s in statements(configured, "InvokeFunctionRole")}
    assert granted["ApplyTheDefaultGuardrail"]["Action"] == "bedrock:ApplyGuardrail"
    assert granted["ApplyTheDefaultGuardrail"]["Resource"] == "arn:aws:bedrock:eu-west-1:111122223333:guardrail/gr1abc"
    assert as_list(granted["ApplyTheGuardrailsKeysMayName"]["Resource"]) == [key_arn]
    variables = resource(configured, "AWS::Lambda::Function", "InvokeFunction")["Environment"]["Variables"]
    assert (variables["GUARDRAIL_ID"], variables["GUARDRAIL_VERSION"], variables["GUARDRAIL_TRACE"]) == (
        "gr1abc",
        "2",
        "disabled",
    )
    assert variables["KEY_GUARDRAIL_ARNS"] == key_arn


def test_caching_and_reasoning_settings_reach_the_function(cfn: dict[str, Any]) -> None:
    variables = resource(cfn, "AWS::Lambda::Function", "InvokeFunction")["Environment"]["Variables"]
    assert (variables["PROMPT_CACHING"], str(variables["MAX_REASONING_TOKENS"])) == ("auto", "8192")
    off = translated({"PromptCaching": "off", "MaxReasoningTokens": "2048"})
    variables = resource(off, "AWS::Lambda::Function", "InvokeFunction")["Environment"]["Variables"]
    assert (variables["PROMPT_CACHING"], str(variables["MAX_REASONING_TOKENS"])) == ("off", "2048")


STREAMING_RESOURCES = {
    "StreamingApi",
    "StreamFunction",
    "StreamFunctionRole",
    "StreamLogGroup",
    "StreamingAccessLogGroup",
    "ApiGatewayLogsRole",
    "ApiGatewayAccount",
}


def test_streaming_adds_nothing_while_it_is_off(cfn: dict[str, Any]) -> None:
    assert not {k for k in cfn["Resources"] if k.startswith(("Streaming", "Stream", "ApiGateway"))}
    assert "StreamingApiUrl" not in cfn["Outputs"]


def test_streaming_api_rest_authorizer_streaming_integration_and_scoped_iam() -> None:
    on = translated({"EnableStreaming": "true", "AllowedModelIds": "us.amazon.nova-lite-v1:0"})
    assert set(on["Resources"]) >= STREAMING_RESOURCES
    body = resource(on, "AWS::ApiGateway::RestApi")["Body"]
    integration = body["paths"]["/v1/chat/completions"]["post"]["x-amazon-apigateway-integration"]
    assert integration["responseTransferMode"] == "STREAM"
    assert integration["uri"].endswith("/2021-11-15/functions/StreamFunction.Arn/response-streaming-invocations")
    authorizer = body["securityDefinitions"]["StreamingAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request" and authorizer["authorizerResultTtlInSeconds"] == 300
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert "AuthorizerFunction.Arn" in authorizer["authorizerUri"]  # the same function as the HTTP API's
    stage = resource(on, "AWS::ApiGateway::Stage")
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == 10 and "AccessLogSetting" in stage
    assert stage["MethodSettings"][0]["LoggingLevel"] == "OFF"  # execution logs would show headers
    function = on["Resources"]["StreamFunction"]["Properties"]
    assert function["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == "/var/task/stream_bootstrap"
    assert function["Handler"] == "stream_app.handler" and function["Timeout"] == 300
    granted = {s["Sid"]: s for s in statements(on, "StreamFunctionRole")}
    streamed = granted["StreamAllowedModelsAndProfiles"]
    assert streamed["Action"] == "bedrock:InvokeModelWithResponseStream"
    assert streamed["Resource"] == [
        "arn:aws:bedrock:*::foundation-model/amazon.nova-micro-v1:0",
        "arn:aws:bedrock:*::foundation-model/us.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:*:*:inference-profile/amazon.nova-micro-v1:0",
        "arn:aws:bedrock:*:*:inference-profile/us.amazon.nova-lite-v1:0",
    ]
    through_profiles = granted["StreamFoundationModelsOnlyThroughAllowedProfiles"]
    assert through_profiles["Condition"]["StringLike"]["bedrock:InferenceProfileArn"]
    invoke = {s["Sid"] for s in statements(on, "InvokeFunctionRole")}
    assert not any("Stream" in sid for sid in invoke)  # the buffered function never streams
    assert (
        on["Outputs"]["StreamingApiUrl"]["Value"]
        == "https://StreamingApi.Ref.execute-api.eu-west-1.amazonaws.com/stream"
    )


def test_the_logs_role_can_be_left_to_an_existing_account_setting() -> None:
    kept = translated({"EnableStreaming": "true", "SetApiGatewayLogsRole": "false"})
    assert "StreamingApi" in kept["Resources"] and "ApiGatewayAccount" not in kept["Resources"]
