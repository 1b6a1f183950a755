"""README.md is executable: every command block runs here as a reader would paste it, or is listed below with
the reason it cannot (and where else it runs). A README edit that breaks a command fails this test.

"AWS" for the deploy steps is a moto server of this test: `make token` writes the SecureString there, and a stack
named bedrock-gateway there has the local API's URL as its ApiUrl output, so `$(make -s api-url)` and the curl
examples reach the local API. The rotation steps run against the local stack's SSM (`--local`); the parameter is
restored afterwards. Python blocks run in order in one interpreter, with API_URL and TOKEN set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from discovery import Target

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from readme_commands import blocks, commands, key  # noqa: E402

pytestmark = pytest.mark.local_only
INVOKE_BLOCK = "make test-docker runs this block's lines exactly as written (local/docker/invoke_events.py)"
NOT_HERE = {
    "make local": "starts a second stack; tests/lifecycle runs `make -s local` itself (make test-lifecycle)",
    "make test": "the command that runs this test",
    "make build": "sam build for arm64 (~10 s); CI runs it through `make bench`",
    ".venv-sam/bin/sam deploy --guided": "needs an AWS account",
    "S=.venv-sam/bin/sam; T=.aws-sam/local-build/template.yaml": INVOKE_BLOCK,
    "API_URL=https://abc.execute-api.eu-west-1.amazonaws.com API_TOKEN=... .venv/bin/pytest tests/integration": (
        "needs a deployed stage; make test runs the same suite against the local API"
    ),
    ".venv-sam/bin/sam deploy --template-file pipeline/oidc-role.yaml --stack-name bedrock-gateway-pipeline \\": (
        "needs an AWS account; cfn-lint and checkov check the template in make test (make pipeline-check)"
    ),
    "STACK_NAME=bedrock-gateway .venv/bin/pytest tests/integration": (
        "needs a deployed stack; the discovery it uses is unit-tested with moto (tests/unit/test_discovery.py)"
    ),
}
MARK = "@@readme-command"


def not_here(command: str) -> str | None:
    name = key(command)
    return NOT_HERE.get(name) or (INVOKE_BLOCK if name.startswith("$S local invoke ") else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def aws() -> Iterator[str]:
    """A moto server standing in for the reader's AWS account."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def boto(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.fixture(scope="module")
def local_ssm(target: Target) -> Iterator[Any]:
    """The local stack's SSM; the token parameter is restored after the rotation steps."""
    ssm = boto("ssm", os.environ["LOCAL_SSM_ENDPOINT"])
    name = os.environ["LOCAL_TOKEN_PARAMETER"]
    original = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    yield ssm
    ssm.put_parameter(Name=name, Value=original, Type="SecureString", Overwrite=True)
    deadline = time.monotonic() + 20  # the authorizer re-reads SSM for an unknown token within 1 s locally
    while time.monotonic() < deadline and not works(target.url, target.token):
        time.sleep(0.5)
    assert works(target.url, target.token), "the suite's token did not come back after the rotation steps"


