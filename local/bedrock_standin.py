"""A local stand-in for the Bedrock Runtime API (moto's is not usable): Converse, ConverseStream, InvokeModel.

Written by hand because no library serves Bedrock's wire format: the rest-json routes, botocore's error
naming (`x-amzn-ErrorType`) and the `application/vnd.amazon.eventstream` framing of ConverseStream. Replies are
deterministic (`echo: <last user text>`, one token per word) and model ids named `fault.*` inject the failures
the gateway must map. Standard library only, so it starts in ~50 ms.
"""

from __future__ import annotations

import argparse
import binascii
import contextlib
import json
import os
import signal
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

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
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"


def words(text: str) -> int:
    return len(text.split())


def reply_for(
    messages: list[dict[str, Any]], system: list[str], max_tokens: int | None, stop: list[str]
) -> tuple[str, str, int, int]:
    """(output, stopReason, inputTokens, outputTokens): the echo of the last user text, token = word."""
    texts = [b.get("text", "") for m in messages for b in m.get("content", []) if isinstance(b, dict)]
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {"content": []})
    prompt = " ".join(b.get("text", "") for b in last_user.get("content", []) if isinstance(b, dict))
    output, reason = f"echo: {prompt}", "end_turn"
    for sequence in stop:
        if sequence and sequence in output:
            output, reason = output[: output.index(sequence)], "stop_sequence"
    if max_tokens is not None and words(output) > max_tokens:
        output, reason = " ".join(output.split()[:max_tokens]), "max_tokens"
    return output, reason, sum(words(t) for t in texts + system), words(output)


# ---- application/vnd.amazon.eventstream ------------------------------------------------------------------------


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def event_frame(event_type: str, payload: dict[str, Any]) -> bytes:
    """One eventstream message: prelude (lengths + CRC), headers, JSON payload, message CRC."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


class BedrockHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BedrockStandIn/1.0"
    disable_nagle_algorithm = True  # headers and body go out as two writes: without this, +40 ms (delayed ACK)
    hang_seconds = 10.0

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

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(
            status, json.dumps({"message": message}).encode(), headers={"x-amzn-ErrorType": f"{code}:{ERROR_NAMESPACE}"}
        )

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, b'{"status": "ok"}')
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
            self._error(status, code, f"Injected {code} for {model_id}")
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

    def _converse(self, model_id: str, body: dict[str, Any], stream: bool) -> None:
        messages = body.get("messages") or []
        if not messages or messages[0].get("role") != "user":
            self._error(400, "ValidationException", "A conversation must start with a user message.")
            return
        config = body.get("inferenceConfig") or {}
        system = [s.get("text", "") for s in body.get("system") or []]
        output, reason, tokens_in, tokens_out = reply_for(
            messages, system, config.get("maxTokens"), config.get("stopSequences") or []
        )
        usage = {"inputTokens": tokens_in, "outputTokens": tokens_out, "totalTokens": tokens_in + tokens_out}
        if not stream:
            self._send(
                200,
                json.dumps(
                    {
                        "output": {"message": {"role": "assistant", "content": [{"text": output}]}},
                        "stopReason": reason,
                        "usage": usage,
                        "metrics": {"latencyMs": 1},
                    }
                ).encode(),
            )
            return
        chunks = [output[i : i + 16] for i in range(0, len(output), 16)] or [""]
        frames = [event_frame("messageStart", {"role": "assistant"})]
        frames += [event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": c}}) for c in chunks]
        frames += [
            event_frame("contentBlockStop", {"contentBlockIndex": 0}),
            event_frame("messageStop", {"stopReason": reason}),
            event_frame("metadata", {"usage": usage, "metrics": {"latencyMs": 1}}),
        ]
        self._send(200, b"".join(frames), content_type="application/vnd.amazon.eventstream")

    def _invoke_model(self, model_id: str, body: dict[str, Any]) -> None:
        if "inputText" in body:  # Amazon Titan Text
            config = body.get("textGenerationConfig") or {}
            messages = [{"role": "user", "content": [{"text": str(body["inputText"])}]}]
            output, reason, tokens_in, tokens_out = reply_for(
                messages, [], config.get("maxTokenCount"), config.get("stopSequences") or []
            )
            titan_reason = {"end_turn": "FINISH", "max_tokens": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"}
            self._send(
                200,
                json.dumps(
                    {
                        "inputTextTokenCount": tokens_in,
                        "results": [
                            {"tokenCount": tokens_out, "outputText": output, "completionReason": titan_reason[reason]}
                        ],
                    }
                ).encode(),
            )
            return
        if "messages" in body:  # Amazon Nova / messages-v1 shape
            messages = [
                {"role": m.get("role"), "content": [c for c in m.get("content", []) if isinstance(c, dict)]}
                for m in body["messages"]
            ]
            config = body.get("inferenceConfig") or {}
            system = [s.get("text", "") for s in body.get("system") or []]
            output, reason, tokens_in, tokens_out = reply_for(
                messages,
                system,
                config.get("maxTokens") or config.get("max_new_tokens"),
                config.get("stopSequences") or [],
            )
            self._send(
                200,
                json.dumps(
                    {
                        "output": {"message": {"role": "assistant", "content": [{"text": output}]}},
                        "stopReason": reason,
                        "usage": {
                            "inputTokens": tokens_in,
                            "outputTokens": tokens_out,
                            "totalTokens": tokens_in + tokens_out,
                        },
                    }
                ).encode(),
            )
            return
        self._error(400, "ValidationException", "Malformed input request: expected inputText or messages.")


def serve(host: str, port: int, hang_seconds: float) -> ThreadingHTTPServer:
    """Start in a daemon thread (tests) and return the server; .shutdown() stops it."""
    BedrockHandler.hang_seconds = hang_seconds
    server = ThreadingHTTPServer((host, port), BedrockHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4567)
    parser.add_argument("--hang-seconds", type=float, default=10.0, help="how long fault.timeout waits")
    args = parser.parse_args()
    BedrockHandler.hang_seconds = args.hang_seconds
    server = ThreadingHTTPServer((args.host, args.port), BedrockHandler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"bedrock-standin: listening on http://{args.host}:{args.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
