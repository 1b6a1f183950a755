"""tests/integration's target discovery, against moto's CloudFormation and SSM."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from discovery import NoTargetError, discover, first_token

STACK_TEMPLATE = {
    "Resources": {
        "Placeholder": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/placeholder", "Type": "String", "Value": "x"},
        }
    },
    "Outputs": {
        "ApiUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/"},
        "TokenParameterName": {"Value": "/gw/token"},
    },
}


@pytest.fixture
def aws() -> Any:
    with mock_aws():
        cfn, ssm = boto3.client("cloudformation"), boto3.client("ssm")
        cfn.create_stack(StackName="gw", TemplateBody=json.dumps(STACK_TEMPLATE))
        yield cfn, ssm


def test_explicit_url_and_token_win() -> None:
    target = discover({"API_URL": "http://127.0.0.1:3000/", "API_TOKEN": "t", "STACK_NAME": "ignored"})
    assert (target.url, target.token, target.local) == ("http://127.0.0.1:3000", "t", False)


def test_stack_outputs_and_parameter(aws: Any) -> None:
    cfn, ssm = aws
    ssm.put_parameter(Name="/gw/token", Value="plain-token", Type="SecureString")
    target = discover({"STACK_NAME": "gw"}, cfn, ssm)
    assert (target.url, target.token) == ("https://abc123.execute-api.us-east-1.amazonaws.com", "plain-token")


def test_key_ring_parameter_yields_a_token(aws: Any) -> None:
    cfn, ssm = aws
    ssm.put_parameter(Name="/gw/token", Value=json.dumps({"new": "n-token", "old": "o-token"}), Type="SecureString")
    assert discover({"STACK_NAME": "gw"}, cfn, ssm).token == "n-token"
    assert first_token(" single ") == "single"


def test_nothing_configured_raises_a_clear_reason() -> None:
    with pytest.raises(NoTargetError, match="API_URL"):
        discover({})