def works(url: str, token: str) -> bool:
    return requests.get(f"{url}/models", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200


def run_block(block: str, env: dict[str, str], state: Path) -> list[tuple[str, str]]:
    """Run a bash block's commands in one shell; variables carry over to the next block through `state`, as in
    a reader's terminal. (command, its stdout) for each."""
    ran = [c for c in commands(block) if not not_here(c)]
    script = f"set -eo pipefail -a\n[ -f {state} ] && . {state}\n"
    script += "".join(f"echo {MARK}\n{c}\n" for c in ran) + f"export -p > {state}\n"
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, (
        f"README command failed:\n{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    outputs = result.stdout.split(f"{MARK}\n")[1:]
    assert len(outputs) == len(ran)
    return list(zip(ran, outputs, strict=True))


def test_every_readme_command_runs_or_says_why_not(target: Target, aws: str, local_ssm: Any, tmp_path: Path) -> None:
    every = [c for b in blocks("bash") for c in commands(b)]
    stale = set(NOT_HERE) - {key(c) for c in every}
    assert not stale, f"NOT_HERE names commands the README no longer has: {stale}"
    boto("cloudformation", aws).create_stack(
        StackName="bedrock-gateway",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Placeholder": {
                        "Type": "AWS::SSM::Parameter",
                        "Properties": {"Name": "/readme/placeholder", "Type": "String", "Value": "x"},
                    }
                },
                "Outputs": {"ApiUrl": {"Value": target.url}, "StreamingApiUrl": {"Value": target.stream_url}},
            }
        ),
    )
    boto("cloudformation", aws).create_stack(  # what the pipeline set-up deploys, with its two outputs
        StackName="bedrock-gateway-pipeline",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Placeholder": {
                        "Type": "AWS::SSM::Parameter",
                        "Properties": {"Name": "/readme/pipeline", "Type": "String", "Value": "x"},
                    }
                },
                "Outputs": {
                    "DeployRoleArn": {"Value": "arn:aws:iam::123456789012:role/deploy"},
                    "ArtifactsBucketName": {"Value": "artifacts-bucket"},
                },
            }
        ),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAKE", "MFLAGS"))}
    env.update(
        HOME=str(tmp_path),
        AWS_ENDPOINT_URL=aws,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="readme",
        AWS_SECRET_ACCESS_KEY="readme",
        LOCAL_AWS_PORT=str(urlparse(os.environ["LOCAL_SSM_ENDPOINT"]).port),
    )
    parameter = os.environ["LOCAL_TOKEN_PARAMETER"]
    outputs: dict[str, str] = {}
    state = tmp_path / ".readme-shell"
    for block in blocks("bash"):
        for command, output in run_block(block, env, state):
            outputs[key(command)] = output
            if command.startswith("curl -sN"):  # a streamed answer: server-sent events to the end
                assert output.rstrip().endswith("data: [DONE]"), (command, output[-500:])
            elif command.startswith("curl"):
                body = json.loads(output)
                assert "error" not in body and "errors" not in body and "message" not in body, (command, body)
        if (tmp_path / ".bedrock-gateway-token").exists() and not outputs.get("registered"):
            # The deployed stack would read the token just written; here the local stack learns it as a key.
            created = (tmp_path / ".bedrock-gateway-token").read_text().strip()
            stored = boto("ssm", aws).get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
            assert created == stored and len(created) >= 43
            ring = {"default": target.token, "readme": created}
            local_ssm.put_parameter(Name=parameter, Value=json.dumps(ring), Type="SecureString", Overwrite=True)
            outputs["registered"] = created
    assert outputs["make -s api-url STACK_NAME=bedrock-gateway"] == f"{target.url}\n"
    pipeline = ".venv/bin/python scripts/stack.py --stack-name bedrock-gateway-pipeline --output"
    assert outputs[f"{pipeline} DeployRoleArn"] == "arn:aws:iam::123456789012:role/deploy\n"
    assert outputs[f"{pipeline} ArtifactsBucketName"] == "artifacts-bucket\n"
    assert json.loads(outputs["curl -s $URL/health"]) == {"status": "ok"}
    assert outputs['make -s token ARGS="--local --list"'].split() == ["2026-12", "default", "readme"]
    rotated = (tmp_path / "2026-12.token").read_text().strip()
    assert works(target.url, rotated)
    assert json.loads(local_ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]).keys() == {
        "2026-12",
        "readme",
    }

    # The Python blocks, in order, in one interpreter (the second block uses the first one's client).
    prelude = f"API_URL = {target.url!r}\nSTREAM_URL = {target.stream_url!r}\nTOKEN = {outputs['registered']!r}\n"
    runner = prelude + "".join(
        f"print({f'@@python block {i}'!r})\nexec(compile({code!r}, 'README block {i}', 'exec'))\n"
        for i, code in enumerate(blocks("python"))
    )
    result = subprocess.run(
        [sys.executable, "-c", runner], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("@@python block") == len(blocks("python")) >= 4
    assert "city='echo' temperature=1.5" in result.stdout  # the parsed structured output
    assert "[{'name': 'get_weather', 'args': {'city': 'echo'}" in result.stdout  # LangChain's tool call


def test_sample_events_and_readme_invoke_lines_match() -> None:
    expected = set(json.loads((ROOT / "events" / "expected.json").read_text()))
    lines = {
        key(c).split("-e events/")[1]
        for b in blocks("bash")
        for c in commands(b)
        if key(c).startswith("$S local invoke ")
    }
    assert lines == expected
