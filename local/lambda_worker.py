"""One warm "Lambda container" as a Python process: imports the handler once, then serves invocations.

Written by hand: SAM CLI only runs functions in Docker. The parent (emulator.py) talks to this process over two
pipes (fds in LAMBDA_WORKER_FDS) with length-prefixed JSON, so the function's own stdout/stderr stay free for
its logs, exactly as in Lambda. Standard library only: the function's code dir is the whole sys.path addition.
"""

from __future__ import annotations

import importlib
import json
import os
import struct
import sys
import time
import traceback
from typing import Any


class Context:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:123456789012:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def read_message(stream: Any) -> dict[str, Any] | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    return json.loads(stream.read(size))


def write_message(stream: Any, payload: bytes) -> None:
    stream.write(struct.pack(">I", len(payload)) + payload)
    stream.flush()


def main() -> None:
    inbound_fd, outbound_fd = (int(fd) for fd in os.environ.pop("LAMBDA_WORKER_FDS").split(","))
    inbound, outbound = os.fdopen(inbound_fd, "rb"), os.fdopen(outbound_fd, "wb")
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
    write_message(outbound, b'{"ready": true}')
    while (request := read_message(inbound)) is not None:
        try:
            result = handler(json.loads(request["event"]), Context(request["requestId"], request["deadlineMs"]))
            payload = json.dumps(result).encode()
        except Exception as exc:  # reported the way the Lambda runtime reports an unhandled error
            traceback.print_exc()
            payload = json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()
        sys.stdout.flush()
        sys.stderr.flush()
        write_message(outbound, payload)


if __name__ == "__main__":
    main()
