"""A Lambda runtime loop that streams responses: the streaming function's bootstrap (stream_bootstrap runs it).

Written by hand: the Python runtime interface client (awslambdaric) only returns whole responses, and the Lambda
Web Adapter would add a web server and a layer to run what is one generator. This speaks the Runtime API
(`/2018-06-01/runtime/...`) with its streaming response mode: `Lambda-Runtime-Function-Response-Mode: streaming`
and a chunked body, in API Gateway's integration format (a JSON prelude with the status and headers, 8 NUL
bytes, then the payload as it is produced). Standard library only, so it adds nothing to the cold start.

The handler (`_HANDLER`, e.g. stream_app.handler) returns an object with `status`, `headers` and an iterable
`body` of bytes. When a chunk cannot be written (the connection went away), the body is closed, so a generator
can stop its own upstream work in `finally`.
"""

from __future__ import annotations

import base64
import http.client
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

API = "/2018-06-01/runtime"
DELIMITER = b"\x00" * 8  # between the JSON prelude and the payload
PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response"


class Context:
    """The Lambda context attributes handlers and Powertools read."""

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(exc: BaseException) -> bytes:
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    ).encode()


def connect() -> http.client.HTTPConnection:
    return http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"], timeout=None)


def post(path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
    connection = connect()
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        connection.getresponse().read()
    finally:
        connection.close()


def load_handler() -> Any:
    for path in (os.environ.get("LAMBDA_RUNTIME_DIR", "/var/runtime"), "/opt/python"):
        if path not in sys.path:
            sys.path.append(path)  # the runtime's boto3/botocore, then layers: after the function's own code
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    return getattr(importlib.import_module(module_name.replace("/", ".")), function_name)


def stream(request_id: str, response: Any) -> None:
    """POST the response in streaming mode; chunk by chunk, each flushed as soon as the handler yields it."""
    connection = connect()
    connection.putrequest("POST", f"{API}/invocation/{request_id}/response", skip_accept_encoding=True)
    connection.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.putheader("Content-Type", PRELUDE_TYPE)
    connection.putheader("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")
    connection.endheaders()
    body = response.body
    prelude = json.dumps({"statusCode": response.status, "headers": response.headers}).encode() + DELIMITER
    failure: BaseException | None = None
    try:
        connection.send(b"%x\r\n%s\r\n" % (len(prelude), prelude))
        for piece in body:
            if piece:
                connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    except OSError:  # the client (or API Gateway) went away: stop producing
        close = getattr(body, "close", None)
        if close:
            close()
        connection.close()
        return
    except Exception as exc:  # the handler's body failed after the status went out
        traceback.print_exc()
        failure = exc
    try:
        if failure is None:
            connection.send(b"0\r\n\r\n")
        else:
            error_body = base64.b64encode(error_payload(failure)).decode()
            connection.send(
                b"0\r\nLambda-Runtime-Function-Error-Type: %s\r\nLambda-Runtime-Function-Error-Body: %s\r\n\r\n"
                % (type(failure).__name__.encode(), error_body.encode())
            )
        connection.getresponse().read()
    except OSError:
        pass
    finally:
        connection.close()


def main() -> None:
    try:
        handler = load_handler()
    except Exception as exc:
        traceback.print_exc()
        post(f"{API}/init/error", error_payload(exc), {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportError"})
        sys.exit(1)
    waiter = connect()
    while True:
        waiter.request("GET", f"{API}/invocation/next")
        answer = waiter.getresponse()
        event = json.loads(answer.read() or b"null")
        request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
        if answer.headers.get("Lambda-Runtime-Trace-Id"):
            os.environ["_X_AMZN_TRACE_ID"] = answer.headers["Lambda-Runtime-Trace-Id"]
        context = Context(
            request_id,
            int(answer.headers.get("Lambda-Runtime-Deadline-Ms") or 0),
            answer.headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
        )
        try:
            response = handler(event, context)
        except Exception as exc:
            traceback.print_exc()
            post(f"{API}/invocation/{request_id}/error", error_payload(exc))
            continue
        stream(request_id, response)
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main()
