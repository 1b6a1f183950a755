"""`make local`: start the local stand-ins, build, and serve the whole API on 127.0.0.1 (Docker or not).

Steps: moto's SSM server (seeded with the dev token as a SecureString), the Bedrock stand-in, `sam build` for
x86_64, then the API: `sam local start-api` when a Docker engine answers, SAM's emulator with warm worker
processes (emulator.py) when none does. Ctrl-C or SIGTERM stops everything it started, by pid.
With `--exec CMD...` it runs CMD against the API (API_URL, API_TOKEN, LOCAL_* in its environment), then stops
everything and exits with CMD's status: that is how `make test` runs tests/integration.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / ".local" / "logs"
BUILD_DIR = ROOT / ".aws-sam" / "local-build"
# Keep in step with samconfig.toml [default.local_start_api.parameters] (a unit test checks).
LOCAL_OVERRIDES = ["Architecture=x86_64", "AuthorizerCacheTtl=2"]
SSM_PORT, BEDROCK_PORT = 4566, 4567
REGION = "us-east-1"


def say(step: str, message: str) -> None:
    print(f"==> [{step}] {message}", flush=True)


def fail(message: str, hint: str) -> None:
    print(f"\nERROR: {message}\n  next: {hint}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],  # noqa: S607 - the docker CLI from PATH
        capture_output=True,
        timeout=10,
        check=False,
    )
    return probe.returncode == 0


def template_default(name: str) -> str:
    """A parameter's default from template.yaml (plain text scan: no YAML parser needed for one value)."""
    lines = (ROOT / "template.yaml").read_text().splitlines()
    start = lines.index(f"  {name}:")
    for line in lines[start + 1 :]:
        if line.strip().startswith("Default:"):
            return line.split("Default:", 1)[1].strip()
    raise KeyError(name)


