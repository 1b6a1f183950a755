"""`make local`: start the local stand-ins, build, and serve the whole API on 127.0.0.1 (Docker or not).

Steps: moto's SSM server (seeded with the dev token as a SecureString), the Bedrock stand-in, `sam build` for
x86_64, then the API: `sam local start-api` in Docker, or SAM's emulator with warm worker processes
(emulator.py). LOCAL_MODE=auto|docker|no-docker chooses (auto: Docker when it answers and the Lambda image is
there). Ports: settings.py. Ctrl-C, SIGTERM and SIGHUP stop everything it started, by pid, quietly; if this
process is killed outright (even SIGKILL), its children get SIGTERM from the kernel (PR_SET_PDEATHSIG).
With `--exec CMD...` it runs CMD against the API (API_URL, API_TOKEN, LOCAL_* in its environment), then stops
everything and exits with CMD's status: that is how `make test` runs tests/integration.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from settings import DEFAULT_PORTS, ENV_JSON_HOST, STATE_FILE, WHAT, PortSettingError, port

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / ".local" / "logs"
BUILD_DIR = ROOT / ".aws-sam" / "local-build"
ENV_JSON = ROOT / ".local" / "env.json"  # events/env.json with the ports of this run
# Keep in step with samconfig.toml [default.local_start_api.parameters] (a unit test checks).
LOCAL_OVERRIDES = ["Architecture=x86_64", "AuthorizerCacheTtl=2"]
REGION = "us-east-1"
LAMBDA_IMAGE = "public.ecr.aws/lambda/python:3.12-x86_64"
PR_SET_PDEATHSIG = 1
# SAM CLI ignores template Conditions: given the streaming API's resources it would mount StreamFunction on the
# HTTP API's /v1/chat/completions. So the HTTP API is served from a template without them (template.yaml in the
# build dir), and the streaming API (local/stream_api.py) from the whole build (this file).
STREAMING_TEMPLATE = "template.streaming.yaml"
STREAMING_CONDITIONS = {"StreamingEnabled", "CreateApiGatewayLogsRole"}


def split_streaming_template() -> None:
    """Keep the whole built template for the streaming API; leave the HTTP API's without the streaming resources."""
    import yaml

    built = BUILD_DIR / "template.yaml"
    shutil.copyfile(built, BUILD_DIR / STREAMING_TEMPLATE)
    template = yaml.safe_load(built.read_text())  # sam build writes plain YAML (long-form intrinsics)
    for section in ("Resources", "Outputs"):
        entries = template.get(section) or {}
        for name in [n for n, e in entries.items() if e.get("Condition") in STREAMING_CONDITIONS]:
            del entries[name]
    built.write_text(yaml.safe_dump(template, sort_keys=False))


def say(step: str, message: str) -> None:
    print(f"==> [{step}] {message}", flush=True)


