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


def run_token(ssm: Any, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = token_script.main(["--parameter", PARAM, *args], ssm)
    out, err = capsys.readouterr()
    return status, out, err


def test_token_is_strong_secure_string_alone_on_stdout(ssm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_token(ssm, capsys, "--create")
    assert status == 0
    assert out.count("\n") == 1 and value(ssm) == out.strip() and len(out.strip()) >= 43  # 32 random bytes
    assert ssm.describe_parameters()["Parameters"][0]["Type"] == "SecureString"
    assert f"AWS SSM in us-east-1: parameter {PARAM}" in err and out.strip() not in err


def test_a_parameter_that_does_not_exist_is_created_only_with_create(
    ssm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong region or name must not silently create a new parameter and exit 0."""
    for args in ((), ("--rotate", "2026-12")):
        status, out, err = run_token(ssm, capsys, *args)
        assert (status, out) == (2, "")
        assert "does not exist" in err and "--create" in err and "--region" in err
    assert ssm.describe_parameters()["Parameters"] == []


def test_plain_write_over_existing_keys_needs_force(ssm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run_token(ssm, capsys, "--create")
    run_token(ssm, capsys, "--rotate", "2026-12")
    before = value(ssm)
    status, out, err = run_token(ssm, capsys)
    assert (status, out) == (2, "") and value(ssm) == before
    assert "2 key(s) (2026-12, default)" in err and "--rotate NEW_ID" in err and "--force" in err
    status, out, _ = run_token(ssm, capsys, "--force")
    assert status == 0 and value(ssm) == out.strip()


def test_rotating_an_existing_id_needs_force(ssm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run_token(ssm, capsys, "--create")
    run_token(ssm, capsys, "--rotate", "2026-12")
    before = json.loads(value(ssm))
    status, out, err = run_token(ssm, capsys, "--rotate", "2026-12")
    assert (status, out) == (2, "") and json.loads(value(ssm)) == before
    assert "already exists" in err and "--rotate 2026-12-2" in err and "--force" in err
    status, out, _ = run_token(ssm, capsys, "--rotate", "2026-12", "--force")
    after = json.loads(value(ssm))
    assert (
        status == 0 and after["2026-12"] == out.strip() != before["2026-12"] and after["default"] == before["default"]
    )


def test_rotate_then_remove_keeps_the_ring_consistent(ssm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, first, _ = run_token(ssm, capsys, "--create")
    run_token(ssm, capsys, "--rotate", "2026-12")
    ring = json.loads(value(ssm))
    assert ring["default"] == first.strip() and len(ring["2026-12"]) >= 43
    assert run_token(ssm, capsys, "--list")[1].split() == ["2026-12", "default"]
    assert run_token(ssm, capsys, "--remove", "default")[0] == 0
    assert list(json.loads(value(ssm))) == ["2026-12"]
    status, _, err = run_token(ssm, capsys, "--remove", "2026-12")
    assert status == 2 and "last key" in err and "--rotate NEW_ID" in err
    status, _, err = run_token(ssm, capsys, "--remove", "nope")
    assert status == 2 and "keys: 2026-12" in err


def test_token_script_aws_errors_are_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert token_script.main(["--parameter", PARAM]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") <= 2 and "region" in err.lower() and "Traceback" not in err


def test_local_targets_the_make_local_ssm_port(
    monkeypatch: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import settings

    monkeypatch.setattr(settings, "STATE_FILE", tmp_path / "no-stack.json")  # no make local running
    monkeypatch.setenv("LOCAL_AWS_PORT", "1")  # nothing listens there: a clear error, not AWS
    assert token_script.main(["--parameter", PARAM, "--local", "--list"]) == 2
    err = capsys.readouterr().err
    assert "local SSM at http://127.0.0.1:1" in err and "Is `make local` running?" in err


def test_stack_output(capsys: pytest.CaptureFixture[str]) -> None:
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
        assert stack.main(["--stack-name", "gw"], cfn) == 0
        assert capsys.readouterr().out == "https://x.execute-api.us-east-1.amazonaws.com\n"
        assert stack.main(["--stack-name", "nope"], cfn) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("error: stack nope does not exist in us-east-1") and err.count("\n") == 1
        assert stack.main(["--stack-name", "gw", "--output", "Missing"], cfn) == 2
        assert "has no output Missing (outputs: ApiUrl)" in capsys.readouterr().err


def test_stack_output_without_region_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert stack.main(["--stack-name", "gw"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "region" in err and "Traceback" not in err


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


def test_local_follows_the_running_stack(monkeypatch: Any, tmp_path: Path) -> None:
    """In Docker mode the SSM stand-in listens on the bridge address: --local reads where from run.py's state."""
    import settings

    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"ssm": "http://172.17.0.1:4600"}))
    monkeypatch.setattr(settings, "STATE_FILE", state)
    assert token_script.ssm_client(local=True, region=None).meta.endpoint_url == "http://172.17.0.1:4600"