class Stack:
    """Everything `make local` starts; stop() ends it all, in reverse order, by process group."""

    def __init__(self, port: int, token: str, interactive: bool) -> None:
        self.port = port
        self.token = token
        self.interactive = interactive
        self.processes: dict[str, subprocess.Popen[bytes]] = {}  # started order; stop() reverses it
        self.parameter = template_default("TokenParameterName")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # sam build looks for python3.12 on PATH: this virtualenv's interpreter is one.
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        self.env.update(
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - dummy keys
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            SAM_CLI_TELEMETRY="0",
            # SAM asks STS for the account id: answer from moto instead of timing out offline.
            AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{SSM_PORT}",
        )

    def start(self, name: str, command: list[str], to_terminal: bool = False) -> subprocess.Popen[bytes]:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = LOGS / f"{name}.log"
        log.unlink(missing_ok=True)  # never show a previous run's output as this one's
        with contextlib.ExitStack() as files:
            out: Any = None if to_terminal else files.enter_context(log.open("wb"))  # the child keeps its copy
            process = subprocess.Popen(  # noqa: S603 - commands built here, not from input
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def wait_for(self, name: str, url: str, timeout: float) -> None:
        process = self.processes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = LOGS / f"{name}.log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(output went to the terminal)"
                fail(
                    f"{name} exited with status {process.returncode} while starting:\n{tail}",
                    f"read {log}; re-run `make local` after fixing what it says",
                )
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - loopback only
                return
            time.sleep(0.2)
        fail(f"{name} did not answer on {url} within {timeout:.0f} s", f"see {LOGS / (name + '.log')}")

    def stop(self) -> None:
        for name, process in reversed(self.processes.items()):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if not self.interactive:
                continue
            print(f"    stopped {name} (pid {process.pid})", flush=True)
        self.processes.clear()

    # ---- the steps ----------------------------------------------------------------------------------------------

    def start_ssm(self, host: str) -> None:
        say("1/4", f"local SSM Parameter Store (moto) on {host}:{SSM_PORT}")
        self.start("ssm", [sys.executable, "-m", "moto.server", "-H", host, "-p", str(SSM_PORT)])
        self.wait_for("ssm", f"http://127.0.0.1:{SSM_PORT}/moto-api/", 60)
        self.put_token(self.token)

    def put_token(self, value: str) -> None:
        import boto3

        ssm = boto3.client(
            "ssm",
            endpoint_url=f"http://127.0.0.1:{SSM_PORT}",
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto dummy key
        )
        ssm.put_parameter(Name=self.parameter, Value=value, Type="SecureString", Overwrite=True)

    def start_bedrock(self, host: str) -> None:
        say("2/4", f"Bedrock Runtime stand-in on {host}:{BEDROCK_PORT}")
        self.start(
            "bedrock",
            [sys.executable, "-m", "local.bedrock_standin", "--host", host, "--port", str(BEDROCK_PORT)],
        )
        self.wait_for("bedrock", f"http://127.0.0.1:{BEDROCK_PORT}/health", 30)

    def build(self, sam: str) -> None:
        say("3/4", "sam build for x86_64 (first run ~10 s, then cached)")
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603
            [
                sam,
                "build",
                "--cached",
                "--parallel",
                "--build-dir",
                str(BUILD_DIR),
                "--cache-dir",
                str(ROOT / ".aws-sam" / "local-cache"),
                "--parameter-overrides",
                *LOCAL_OVERRIDES,
            ],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if not result.returncode:
            result = subprocess.run(  # noqa: S603
                [sys.executable, str(ROOT / "scripts" / "precompile.py"), str(BUILD_DIR)],
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode:
            fail(
                f"sam build failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}",
                "fix the error above (a requirements.txt pin?) and run again",
            )
        print(f"    built in {time.monotonic() - started:.1f} s", flush=True)

    def start_api(self, sam: str, docker: bool, lambda_python: str) -> None:
        env_vars = str(ROOT / "events" / "env.json")
        template = str(BUILD_DIR / "template.yaml")
        if docker:
            say("4/4", f"sam local start-api (Docker, warm containers) on 127.0.0.1:{self.port}")
            # The Lambda base image: pulled, or built offline when it cannot be (a no-op when present).
            script = ["bash", str(ROOT / "local" / "docker" / "build_base_image.sh")]
            image = subprocess.run(script, cwd=ROOT, check=False)  # noqa: S603 - our own script
            if image.returncode:
                fail("the Lambda base image is missing and could not be built", "read the output above, then retry")
            command = [
                sam,
                "local",
                "start-api",
                "-t",
                template,
                "--port",
                str(self.port),
                "--env-vars",
                env_vars,
                "--warm-containers",
                "EAGER",
                "--skip-pull-image",
                "--add-host",
                "host.docker.internal:host-gateway",
                "--parameter-overrides",
                *LOCAL_OVERRIDES,
            ]
            timeout = 300
        else:
            say("4/4", f"SAM's API emulator, no Docker (warm worker processes) on 127.0.0.1:{self.port}")
            command = [
                str(Path(sam).with_name("python")),
                str(ROOT / "local" / "emulator.py"),
                "--template",
                template,
                "--env-vars",
                env_vars,
                "--port",
                str(self.port),
                "--python",
                lambda_python,
                "--runtime-path",
                str(ROOT / ".local" / "lambda-runtime"),
                "--parameter-overrides",
                *LOCAL_OVERRIDES,
            ]
            timeout = 90
        self.start("api", command, to_terminal=self.interactive)
        self.wait_for("api", f"http://127.0.0.1:{self.port}/health", timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sam", required=True, help="the sam executable (pinned, in its own virtualenv)")
    parser.add_argument(
        "--lambda-python",
        default=getattr(sys, "_base_executable", sys.executable),
        help="Python 3.12 that runs the functions without Docker",
    )
    parser.add_argument("--mode", choices=["auto", "docker", "no-docker"], default="auto")
    parser.add_argument("--exec", nargs=argparse.REMAINDER, help="run this command against the API, then stop")
    args = parser.parse_args()

    port = int(os.environ.get("LOCAL_API_PORT", "3000"))
    token = os.environ.get("LOCAL_API_TOKEN") or secrets.token_urlsafe(32)
    for wanted, what in (
        (port, "LOCAL_API_PORT"),
        (SSM_PORT, "the SSM stand-in"),
        (BEDROCK_PORT, "the Bedrock stand-in"),
    ):
        if not port_free(wanted):
            fail(
                f"port {wanted} ({what}) is already in use",
                "stop the other `make local` (or whatever listens there), or set LOCAL_API_PORT",
            )
    docker = args.mode == "docker" or (args.mode == "auto" and docker_available())
    host = "0.0.0.0" if docker else "127.0.0.1"  # noqa: S104 - containers reach the stand-ins via the bridge
    stack = Stack(port, token, interactive=not args.exec)

    def on_signal(signum: int, _: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # even if the parent shell ignored SIGINT (background jobs)
    started = time.monotonic()
    try:
        stack.start_ssm(host)
        stack.start_bedrock(host)
        stack.build(args.sam)
        stack.start_api(args.sam, docker, args.lambda_python)
        url = f"http://127.0.0.1:{port}"
        print(f"\nReady in {time.monotonic() - started:.1f} s: {url}  (token parameter {stack.parameter})", flush=True)
        if args.exec:
            env = {
                **stack.env,
                "API_URL": url,
                "API_TOKEN": token,
                "LOCAL_SSM_ENDPOINT": f"http://127.0.0.1:{SSM_PORT}",
                "LOCAL_BEDROCK_ENDPOINT": f"http://127.0.0.1:{BEDROCK_PORT}",
                "LOCAL_TOKEN_PARAMETER": stack.parameter,
                "LOCAL_LOG_DIR": str(LOGS),
                "LOCAL_API_MODE": "docker" if docker else "no-docker",
                "LOCAL_SSM_PID": str(stack.processes["ssm"].pid),
                "LOCAL_API_PID": str(stack.processes["api"].pid),
            }
            return subprocess.run(args.exec, cwd=ROOT, env=env, check=False).returncode  # noqa: S603
        body = json.dumps({"prompt": "Hello from make local"})
        print(
            f"Try it (dev token below is for this local run only):\n\n"
            f"  curl -s {url}/invoke -H 'Authorization: Bearer {token}' \\\n"
            f"       -H 'content-type: application/json' -d '{body}'\n\n"
            f"Logs: {LOGS}. Ctrl-C stops everything.",
            flush=True,
        )
        api = stack.processes["api"]
        api.wait()
        return api.returncode
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 130
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