def fail(message: str, hint: str) -> None:
    print(f"\nERROR: {message}\n  next: {hint}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def port_free(number: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, number))
        except OSError:
            return False
    return True


def docker(*args: str) -> subprocess.CompletedProcess[str] | None:
    """A docker CLI call, or None when there is no CLI or no engine answers in time."""
    if not shutil.which("docker"):
        return None
    try:
        return subprocess.run(  # noqa: S603
            ["docker", *args],  # noqa: S607 - the docker CLI from PATH
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None


def choose_mode(mode: str) -> tuple[bool, str]:
    """(use Docker?, why): auto takes Docker only when the engine answers and the Lambda image is there."""
    if mode != "auto":
        return mode == "docker", f"LOCAL_MODE={mode}"
    info = docker("info", "--format", "{{.ServerVersion}}")
    if info is None or info.returncode:
        return False, "no Docker engine answers"
    image = docker("image", "inspect", LAMBDA_IMAGE)
    if image is None or image.returncode:
        return False, f"Docker answers but {LAMBDA_IMAGE} is not there (LOCAL_MODE=docker pulls or builds it)"
    return True, f"Docker answers and {LAMBDA_IMAGE} is there"


def docker_bridge_address() -> str:
    """Where containers reach the host (host.docker.internal:host-gateway): the stand-ins listen there only."""
    result = docker("network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}")
    address = result.stdout.strip() if result and not result.returncode else ""
    if not address:
        fail("could not find the Docker bridge's gateway address", "check `docker network inspect bridge`")
    return address


def die_with_parent() -> None:
    """Runs in each child before exec: the kernel sends it SIGTERM when this process dies, however it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def own_terminal() -> tuple[int, int] | None:
    """Take the terminal's foreground: Ctrl-C then reaches this process only, not make (which would print
    `*** Interrupt` and exit 130). Returns what restore_terminal needs, or None without a terminal."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
        previous = os.tcgetpgrp(fd)
        if previous != os.getpgrp():  # started in the background: leave the terminal alone
            os.close(fd)
            return None
        os.setpgid(0, 0)
        with ignoring_sigttou():
            os.tcsetpgrp(fd, os.getpgrp())
    except OSError:
        return None
    return fd, previous


def restore_terminal(saved: tuple[int, int] | None) -> None:
    if saved:
        fd, previous = saved
        with ignoring_sigttou(), contextlib.suppress(OSError):
            os.tcsetpgrp(fd, previous)
        os.close(fd)


def terminal_closed(saved: tuple[int, int] | None) -> bool:
    """Whether the terminal we own has hung up (window closed, ssh dropped): poll() reports POLLHUP then."""
    if not saved:
        return False
    poller = select.poll()
    poller.register(saved[0], 0)  # no events asked: only hang-up and error conditions are reported
    return any(events & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, events in poller.poll(0))


@contextlib.contextmanager
def ignoring_sigttou() -> Any:
    """A background process group may set the terminal's foreground only with SIGTTOU ignored (as shells do)."""
    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTTOU, old)


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

    def __init__(self, ports: dict[str, int], host: str, token: str, interactive: bool) -> None:
        self.port = ports["LOCAL_API_PORT"]
        self.stream_port = ports["LOCAL_STREAM_PORT"]
        self.aws_port = ports["LOCAL_AWS_PORT"]
        self.bedrock_port = ports["LOCAL_BEDROCK_PORT"]
        self.host = host  # where the stand-ins listen: loopback, or the Docker bridge in Docker mode
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
            AWS_ENDPOINT_URL_STS=f"http://{host}:{self.aws_port}",
        )
        self.env_json = self.write_env_json()

    def write_env_json(self) -> Path:
        """events/env.json with the stand-ins' ports as configured (it names the defaults), and the functions'
        Bedrock read timeout from LOCAL_BEDROCK_READ_TIMEOUT when set (the time-to-first-token benchmark's slow
        model needs more than the 2 s the tests use)."""
        text = (ROOT / "events" / "env.json").read_text()
        for name, number in (("LOCAL_AWS_PORT", self.aws_port), ("LOCAL_BEDROCK_PORT", self.bedrock_port)):
            text = text.replace(f"{ENV_JSON_HOST}:{DEFAULT_PORTS[name]}", f"{ENV_JSON_HOST}:{number}")
        settings = json.loads(text)
        if os.environ.get("LOCAL_BEDROCK_READ_TIMEOUT"):
            for function in ("InvokeFunction", "StreamFunction"):
                settings[function]["BEDROCK_READ_TIMEOUT"] = os.environ["LOCAL_BEDROCK_READ_TIMEOUT"]
        ENV_JSON.parent.mkdir(parents=True, exist_ok=True)
        ENV_JSON.write_text(json.dumps(settings, indent=2) + "\n")
        return ENV_JSON

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
                preexec_fn=die_with_parent,  # only prctl() before exec: safe in this single-threaded parent
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
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.processes.clear()

    # ---- the steps ----------------------------------------------------------------------------------------------

    def start_ssm(self) -> None:
        say("1/5", f"local SSM Parameter Store and DynamoDB (moto) on {self.host}:{self.aws_port}")
        self.start(
            "ssm", [sys.executable, str(ROOT / "local" / "aws_standin.py"), "-H", self.host, "-p", str(self.aws_port)]
        )
        self.wait_for("ssm", f"http://{self.host}:{self.aws_port}/moto-api/", 60)
        self.put_token(self.token)
        self.create_keys_table()

    def moto(self, service: str) -> Any:
        """A client of the local moto server (SSM and DynamoDB share it)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=f"http://{self.host}:{self.aws_port}",
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto dummy key
        )

    def put_token(self, value: str) -> None:
        self.moto("ssm").put_parameter(Name=self.parameter, Value=value, Type="SecureString", Overwrite=True)

    def create_keys_table(self) -> None:
        """The managed-keys table in moto, from template.yaml's own definition (not a hand-copied schema)."""
        import yaml

        class TemplateLoader(yaml.SafeLoader):  # CloudFormation's short tags (!Ref, !Sub...) read as plain values
            pass

        TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
        template = yaml.load((ROOT / "template.yaml").read_text(), Loader=TemplateLoader)  # noqa: S506 - safe loader
        table = template["Resources"]["KeysTable"]["Properties"]
        name = json.loads((ROOT / "events" / "env.json").read_text())["InvokeFunction"]["KEYS_TABLE_NAME"]
        dynamodb = self.moto("dynamodb")
        dynamodb.create_table(
            TableName=name,
            KeySchema=table["KeySchema"],
            AttributeDefinitions=table["AttributeDefinitions"],
            BillingMode=table["BillingMode"],
        )
        ttl = table["TimeToLiveSpecification"]
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )

    def start_bedrock(self) -> None:
        say("2/5", f"Bedrock Runtime stand-in on {self.host}:{self.bedrock_port}")
        command = [sys.executable, "-m", "local.bedrock_standin", "--host", self.host, "--port", str(self.bedrock_port)]
        self.start("bedrock", command)
        self.wait_for("bedrock", f"http://{self.host}:{self.bedrock_port}/health", 30)

    def build(self, sam: str) -> None:
        say("3/5", "sam build for x86_64 (first run ~10 s, then cached)")
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
            # the functions' wheels come from the wheelhouse `make setup` filled: no network needed
            env={**self.env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(ROOT / ".local" / "wheelhouse")},
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
                "if a package was not found, run `make setup` (with network) to refresh .local/wheelhouse; "
                "otherwise fix the error above and run again",
            )
        split_streaming_template()
        # sam reads samconfig.toml from the template's folder: with a copy beside the built template,
        # `sam local invoke -t .aws-sam/local-build/template.yaml` gets the local settings (env.json, x86_64,
        # --skip-pull-image) exactly as README.md shows it.
        shutil.copyfile(ROOT / "samconfig.toml", BUILD_DIR / "samconfig.toml")
        print(f"    built in {time.monotonic() - started:.1f} s", flush=True)

    def start_stream_api(self, docker: bool, sam: str, lambda_python: str) -> None:
        """The streaming API (REST response streaming) on its own port, in both modes: `sam local` cannot stream,
        so its functions run as host processes, the streaming one under its own runtime (local/stream_api.py)."""
        where = "functions as host processes: sam local start-api cannot stream" if docker else "streams as written"
        say("5/5", f"streaming API on 127.0.0.1:{self.stream_port} ({where})")
        ttl = next(o.split("=", 1)[1] for o in LOCAL_OVERRIDES if o.startswith("AuthorizerCacheTtl="))
        command = [
            str(Path(sam).with_name("python")),
            str(ROOT / "local" / "stream_api.py"),
            "--template",
            str(BUILD_DIR / STREAMING_TEMPLATE),
            "--env-vars",
            str(self.env_json),
            "--port",
            str(self.stream_port),
            "--python",
            lambda_python,
            "--runtime-path",
            str(ROOT / ".local" / "lambda-runtime"),
            "--authorizer-ttl",
            ttl,
            "--stand-in-host",
            self.host,
            "--parameter-overrides",
            *LOCAL_OVERRIDES,
            "EnableStreaming=true",
        ]
        self.start("stream", command)
        self.wait_for_port("stream", self.stream_port, 60)

    def wait_for_port(self, name: str, number: int, timeout: float) -> None:
        process = self.processes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                fail(f"{name} exited with status {process.returncode} while starting", f"read {LOGS / (name + '.log')}")
            if not port_free(number):
                return
            time.sleep(0.2)
        fail(f"{name} did not listen on port {number} within {timeout:.0f} s", f"see {LOGS / (name + '.log')}")

    def start_api(self, sam: str, docker: bool, lambda_python: str) -> None:
        env_vars = str(self.env_json)
        template = str(BUILD_DIR / "template.yaml")
        if docker:
            say("4/5", f"sam local start-api (Docker, warm containers) on 127.0.0.1:{self.port}")
            # The Lambda base image: pulled, or built offline when it cannot be (a no-op when present).
            script = ["bash", str(ROOT / "local" / "docker" / "build_base_image.sh")]
            image = subprocess.run(script, cwd=ROOT, check=False)  # noqa: S603 - our own script
            if image.returncode:
                fail(
                    "the Lambda base image is missing and could not be built",
                    "read the output above, or run without Docker: LOCAL_MODE=no-docker make local",
                )
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
            say("4/5", f"SAM's API emulator, no Docker (warm worker processes) on 127.0.0.1:{self.port}")
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
    parser.add_argument(
        "--mode", choices=["auto", "docker", "no-docker"], default=os.environ.get("LOCAL_MODE") or "auto"
    )
    parser.add_argument("--exec", nargs=argparse.REMAINDER, help="run this command against the API, then stop")
    args = parser.parse_args()

    try:
        ports = {name: port(name) for name in DEFAULT_PORTS}
    except PortSettingError as bad:
        fail(str(bad), "set it to a free port number, or unset it for the default")
    use_docker, why = choose_mode(args.mode)
    host = docker_bridge_address() if use_docker else "127.0.0.1"
    for name, number in ports.items():
        bind = "127.0.0.1" if name in ("LOCAL_API_PORT", "LOCAL_STREAM_PORT") else host
        if not port_free(number, bind):
            fail(
                f"port {number} ({WHAT[name]}) is already in use",
                f"stop what listens there (`ss -ltnp 'sport = :{number}'` shows it), or move it: {name}=<port>",
            )
    token = os.environ.get("LOCAL_API_TOKEN") or secrets.token_urlsafe(32)
    say("mode", f"{'Docker (sam local start-api)' if use_docker else 'Docker-free emulator'}: {why}")
    stack = Stack(ports, host, token, interactive=not args.exec)
    terminal = own_terminal() if stack.interactive else None

    def on_signal(signum: int, _: Any) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # SIGINT even if the shell ignored it (&)
        signal.signal(signum, on_signal)
    started = time.monotonic()
    try:
        stack.start_ssm()
        stack.start_bedrock()
        STATE_FILE.write_text(
            json.dumps({"ssm": f"http://{host}:{stack.aws_port}", "bedrock": f"http://{host}:{stack.bedrock_port}"})
        )
        stack.build(args.sam)
        stack.start_api(args.sam, use_docker, args.lambda_python)
        stack.start_stream_api(use_docker, args.sam, args.lambda_python)
        url = f"http://127.0.0.1:{stack.port}"
        stream_url = f"http://127.0.0.1:{stack.stream_port}"
        print(f"\nReady in {time.monotonic() - started:.1f} s: {url}  (token parameter {stack.parameter})", flush=True)
        print(f"Streaming API (OpenAI base URL {stream_url}/v1): {stream_url}", flush=True)
        if args.exec:
            env = {
                **stack.env,
                "API_URL": url,
                "STREAMING_API_URL": stream_url,
                "API_TOKEN": token,
                "LOCAL_SSM_ENDPOINT": f"http://{host}:{stack.aws_port}",
                "LOCAL_BEDROCK_ENDPOINT": f"http://{host}:{stack.bedrock_port}",
                "LOCAL_TOKEN_PARAMETER": stack.parameter,
                "LOCAL_LOG_DIR": str(LOGS),
                "LOCAL_API_MODE": "docker" if use_docker else "no-docker",
                "LOCAL_SSM_PID": str(stack.processes["ssm"].pid),
                "LOCAL_API_PID": str(stack.processes["api"].pid),
            }
            return subprocess.run(args.exec, cwd=ROOT, env=env, check=False).returncode  # noqa: S603
        body = json.dumps({"prompt": "Hello from make local"})
        print(
            f"Try it (dev token below is for this local run only):\n\n"
            f"  curl -s {url}/invoke -H 'Authorization: Bearer {token}' \\\n"
            f"       -H 'content-type: application/json' -d '{body}'\n\n"
            f"A managed key with its own limits (printed once):\n\n"
            f"  make -s keys ARGS='--local create team-a --rpm 5 --monthly-tokens 100000'\n\n"
            f"Logs: {LOGS}. Ctrl-C stops everything.",
            flush=True,
        )
        api = stack.processes["api"]
        while api.poll() is None:
            if terminal_closed(terminal):  # the terminal hung up: its SIGHUP went to make, not to us
                raise KeyboardInterrupt
            with contextlib.suppress(subprocess.TimeoutExpired):
                api.wait(0.5)
        return api.returncode
    except KeyboardInterrupt:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # a second Ctrl-C must not cut the cleanup
            signal.signal(signum, signal.SIG_IGN)
        stack.stop()
        print("\nStopped: every process `make local` started has exited.", flush=True)
        return 0
    finally:
        stack.stop()
        STATE_FILE.unlink(missing_ok=True)
        restore_terminal(terminal)


if __name__ == "__main__":
    sys.exit(main())
