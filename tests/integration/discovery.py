"""Where the integration suite points: API_URL/API_TOKEN, or a deployed stack's outputs and its SSM token."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    url: str
    token: str
    local: bool  # the local emulation: stand-ins reachable, fault.* models allowlisted
    stream_url: str | None = None  # the streaming API (EnableStreaming), when there is one


class NoTargetError(LookupError):
    """Neither API_URL/API_TOKEN nor STACK_NAME is set."""


def first_token(value: str) -> str:
    """The parameter holds one token or a key ring {"id": "token"}: any valid token will do."""
    text = value.strip()
    return next(iter(json.loads(text).values())) if text.startswith("{") else text


def discover(env: Mapping[str, str], cloudformation: Any = None, ssm: Any = None) -> Target:
    if env.get("API_URL") and env.get("API_TOKEN"):
        stream = env.get("STREAMING_API_URL", "").rstrip("/") or None
        return Target(
            env["API_URL"].rstrip("/"), env["API_TOKEN"], local=bool(env.get("LOCAL_SSM_ENDPOINT")), stream_url=stream
        )
    stack = env.get("STACK_NAME")
    if not stack:
        raise NoTargetError("set API_URL and API_TOKEN, or STACK_NAME of a deployed stack (or run `make test`)")
    if cloudformation is None or ssm is None:
        import boto3

        cloudformation, ssm = cloudformation or boto3.client("cloudformation"), ssm or boto3.client("ssm")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    }
    value = ssm.get_parameter(Name=outputs["TokenParameterName"], WithDecryption=True)["Parameter"]["Value"]
    stream = outputs.get("StreamingApiUrl", "").rstrip("/") or None
    return Target(outputs["ApiUrl"].rstrip("/"), first_token(value), local=False, stream_url=stream)


def from_environment() -> Target:
    return discover(os.environ)
