"""Ports of `make local`, in one place: run.py, scripts/api_token.py --local and the tests read them here.

Defaults stay clear of LocalStack (4566 and 4510-4559), so both can run side by side. Each can be moved with
the environment variable of the same name (LOCAL_STREAM_PORT follows LOCAL_API_PORT unless set).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_PORTS = {"LOCAL_API_PORT": 3000, "LOCAL_STREAM_PORT": 3001, "LOCAL_AWS_PORT": 4600, "LOCAL_BEDROCK_PORT": 4601}
WHAT = {
    "LOCAL_API_PORT": "the API",
    "LOCAL_STREAM_PORT": "the streaming API",
    "LOCAL_AWS_PORT": "the local SSM (moto)",
    "LOCAL_BEDROCK_PORT": "the Bedrock stand-in",
}
# events/env.json names the stand-ins at these default ports; run.py rewrites them when a port is moved.
ENV_JSON_HOST = "host.docker.internal"


class PortSettingError(ValueError):
    pass


def port(name: str) -> int:
    """A port from the environment, else its default; the streaming API's default is the API port + 1."""
    default = port("LOCAL_API_PORT") + 1 if name == "LOCAL_STREAM_PORT" else DEFAULT_PORTS[name]
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise PortSettingError(f"{name}={raw!r} is not a TCP port (1-65535)")
    return int(raw)


# Where a running `make local` serves, for tools that talk to it (scripts/api_token.py --local): written by
# run.py when its stand-ins are up, removed when it stops.
STATE_FILE = Path(__file__).resolve().parents[1] / ".local" / "stack.json"


def local_aws_endpoint() -> str:
    """The running stack's moto (SSM and DynamoDB; loopback, or the Docker bridge in Docker mode)."""
    try:
        return json.loads(STATE_FILE.read_text())["ssm"]
    except (OSError, ValueError, KeyError):
        return f"http://127.0.0.1:{port('LOCAL_AWS_PORT')}"
