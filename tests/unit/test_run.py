"""local/run.py's decisions, without starting anything: mode choice, ports, the env.json it writes."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "local"))
import run  # noqa: E402
import settings  # noqa: E402


def fake_docker(tmp_path: Path, monkeypatch: Any, info: int, image: int) -> None:
    """A `docker` CLI on PATH whose `info` and `image inspect` answer with the given exit statuses."""
    script = tmp_path / "docker"
    script.write_text(f'#!/bin/sh\ncase "$1" in info) exit {info};; image) exit {image};; *) exit 1;; esac\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize(
    ("info", "image", "docker", "reason"),
    [
        (0, 0, True, "is there"),
        (0, 1, False, "is not there (LOCAL_MODE=docker pulls or builds it)"),
        (1, 1, False, "no Docker engine answers"),
    ],
)
def test_auto_mode_takes_docker_only_with_the_image(
    info: int, image: int, docker: bool, reason: str, tmp_path: Path, monkeypatch: Any
) -> None:
    fake_docker(tmp_path, monkeypatch, info, image)
    use_docker, why = run.choose_mode("auto")
    assert use_docker is docker and reason in why


def test_explicit_modes_are_obeyed(tmp_path: Path, monkeypatch: Any) -> None:
    fake_docker(tmp_path, monkeypatch, 1, 1)
    assert run.choose_mode("docker") == (True, "LOCAL_MODE=docker")
    assert run.choose_mode("no-docker") == (False, "LOCAL_MODE=no-docker")


def test_default_ports_avoid_localstack() -> None:
    localstack = {4566, *range(4510, 4560)}
    assert not set(settings.DEFAULT_PORTS.values()) & localstack
    env = json.loads((ROOT / "events" / "env.json").read_text())
    assert env["AuthorizerFunction"]["AWS_ENDPOINT_URL_SSM"].endswith(f":{settings.DEFAULT_PORTS['LOCAL_AWS_PORT']}")
    bedrock = env["InvokeFunction"]["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"]
    assert bedrock.endswith(f":{settings.DEFAULT_PORTS['LOCAL_BEDROCK_PORT']}")


def test_bad_port_setting_is_refused(monkeypatch: Any) -> None:
    monkeypatch.setenv("LOCAL_AWS_PORT", "45x")
    with pytest.raises(settings.PortSettingError, match="LOCAL_AWS_PORT"):
        settings.port("LOCAL_AWS_PORT")


def test_moved_ports_reach_the_functions(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setattr(run, "ENV_JSON", tmp_path / "env.json")
    stack = run.Stack(
        {"LOCAL_API_PORT": 3100, "LOCAL_STREAM_PORT": 3101, "LOCAL_AWS_PORT": 5600, "LOCAL_BEDROCK_PORT": 5601},
        "127.0.0.1",
        "t",
        False,
    )
    env = json.loads(stack.env_json.read_text())
    assert env["AuthorizerFunction"]["AWS_ENDPOINT_URL_SSM"] == "http://host.docker.internal:5600"
    assert env["InvokeFunction"]["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == "http://host.docker.internal:5601"
    assert stack.env["AWS_ENDPOINT_URL_STS"] == "http://127.0.0.1:5600"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_busy_port_names_the_variable_that_moves_it(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(ROOT / "local" / "run.py"), "--sam", "sam", "--mode", "no-docker"],
            env={**os.environ, "LOCAL_AWS_PORT": str(taken), "LOCAL_API_PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {taken} (the local SSM (moto)) is already in use" in result.stderr
    assert "LOCAL_AWS_PORT=<port>" in result.stderr and "Traceback" not in result.stderr
