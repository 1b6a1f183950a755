"""`sam local start-api` without Docker: SAM CLI's own API Gateway emulator, functions in warm worker processes.

SAM's LocalApigwService (routes, Lambda authorizers, v2 events, all read from template.yaml by SAM's code) only
ever calls `local_runtime.invoke(function_config, event, stdout=..., stderr=...)`. This module supplies that
runtime: a pool of warm Python 3.12 workers per function (lambda_worker.py), with the template's environment,
env.json overrides and the function timeout enforced. Written by hand because SAM CLI has no container-free
mode. It relies on private samcli APIs: aws-sam-cli is pinned and tests/unit/test_emulator_contract.py fails
loudly if they move.

Where SAM's emulator differs from API Gateway in ways users trip on, the runtime restores API Gateway's
behaviour: lower-case header names, a unique requestId per request, timeEpoch in milliseconds, no body in
authorizer events, non-UTF-8 bodies passed base64-encoded (SAM answers 502), and the authorizer result cache
(per identity source, AuthorizerCacheTtl seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG = logging.getLogger("emulator")
WORKER = Path(__file__).with_name("lambda_worker.py")
DOCKER_HOST_ALIAS = "host.docker.internal"  # env.json is written for containers; workers run on the host


class WorkerDiedError(RuntimeError):
    pass


class Worker:
    """One warm process for one function; requests go through a private pipe pair."""

    def __init__(self, python: str, config: Any, env: dict[str, str], init_timeout: float) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        env = {**env, "LAMBDA_WORKER_FDS": f"{to_child_r},{from_child_w}"}
        self.name = config.name
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and worker script
            [python, "-u", str(WORKER)],
            env=env,
            cwd=config.code_abs_path,
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._read(init_timeout)  # {"ready": true} once the handler module is imported (the "init" phase)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks, remaining = [], size
        while remaining:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self._from_child], [], [], wait)[0]:
                raise TimeoutError
            chunk = os.read(self._from_child, remaining)
            if not chunk:
                raise WorkerDiedError(f"{self.name} worker exited with {self.process.wait()}")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _read(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        (size,) = struct.unpack(">I", self._read_exact(4, deadline))
        return self._read_exact(size, deadline)

    def invoke(self, event: str, request_id: str, timeout: float) -> bytes:
        message = json.dumps(
            {"event": event, "requestId": request_id, "deadlineMs": int((time.time() + timeout) * 1000)}
        ).encode()
        os.write(self._to_child, struct.pack(">I", len(message)) + message)
        return self._read(timeout)

    def stop(self) -> None:
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Pool:
    """Warm workers of one function: reused like warm containers, a new one only when all are busy."""

    idle: list[Worker] = field(default_factory=list)
    size: int = 0
    ready: threading.Condition = field(default_factory=threading.Condition)


def environment_for(config: Any, runtime_path: str | None = None, stand_in_host: str = "127.0.0.1") -> dict[str, str]:
    """What Lambda would give the function: SAM's resolved variables, pointed at the host's stand-ins."""
    env = {k: str(v).replace(DOCKER_HOST_ALIAS, stand_in_host) for k, v in config.env_vars.resolve().items()}
    if runtime_path:  # the runtime's own packages (boto3), after the function's code as in /var/runtime
        env["PYTHONPATH"] = runtime_path
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        LANG="C.UTF-8",
        TZ="UTC",
        _HANDLER=config.handler,
        LAMBDA_TASK_ROOT=str(config.code_abs_path),
        AWS_LAMBDA_FUNCTION_NAME=config.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(config.memory),
        AWS_LAMBDA_FUNCTION_TIMEOUT=str(config.timeout),
        AWS_EXECUTION_ENV="AWS_Lambda_python3.12",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


class ApiGatewayParity:
    """Event fixes and the authorizer cache that make SAM's emulator behave like API Gateway."""

    def __init__(self, authorizer_ttl: int) -> None:
        self.ttl = authorizer_ttl
        self._cache: dict[tuple[str, str], tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()  # one Flask thread serves one request: authorizer, then integration

    @staticmethod
    def is_authorizer_event(event: dict[str, Any]) -> bool:
        return event.get("type") == "REQUEST" and "routeArn" in event

    def fix_event(self, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("version") != "2.0":
            return event
        event["headers"] = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        context = event.setdefault("requestContext", {})
        if self.is_authorizer_event(event):
            self._local.request_id = uuid.uuid4().hex[:16] + "="
            event.pop("body", None)
            event.pop("isBase64Encoded", None)
            context["requestId"] = self._local.request_id
        else:
            context["requestId"] = getattr(self._local, "request_id", None) or uuid.uuid4().hex[:16] + "="
            self._local.request_id = None
        epoch = context.get("timeEpoch")
        if isinstance(epoch, int | float) and epoch < 10**11:
            context["timeEpoch"] = int(epoch * 1000)
        return event

    def cached(self, function: str, event: dict[str, Any]) -> bytes | None:
        if self.ttl <= 0 or not self.is_authorizer_event(event):
            return None
        key = (function, json.dumps(event.get("identitySource")))
        with self._lock:
            hit = self._cache.get(key)
            return hit[1] if hit and hit[0] > time.monotonic() else None

    def remember(self, function: str, event: dict[str, Any], response: bytes) -> None:
        if self.ttl > 0 and self.is_authorizer_event(event):
            with self._lock:
                self._cache[(function, json.dumps(event.get("identitySource")))] = (
                    time.monotonic() + self.ttl,
                    response,
                )


class WorkerRuntime:
    """Drop-in for samcli's LambdaRuntime as LocalLambdaRunner uses it."""

    def __init__(
        self,
        python: str,
        parity: ApiGatewayParity,
        max_workers: int = 4,
        init_timeout: float = 30,
        runtime_path: str | None = None,
        stand_in_host: str = "127.0.0.1",
    ) -> None:
        self.python = python
        self.runtime_path = runtime_path
        self.stand_in_host = stand_in_host
        self.parity = parity
        self.max_workers = max_workers
        self.init_timeout = init_timeout
        self._pools: dict[str, Pool] = {}
        self._lock = threading.Lock()

    def _pool(self, name: str) -> Pool:
        with self._lock:
            return self._pools.setdefault(name, Pool())

    def _acquire(self, config: Any) -> Worker:
        pool = self._pool(config.full_path)
        with pool.ready:
            while not pool.idle and pool.size >= self.max_workers:
                pool.ready.wait()
            if pool.idle:
                return pool.idle.pop()
            pool.size += 1
        try:
            started = time.monotonic()
            env = environment_for(config, self.runtime_path, self.stand_in_host)
            worker = Worker(self.python, config, env, self.init_timeout)
            LOG.info(
                "%s: new warm worker (pid %s), init %.0f ms",
                config.name,
                worker.process.pid,
                (time.monotonic() - started) * 1000,
            )
            return worker
        except BaseException:
            self._release(config, None)
            raise

    def _release(self, config: Any, worker: Worker | None) -> None:
        pool = self._pool(config.full_path)
        with pool.ready:
            if worker is None:
                pool.size -= 1
            else:
                pool.idle.append(worker)
            pool.ready.notify()

    def invoke(
        self,
        function_config: Any,
        event: str,
        tenant_id: Any = None,
        *args: Any,
        stdout: Any = None,
        stderr: Any = None,
        **kwargs: Any,
    ) -> None:
        parsed = self.parity.fix_event(json.loads(event))
        response = self.parity.cached(function_config.name, parsed)
        if response is None:
            response = self._run(function_config, json.dumps(parsed))
            if b'"errorType"' not in response:
                self.parity.remember(function_config.name, parsed, response)
        if stdout is not None:  # LocalApigwService hands a StringIO-backed writer: text, not bytes
            stdout.write_str(response.decode())

    def _run(self, config: Any, event: str) -> bytes:
        worker = self._acquire(config)
        request_id = str(uuid.uuid4())
        try:
            response = worker.invoke(event, request_id, float(config.timeout))
        except TimeoutError:
            worker.stop()
            self._release(config, None)
            LOG.error("%s: Task timed out after %.2f seconds (request %s)", config.name, config.timeout, request_id)
            return json.dumps(
                {"errorMessage": f"Task timed out after {config.timeout:.2f} seconds", "errorType": "Sandbox.Timedout"}
            ).encode()
        except (WorkerDiedError, OSError) as exc:
            worker.stop()
            self._release(config, None)
            LOG.error("%s: worker failed: %s", config.name, exc)
            return json.dumps({"errorMessage": "Runtime exited", "errorType": "Runtime.ExitError"}).encode()
        self._release(config, worker)
        return response

    def shutdown(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            with pool.ready:
                workers, pool.idle = pool.idle, []
            for worker in workers:
                worker.stop()

    def clean_runtime_containers(self) -> None:
        """InvokeContext.__exit__ calls this on LambdaRuntime: here the "containers" are the workers."""
        self.shutdown()


def base64_when_not_utf8() -> None:
    """API Gateway hands a body it cannot treat as text to Lambda base64-encoded; SAM answers 502 instead."""
    from samcli.local.apigw import local_apigw_service

    construct = local_apigw_service.construct_v2_event_http

    def construct_v2_event_http(flask_request: Any, port: Any, binary_types: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return construct(flask_request, port, binary_types, *args, **kwargs)
        except UnicodeDecodeError:
            return construct(flask_request, port, ["*/*"], *args, **kwargs)

    local_apigw_service.construct_v2_event_http = construct_v2_event_http


def parameter_value(template: Path, overrides: dict[str, str], name: str) -> str | None:
    if name in overrides:
        return overrides[name]
    from samcli.yamlhelper import yaml_parse

    parameters = yaml_parse(template.read_text()).get("Parameters", {})
    default = parameters.get(name, {}).get("Default")
    return None if default is None else str(default)


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


def invoke_context(template: Path, env_vars: Path | None, overrides: dict[str, str]) -> Any:
    """SAM's InvokeContext for the template (functions, env vars, parameters), never touching Docker."""
    from samcli.commands.local.cli_common.invoke_context import InvokeContext

    InvokeContext._get_container_manager = staticmethod(lambda *a, **k: None)  # no Docker here
    return InvokeContext(
        template_file=str(template.resolve()),
        function_identifier=None,
        env_vars_file=str(env_vars) if env_vars else None,
        docker_volume_basedir=None,
        docker_network=None,
        log_file=None,
        skip_pull_image=True,
        debug_ports=None,
        debug_args=None,
        debugger_path=None,
        container_env_vars_file=None,
        parameter_overrides=overrides,
        aws_region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    )


def serve(
    template: Path,
    env_vars: Path | None,
    overrides: dict[str, str],
    host: str,
    port: int,
    python: str,
    max_workers: int,
    runtime_path: str | None = None,
) -> None:
    """Blocks until SIGINT/SIGTERM; stops every worker it started."""
    from samcli.commands.local.cli_common.invoke_context import ContainersMode
    from samcli.commands.local.lib.local_api_service import LocalApiService
    from samcli.local.docker.exceptions import ProcessSigTermException

    ttl = int(parameter_value(template, overrides, "AuthorizerCacheTtl") or 0)
    runtime = WorkerRuntime(python, ApiGatewayParity(ttl), max_workers=max_workers, runtime_path=runtime_path)
    base64_when_not_utf8()
    try:
        with invoke_context(template, env_vars, overrides) as context:
            context._lambda_runtimes = {ContainersMode.WARM: runtime, ContainersMode.COLD: runtime}
            LOG.info("Docker-free emulator: authorizer cache %ss, up to %s warm workers per function", ttl, max_workers)
            with contextlib.suppress(KeyboardInterrupt, ProcessSigTermException):  # a requested stop: no traceback
                LocalApiService(
                    lambda_invoke_context=context,
                    port=port,
                    host=host,
                    static_dir=None,
                    disable_authorizer=False,
                    ssl_context=None,
                ).start()
    finally:
        runtime.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve template.yaml's HTTP API without Docker.")
    parser.add_argument("--template", type=Path, default=Path(".aws-sam/build/template.yaml"))
    parser.add_argument("--env-vars", type=Path)
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument(
        "--python",
        default=os.environ.get("LAMBDA_PYTHON", "python3.12"),
        help="interpreter that runs the functions (Python 3.12, like the Lambda runtime)",
    )
    parser.add_argument("--max-workers", type=int, default=4)
    parser.add_argument(
        "--runtime-path", type=Path, help="packages the Lambda runtime adds (boto3): .local/lambda-runtime"
    )
    args = parser.parse_args()
    # SIGHUP (terminal closed) stops like SIGTERM; SAM's service turns SIGTERM into ProcessSigTermException.
    signal.signal(signal.SIGHUP, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    serve(
        args.template,
        args.env_vars,
        parse_overrides(args.parameter_overrides),
        args.host,
        args.port,
        args.python,
        args.max_workers,
        str(args.runtime_path.resolve()) if args.runtime_path else None,
    )


if __name__ == "__main__":
    main()
