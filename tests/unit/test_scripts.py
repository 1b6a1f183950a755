"""The token and stack helpers, and the local configuration files staying in step."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "local")]
import stack  # noqa: E402


def load_script(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


token_script = load_script("api_token")
PARAM = "/bedrock-gateway/api-token"


@pytest.fixture
def ssm() -> Any:
    with mock_aws():
        yield boto3.client("ssm")


def value(ssm: Any) -> str:
    return ssm.get_parameter(Name=PARAM, WithDecryption=True)["Parameter"]["Value"]


def test_token_is_strong_secure_string_printed_once(ssm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert token_script.main(["--parameter", PARAM], ssm) == 0
    printed = capsys.readouterr().out.split()[-1]
    assert value(ssm) == printed and len(printed) >= 43  # 32 random bytes, urlsafe base64
    assert ssm.describe_parameters()["Parameters"][0]["Type"] == "SecureString"
    token_script.main(["--parameter", PARAM], ssm)  # overwrite works
    assert value(ssm) != printed


def test_rotate_then_remove_keeps_the_ring_consistent(ssm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    token_script.main(["--parameter", PARAM], ssm)
    first = value(ssm)
    token_script.main(["--parameter", PARAM, "--rotate", "2026-12"], ssm)
    ring = json.loads(value(ssm))
    assert ring["default"] == first and len(ring["2026-12"]) >= 43
    assert token_script.main(["--parameter", PARAM, "--remove", "default"], ssm) == 0
    assert list(json.loads(value(ssm))) == ["2026-12"]
    assert token_script.main(["--parameter", PARAM, "--remove", "2026-12"], ssm) == 2  # never the last key


def test_stack_output() -> None:
    with mock_aws():
        cfn = boto3.client("cloudformation")
        cfn.create_stack(
            StackName="gw",
            TemplateBody=json.dumps(
                {
                    "Resources": {
                        "P": {
                            "Type": "AWS::SSM::Parameter",
                            "Properties": {"Name": "/placeholder", "Type": "String", "Value": "x"},
                        }
                    },
                    "Outputs": {"ApiUrl": {"Value": "https://x.execute-api.us-east-1.amazonaws.com"}},
                }
            ),
        )
        assert stack.output("gw", "ApiUrl", cfn) == "https://x.execute-api.us-east-1.amazonaws.com"


def test_local_overrides_match_samconfig() -> None:
    import run

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for command in ("local_start_api", "local_invoke"):
        assert config["default"][command]["parameters"]["parameter_overrides"].split() == run.LOCAL_OVERRIDES
        assert config["default"][command]["parameters"]["env_vars"] == "events/env.json"
    assert config["default"]["deploy"]["parameters"]["capabilities"] == "CAPABILITY_IAM"
    assert (
        config["prod"]["global"]["parameters"]["stack_name"] != config["default"]["global"]["parameters"]["stack_name"]
    )
    assert run.template_default("TokenParameterName") == PARAM
