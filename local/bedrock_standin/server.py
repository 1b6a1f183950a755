"""The HTTP side: Bedrock Runtime's rest-json routes, error shapes and faults, on a threading server."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import unquote

from . import embeddings, guardrails, models, prompt_cache, rules, thinking
from .eventstream import frames

# model id -> (HTTP status, botocore error code) exactly as Bedrock sends them
FAULTS: dict[str, tuple[int, str]] = {
    "fault.throttling": (429, "ThrottlingException"),
    "fault.quota": (400, "ServiceQuotaExceededException"),
    "fault.validation": (400, "ValidationException"),
    "fault.modeltimeout": (408, "ModelTimeoutException"),
    "fault.unavailable": (503, "ServiceUnavailableException"),
    "fault.notready": (429, "ModelNotReadyException"),
    "fault.accessdenied": (403, "AccessDeniedException"),
    "fault.notfound": (404, "ResourceNotFoundException"),
    "fault.internal": (500, "InternalServerException"),
}
HANG_MODEL = "fault.timeout"
MIDSTREAM_MODEL = "fault.midstream"  # ConverseStream breaks off after a few words (Converse answers normally)
MIDSTREAM_AFTER_TOKENS = 3
SLOW_STREAM_WORD = "slow-stream"  # in the user text: ConverseStream waits SLOW_STREAM_DELAY before each token
SLOW_STREAM_DELAY = 0.05
STREAM_LOG_SIZE = 50
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
TITAN_REASONS = {"end_turn": "FINISH", "max_tokens": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"}


class BedrockHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BedrockStandIn/1.0"
    disable_nagle_algorithm = True  # headers and body go out as two writes: without this, +40 ms (delayed ACK)
    hang_seconds = 10.0
    embed_delay = 0.0  # seconds each embeddings call waits (benchmarks: a model's latency)
    token_delay = 0.0  # seconds per output token: before each ConverseStream delta; Converse waits for all of them
    streams: ClassVar[
        list[dict[str, Any]]
    ] = []  # the last streams: tokens sent, whether the reader went away (GET /streams)
    streams_lock = threading.Lock()

    def log_message(self, fmt: str, *args: Any) -> None:
        if os.environ.get("STANDIN_VERBOSE"):
            sys.stderr.write("bedrock-standin: " + fmt % args + "\n")

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", f"standin-{time.monotonic_ns()}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(200, json.dumps(payload).encode(), headers=headers)

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(
            status, json.dumps({"message": message}).encode(), headers={"x-amzn-ErrorType": f"{code}:{ERROR_NAMESPACE}"}
        )

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, b'{"status": "ok"}')
        elif self.path == "/streams":  # the stand-in's own report (not Bedrock's): proves a disconnect stopped it
            with self.streams_lock:
                self._send(200, json.dumps(self.streams).encode())
        else:
            self._error(404, "UnknownOperationException", "Unknown operation")

    def do_POST(self) -> None:
        parts = self.path.split("?")[0].split("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(parts) != 4 or parts[1] != "model" or parts[3] not in ("converse", "converse-stream", "invoke"):
            self._error(404, "UnknownOperationException", "Unknown operation")
            return
        model_id, operation = unquote(parts[2]), parts[3]
        if model_id == HANG_MODEL:
            time.sleep(self.hang_seconds)  # longer than the gateway's local read timeout
        elif model_id in FAULTS:
            status, code = FAULTS[model_id]
            self._error(status, code, f"Injected fault for {model_id}")
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(
                400, "ValidationException", "Malformed input request, please reformat your input and try again."
            )
            return
        if operation == "invoke":
            self._invoke_model(model_id, body)
        else:
            self._converse(model_id, body, stream=operation == "converse-stream")

    def _stream(self, model_id: str, frames_: Any, delay: float) -> None:
        """Send frames as they come, chunked, waiting token_delay before each token; stop if the reader left."""
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", f"standin-{time.monotonic_ns()}")
        self.end_headers()
        record = {"modelId": model_id, "tokensSent": 0, "completed": False, "readerLeft": False}
        with self.streams_lock:
            self.streams[:] = [*self.streams[-(STREAM_LOG_SIZE - 1) :], record]
        try:
            for is_token, frame in frames_:
                if is_token and delay:
                    time.sleep(delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
                record["tokensSent"] += is_token
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            record["completed"] = True
        except OSError:  # the gateway closed the stream: the model stops writing (and billing)
            record["readerLeft"] = True
            self.close_connection = True

    def _converse(self, model_id: str, body: dict[str, Any], stream: bool) -> None:
        problem = rules.check_converse(body) or thinking.check(model_id, body)
        if problem:
            self._error(400, "ValidationException", problem)
            return
        refused = guardrails.config_error(body)
        if refused:
            self._error(*refused)
            return
        content, reason, usage = models.answer(body, model_id)
        usage = prompt_cache.account(body, usage)
        trace = guardrails.intervention(body)
        if stream:
            fail_after = MIDSTREAM_AFTER_TOKENS if model_id == MIDSTREAM_MODEL else None
            slow = SLOW_STREAM_WORD in json.dumps(body.get("messages"))
            delay = max(self.token_delay, SLOW_STREAM_DELAY) if slow else self.token_delay
            self._stream(model_id, frames(content, reason, usage, trace, fail_after), delay)
            return
        time.sleep(self.token_delay * usage["outputTokens"])  # a whole answer takes as long as its tokens
        response: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": reason,
            "usage": usage,
            "metrics": {"latencyMs": 1},
        }
        if trace:
            response["trace"] = trace
        self._json(response)

    def _invoke_model(self, model_id: str, body: dict[str, Any]) -> None:
        if embeddings.family(model_id):
            time.sleep(self.embed_delay)
            result = embeddings.embed(model_id, body)
            if isinstance(result, str):
                self._error(400, "ValidationException", result)
                return
            answer, tokens = result
            self._json(answer, headers={"X-Amzn-Bedrock-Input-Token-Count": str(tokens)})
        elif "inputText" in body:  # Amazon Titan Text
            output, reason, tokens_in, tokens_out = models.legacy_text(body)
            self._json(
                {
                    "inputTextTokenCount": tokens_in,
                    "results": [
                        {"tokenCount": tokens_out, "outputText": output, "completionReason": TITAN_REASONS[reason]}
                    ],
                }
            )
        elif "messages" in body:  # Amazon Nova / messages-v1 shape
            request = {
                "messages": [
                    {"role": m.get("role"), "content": [c for c in m.get("content", []) if isinstance(c, dict)]}
                    for m in body["messages"]
                ],
                "system": body.get("system"),
                "inferenceConfig": {
                    "maxTokens": (body.get("inferenceConfig") or {}).get("maxTokens")
                    or (body.get("inferenceConfig") or {}).get("max_new_tokens"),
                    "stopSequences": (body.get("inferenceConfig") or {}).get("stopSequences"),
                },
            }
            problem = rules.check_converse(request)
            if problem:
                self._error(400, "ValidationException", problem)
                return
            content, reason, usage = models.answer(request)
            self._json(
                {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": reason, "usage": usage}
            )
        else:
            self._error(400, "ValidationException", "Malformed input request: expected inputText or messages.")


def serve(
    host: str, port: int, hang_seconds: float, embed_delay_ms: float = 0, token_delay_ms: float = 0
) -> ThreadingHTTPServer:
    """Start in a daemon thread (tests) and return the server; .shutdown() stops it."""
    BedrockHandler.hang_seconds = hang_seconds
    BedrockHandler.embed_delay = embed_delay_ms / 1000
    BedrockHandler.token_delay = token_delay_ms / 1000
    server = ThreadingHTTPServer((host, port), BedrockHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="Local stand-in for the Bedrock Runtime API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4567)
    parser.add_argument("--hang-seconds", type=float, default=10.0, help="how long fault.timeout waits")
    parser.add_argument(
        "--embed-delay-ms",
        type=float,
        default=float(os.environ.get("STANDIN_EMBED_DELAY_MS", "0")),
        help="latency of each embeddings call (default: $STANDIN_EMBED_DELAY_MS or 0)",
    )
    parser.add_argument(
        "--token-delay-ms",
        type=float,
        default=float(os.environ.get("LOCAL_BEDROCK_TOKEN_DELAY_MS", "0")),
        help="ConverseStream's wait before each token (default: $LOCAL_BEDROCK_TOKEN_DELAY_MS or 0)",
    )
    args = parser.parse_args()
    BedrockHandler.hang_seconds = args.hang_seconds
    BedrockHandler.embed_delay = args.embed_delay_ms / 1000
    BedrockHandler.token_delay = args.token_delay_ms / 1000
    server = ThreadingHTTPServer((args.host, args.port), BedrockHandler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"bedrock-standin: listening on http://{args.host}:{args.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()
