"""The Docker-free emulator's runtime: warm workers, timeouts, API Gateway parity, and SAM's contract."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "local"))
from emulator import ApiGatewayParity, WorkerRuntime  # noqa: E402

HANDLER = textwrap.dedent("""
    import os, time
    CALLS = 0  # module state survives between invocations, like a warm container
    def handler(event, context):
        global CALLS
        CALLS += 1
        if event.get("sleep"):
            time.sleep(event["sleep"])
        if event.get("fail"):
            raise ValueError("boom")
        if event.get("exit"):
            os._exit(3)
        print("log line from the function")
        return {"calls": CALLS, "pid": os.getpid(), "env": os.environ.get("STANDIN_URL"),
                "remaining": context.get_remaining_time_in_millis(), "event": event}
""")


class Writer:
    """The StreamWriter surface LocalApigwService hands the runtime."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def write_str(self, text: str) -> None:
        self.buffer.write(text)


@pytest.fixture
def function(tmp_path: Path) -> Any:
    (tmp_path / "handler.py").write_text(HANDLER)
    env = SimpleNamespace(
        resolve=lambda: {"STANDIN_URL": "http://host.docker.internal:4567", "AWS_REGION": "us-east-1"}
    )
    return SimpleNamespace(
        name="Fn",
        full_path="Fn",
        handler="handler.handler",
        code_abs_path=str(tmp_path),
        memory=128,
        timeout=2,
        env_vars=env,
    )


@pytest.fixture
def runtime() -> Any:
    runtime = WorkerRuntime(sys.executable, ApiGatewayParity(authorizer_ttl=1), max_workers=2)
    yield runtime
    runtime.shutdown()


def invoke(runtime: WorkerRuntime, function: Any, event: dict[str, Any]) -> dict[str, Any]:
    out = Writer()
    runtime.invoke(function, json.dumps(event), stdout=out, stderr=None)
    return json.loads(out.buffer.getvalue())


def test_worker_stays_warm_and_sees_host_endpoints(runtime: WorkerRuntime, function: Any) -> None:
    first, second = invoke(runtime, function, {}), invoke(runtime, function, {})
    assert (first["calls"], second["calls"]) == (1, 2) and first["pid"] == second["pid"]
    assert first["env"] == "http://127.0.0.1:4567"
    assert 0 < first["remaining"] <= 2000


def test_handler_error_is_reported_like_lambda(runtime: WorkerRuntime, function: Any) -> None:
    result = invoke(runtime, function, {"fail": True})
    assert result["errorType"] == "ValueError" and result["errorMessage"] == "boom"
    assert invoke(runtime, function, {})["calls"] == 2  # the worker survived


def test_timeout_kills_the_worker_and_a_new_one_starts(runtime: WorkerRuntime, function: Any) -> None:
    pid = invoke(runtime, function, {})["pid"]
    started = time.monotonic()
    assert invoke(runtime, function, {"sleep": 5})["errorType"] == "Sandbox.Timedout"
    assert time.monotonic() - started < 3
    fresh = invoke(runtime, function, {})
    assert fresh["pid"] != pid and fresh["calls"] == 1


def test_crashed_worker_is_replaced(runtime: WorkerRuntime, function: Any) -> None:
    assert invoke(runtime, function, {"exit": True})["errorType"] == "Runtime.ExitError"
    assert invoke(runtime, function, {})["calls"] == 1


def test_shutdown_stops_every_worker(function: Any) -> None:
    runtime = WorkerRuntime(sys.executable, ApiGatewayParity(0))
    pid = invoke(runtime, function, {})["pid"]
    runtime.shutdown()
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            import os

            os.kill(pid, 0)
            time.sleep(0.05)


def authorizer_event(header: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:x",
        "identitySource": [header],
        "headers": {"Authorization": header, "Content-Type": "application/json"},
        "body": "{}",
        "requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "timeEpoch": 1795761000},
    }


def test_parity_fixes_sam_event_differences() -> None:
    parity = ApiGatewayParity(0)
    auth = parity.fix_event(authorizer_event("Bearer t"))
    assert set(auth["headers"]) == {"authorization", "content-type"}
    assert "body" not in auth
    assert auth["requestContext"]["timeEpoch"] == 1795761000000
    proxy = parity.fix_event({"version": "2.0", "headers": {"X-Thing": "1"}, "requestContext": {}})
    assert proxy["requestContext"]["requestId"] == auth["requestContext"]["requestId"]  # one request, one id
    other = parity.fix_event({"version": "2.0", "headers": {}, "requestContext": {}})
    assert other["requestContext"]["requestId"] != auth["requestContext"]["requestId"]


def test_authorizer_decisions_cached_per_identity_for_the_ttl(runtime: WorkerRuntime, function: Any) -> None:
    first = invoke(runtime, function, authorizer_event("Bearer a"))
    assert invoke(runtime, function, authorizer_event("Bearer a"))["calls"] == first["calls"]  # cached
    assert invoke(runtime, function, authorizer_event("Bearer b"))["calls"] == first["calls"] + 1  # other identity
    time.sleep(1.1)
    assert invoke(runtime, function, authorizer_event("Bearer a"))["calls"] == first["calls"] + 2  # expired


def test_samcli_private_api_contract() -> None:
    """emulator.py depends on these samcli internals: this fails loudly when a new SAM CLI moves them."""
    sam_python = ROOT / ".venv-sam" / "bin" / "python"
    assert sam_python.exists(), "run `make setup` first: .venv-sam holds the pinned aws-sam-cli"
    result = subprocess.run(
        [str(sam_python), str(ROOT / "local" / "check_samcli_contract.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
