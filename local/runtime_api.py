"""Lambda's Runtime API, locally, with its streaming response mode: what the streaming function's own runtime
(functions/invoke/stream_runtime.py) talks to, so the function runs here exactly as its bootstrap runs it on AWS.

Written by hand: SAM CLI's emulators (and the Runtime Interface Emulator it uses in Docker) return whole
responses only. Implemented: GET /invocation/next, POST /invocation/{id}/response (streamed: chunked, in API
Gateway's integration format: JSON prelude, 8 NUL bytes, payload; or whole), POST /invocation/{id}/error and
/init/error. Runtime processes are started on demand, one per concurrent invocation (like warm sandboxes), up to
a maximum. When the reader of an invocation goes away, the response connection is closed, so the runtime's next
write fails, as it would when a client disconnects.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOG = logging.getLogger("runtime-api")
PREFIX = "/2018-06-01/runtime"
DELIMITER = b"\x00" * 8


class Invocation:
    """One request to the function: its event in, its output out as ("head" | "data" | "end" | "error", value)."""

    def __init__(self, event: dict[str, Any], timeout: float) -> None:
        self.id = str(uuid.uuid4())
        self.event = json.dumps(event).encode()
        self.deadline = time.time() + timeout
        self.output: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.cancelled = threading.Event()  # the reader went away


class RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer

    def log_message(self, fmt: str, *args: Any) -> None:
        LOG.debug(fmt, *args)

    def reply(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self.reply(404)
            return
        invocation = self.server.next_invocation()
        self.reply(
            200,
            invocation.event,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.id,
                "Lambda-Runtime-Deadline-Ms": str(int(invocation.deadline * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
            },
        )

    def do_POST(self) -> None:
        if self.path == f"{PREFIX}/init/error":
            LOG.error("%s: init failed: %s", self.server.name, self.read_body()[:2000].decode(errors="replace"))
            self.reply(202)
            return
        parts = self.path.removeprefix(f"{PREFIX}/invocation/").split("/")
        invocation = self.server.invocations.get(parts[0]) if len(parts) == 2 else None
        if invocation is None:
            self.reply(404)
            return
        if parts[1] == "error":
            invocation.output.put(("error", self.read_body()))
            self.reply(202)
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            if self.relay_chunks(invocation):
                self.reply(202)
        else:
            self.relay_whole(invocation, self.read_body())
            self.reply(202)

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def relay_whole(self, invocation: Invocation, body: bytes) -> None:
        if DELIMITER in body:
            prelude, _, payload = body.partition(DELIMITER)
            invocation.output.put(("head", json.loads(prelude)))
            invocation.output.put(("data", payload))
        else:  # a buffered proxy response: {"statusCode", "headers", "body"}
            response = json.loads(body or b"{}")
            invocation.output.put(("head", {"statusCode": response.get("statusCode", 200), **response}))
            invocation.output.put(("data", str(response.get("body", "")).encode()))
        invocation.output.put(("end", None))

    def relay_chunks(self, invocation: Invocation) -> bool:
        """Forward each chunk as it arrives; False when the reader left and the connection was closed."""
        pending, head_sent = b"", False
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                trailers = {}
                while (line := self.rfile.readline().strip()) != b"":
                    name, _, value = line.decode().partition(":")
                    trailers[name.strip().lower()] = value.strip()
                break
            data = self.rfile.read(size)
            self.rfile.readline()  # the CRLF after each chunk
            if invocation.cancelled.is_set():
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return False
            if head_sent:
                invocation.output.put(("data", data))
                continue
            pending += data
            if DELIMITER in pending:
                prelude, _, rest = pending.partition(DELIMITER)
                invocation.output.put(("head", json.loads(prelude)))
                head_sent = True
                if rest:
                    invocation.output.put(("data", rest))
        if "lambda-runtime-function-error-type" in trailers:
            invocation.output.put(("error", trailers["lambda-runtime-function-error-type"].encode()))
        else:
            invocation.output.put(("end", None))
        return True


class RuntimeApiServer(ThreadingHTTPServer):
    """The Runtime API of one function, and the runtime processes that poll it."""

    daemon_threads = True

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: str, max_processes: int) -> None:
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self.name = name
        self.function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.command = command
        self.env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server_address[1]}"}
        self.cwd = cwd
        self.max_processes = max_processes
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.invocations: dict[str, Invocation] = {}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.polling = 0  # runtime processes waiting in GET /next
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def next_invocation(self) -> Invocation:
        with self.lock:
            self.polling += 1
        invocation = self.pending.get()
        with self.lock:
            self.polling -= 1
        return invocation

    def invoke(self, event: dict[str, Any], timeout: float) -> Invocation:
        invocation = Invocation(event, timeout)
        self.invocations[invocation.id] = invocation
        with self.lock:
            self.processes = [p for p in self.processes if p.poll() is None]
            if self.polling <= self.pending.qsize() and len(self.processes) < self.max_processes:
                self.processes.append(self.start_process())
        self.pending.put(invocation)
        return invocation

    def done(self, invocation: Invocation) -> None:
        self.invocations.pop(invocation.id, None)

    def start_process(self) -> subprocess.Popen[bytes]:
        started = time.monotonic()
        # In this server's process group (make local stops the group), with no PR_SET_PDEATHSIG: that signal
        # follows the *thread* that started the child, here a request thread that ends with its request.
        process = subprocess.Popen(  # noqa: S603 - the function's own bootstrap
            self.command, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL
        )
        LOG.info(
            "%s: new runtime process (pid %s) in %.0f ms", self.name, process.pid, (time.monotonic() - started) * 1000
        )
        return process

    def stop(self) -> None:
        self.shutdown()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(2)
            except subprocess.TimeoutExpired:
                process.kill()
