"""The streaming API (EnableStreaming) locally: API Gateway's REST API with response streaming, in front of the
streaming function run by its own runtime (runtime_api.py), behind the same authorizer function.

Written by hand: `sam local start-api` buffers every response and ignores template Conditions. This serves the
StreamFunction's `Api` routes from the built template with REST API semantics: no Authorization header -> 401
before any authorizer call; the authorizer (a warm worker, as in emulator.py) gets a REST REQUEST event and
answers an IAM policy, cached per header for AuthorizerCacheTtl; a deny -> 403; an unknown route -> 403 "Missing
Authentication Token"; the function's status and headers are sent as soon as its prelude arrives, then each
chunk as it is written (chunked transfer encoding). A client that disconnects makes the function's next write
fail, which closes its Bedrock stream.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from emulator import ApiGatewayParity, WorkerRuntime, environment_for, invoke_context, parse_overrides
from runtime_api import RuntimeApiServer

LOG = logging.getLogger("stream-api")
STAGE = "stream"
ACCOUNT = "123456789012"
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


class AuthorizerFailedError(RuntimeError):
    pass


class StreamingApi:
    """Routes, the authorizer and its cache, and the streaming function's Runtime API."""

    def __init__(
        self,
        routes: dict[tuple[str, str], str],
        authorize: Any,
        runtime: RuntimeApiServer,
        timeout: float,
        ttl: int,
    ) -> None:
        self.routes = routes
        self._authorize = authorize
        self.runtime = runtime
        self.timeout = timeout
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def policy(self, header: str, event: dict[str, Any]) -> dict[str, Any]:
        """The authorizer's IAM policy for this Authorization header, from the cache while it is fresh."""
        with self._lock:
            hit = self._cache.get(header)
            if hit and hit[0] > time.monotonic():
                return hit[1]
        raw = self._authorize(event)
        policy = json.loads(raw)
        if "policyDocument" not in policy:  # an unhandled error in the authorizer: API Gateway answers 500
            raise AuthorizerFailedError(raw[:500].decode(errors="replace"))
        if self.ttl > 0:
            with self._lock:
                self._cache[header] = (time.monotonic() + self.ttl, policy)
        return policy


def allows(policy: dict[str, Any], method_arn: str) -> bool:
    statements = policy["policyDocument"].get("Statement") or []
    matching = [s for s in statements if matches(s.get("Resource"), method_arn)]
    return bool(matching) and all(s.get("Effect") == "Allow" for s in matching)


def matches(resources: Any, arn: str) -> bool:
    for resource in resources if isinstance(resources, list) else [resources]:
        if isinstance(resource, str) and (
            resource == arn or (resource.endswith("*") and arn.startswith(resource[:-1]))
        ):
            return True
    return False


class StreamingApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StreamingApiServer

    def log_message(self, fmt: str, *args: Any) -> None:
        LOG.info("%s %s", self.address_string(), fmt % args)

    def do_GET(self) -> None:
        self.serve()

    def do_POST(self) -> None:
        self.serve()

    def do_PUT(self) -> None:
        self.serve()

    def do_DELETE(self) -> None:
        self.serve()

    def answer(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", self.request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def serve(self) -> None:
        api = self.server.api
        self.request_id = str(uuid.uuid4())
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if (self.command, path) not in api.routes:
            self.answer(403, {"message": "Missing Authentication Token"})
            return
        header = next((v for k, v in self.headers.items() if k.lower() == "authorization"), None)
        if not header:
            self.answer(401, {"message": "Unauthorized"})
            return
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:local/{STAGE}/{self.command}{path}"
        event = self.event(path, query, body)
        try:
            policy = api.policy(header, {**event, "type": "REQUEST", "methodArn": method_arn, "body": None})
        except AuthorizerFailedError as exc:
            LOG.error("authorizer failed: %s", exc)
            self.answer(500, {"message": None})
            return
        if not allows(policy, method_arn):
            self.answer(403, {"message": "User is not authorized to access this resource with an explicit deny"})
            return
        event["requestContext"]["authorizer"] = {**(policy.get("context") or {}), "principalId": policy["principalId"]}
        self.relay(api.runtime.invoke(event, api.timeout))

    def event(self, path: str, query: str, body: bytes) -> dict[str, Any]:
        """A REST API (payload 1.0) proxy event, as API Gateway builds it."""
        from urllib.parse import parse_qs

        multi = parse_qs(query, keep_blank_values=True) if query else None
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        headers = dict(self.headers.items())
        return {
            "resource": path,
            "path": path,
            "httpMethod": self.command,
            "headers": headers,
            "multiValueHeaders": {k: self.headers.get_all(k) for k in headers},
            "queryStringParameters": {k: v[-1] for k, v in multi.items()} if multi else None,
            "multiValueQueryStringParameters": multi,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": path,
                "httpMethod": self.command,
                "path": f"/{STAGE}{path}",
                "stage": STAGE,
                "requestId": self.request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": self.client_address[0], "userAgent": self.headers.get("User-Agent")},
                "apiId": "local",
                "accountId": ACCOUNT,
                "protocol": self.request_version,
            },
            "body": text or None,
            "isBase64Encoded": encoded,
        }

    def relay(self, invocation: Any) -> None:
        """The function's status and headers once its prelude arrives, then each chunk as it arrives."""
        api = self.server.api
        try:
            kind, value = invocation.output.get(timeout=api.timeout)
        except queue.Empty:
            invocation.cancelled.set()
            self.answer(504, {"message": "Endpoint request timed out"})
            return
        if kind != "head":
            LOG.error("stream function failed before its first byte: %s", str(value)[:500])
            self.answer(502, {"message": "Internal server error"})
            api.runtime.done(invocation)
            return
        self.send_response(int(value.get("statusCode", 200)))
        for name, header in (value.get("headers") or {}).items():
            self.send_header(name, str(header))
        self.send_header("x-amzn-RequestId", self.request_id)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self.wfile.flush()
            while True:
                remaining = invocation.deadline - time.time()
                kind, value = invocation.output.get(timeout=max(remaining, 0.001))
                if kind == "data":
                    if value:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(value), value))
                        self.wfile.flush()
                    continue
                if kind == "error":  # after the first byte: the stream just ends, as API Gateway ends it
                    LOG.error("stream function failed mid-stream: %s", str(value)[:500])
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                break
        except (OSError, queue.Empty):  # the client went away, or the function ran out of time
            invocation.cancelled.set()
            self.close_connection = True
        finally:
            api.runtime.done(invocation)


class StreamingApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: StreamingApi) -> None:
        super().__init__(address, StreamingApiHandler)
        self.api = api


def routes_of(template: Path, function: str) -> dict[tuple[str, str], str]:
    """The function's `Api` events: (METHOD, path) -> event name."""
    import yaml

    resources = yaml.safe_load(template.read_text())["Resources"]
    events = resources[function]["Properties"].get("Events") or {}
    return {
        (e["Properties"]["Method"].upper(), e["Properties"]["Path"]): name
        for name, e in events.items()
        if e.get("Type") == "Api"
    }


def serve(args: argparse.Namespace) -> None:
    overrides = parse_overrides(args.parameter_overrides)
    runtime_path = str(args.runtime_path.resolve()) if args.runtime_path else None
    from samcli.commands.local.cli_common.invoke_context import ContainersMode

    workers = WorkerRuntime(
        args.python, ApiGatewayParity(0), runtime_path=runtime_path, stand_in_host=args.stand_in_host
    )
    with invoke_context(args.template, args.env_vars, overrides) as context:
        context._lambda_runtimes = {ContainersMode.WARM: workers, ContainersMode.COLD: workers}  # no Docker
        runner = context.local_lambda_runner
        stream_config = runner.get_invoke_config(runner.provider.get(args.function))
        authorizer_config = runner.get_invoke_config(runner.provider.get(args.authorizer))
    env = environment_for(stream_config, runtime_path, stand_in_host=args.stand_in_host)
    env["PATH"] = f"{Path(args.python).parent}{os.pathsep}{env['PATH']}"  # `python3` in the bootstrap: 3.12
    env["LAMBDA_RUNTIME_DIR"] = runtime_path or ""
    wrapper = Path(env.get("AWS_LAMBDA_EXEC_WRAPPER", "bootstrap")).name
    runtime = RuntimeApiServer(
        args.function, [str(Path(stream_config.code_abs_path) / wrapper)], env, stream_config.code_abs_path, 4
    )
    api = StreamingApi(
        routes_of(args.template, args.function),
        lambda event: workers._run(authorizer_config, json.dumps(event)),
        runtime,
        float(stream_config.timeout),
        args.authorizer_ttl,
    )
    server = StreamingApiServer((args.host, args.port), api)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=server.shutdown).start())
    LOG.info(
        "streaming API on http://%s:%s (no /%s stage prefix locally): %s",
        args.host,
        args.port,
        STAGE,
        sorted(api.routes),
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        server.server_close()
        runtime.stop()
        workers.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the streaming REST API of template.yaml, streaming.")
    parser.add_argument("--template", type=Path, required=True, help="the built template (with StreamFunction)")
    parser.add_argument("--env-vars", type=Path)
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--python", default=os.environ.get("LAMBDA_PYTHON", "python3.12"))
    parser.add_argument("--runtime-path", type=Path, help="packages the Lambda runtime adds (boto3)")
    parser.add_argument("--function", default="StreamFunction")
    parser.add_argument("--authorizer", default="AuthorizerFunction")
    parser.add_argument("--authorizer-ttl", type=int, default=0, help="AuthorizerCacheTtl")
    parser.add_argument("--stand-in-host", default="127.0.0.1", help="where the functions reach the stand-ins")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    serve(args)


if __name__ == "__main__":
    main()
