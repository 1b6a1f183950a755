"""application/vnd.amazon.eventstream framing, as ConverseStream sends it: one frame per event."""

from __future__ import annotations

import binascii
import json
import re
import struct
from collections.abc import Iterator
from typing import Any

from . import thinking

WORD = re.compile(r"\S+\s*|\s+")  # words with their trailing space: the pieces join back to the text


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def event_frame(event_type: str, payload: dict[str, Any], message_type: str = "event") -> bytes:
    """One eventstream message: prelude (lengths + CRC), headers, JSON payload, message CRC."""
    kind = ":exception-type" if message_type == "exception" else ":event-type"
    headers = _header(kind, event_type) + _header(":content-type", "application/json")
    headers += _header(":message-type", message_type)
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def delta(index: int, payload: dict[str, Any]) -> bytes:
    return event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": payload})


def frames(
    content: list[dict[str, Any]],
    stop_reason: str,
    usage: dict[str, int],
    trace: dict[str, Any] | None = None,
    fail_after_tokens: int | None = None,
) -> Iterator[tuple[bool, bytes]]:
    """A Converse answer as ConverseStream sends it: (is this a token, frame). Text and reasoning come one word
    per delta; a tool's input JSON in two deltas. With `fail_after_tokens`, a modelStreamErrorException frame
    follows that many tokens (an error after the stream started)."""
    tokens = 0
    for is_token, frame in answer_frames(content, stop_reason, usage, trace):
        if is_token and fail_after_tokens is not None and tokens >= fail_after_tokens:
            broke = {"message": "Injected fault: the model's stream broke off", "originalStatusCode": 500}
            yield False, event_frame("modelStreamErrorException", broke, "exception")
            return
        tokens += is_token
        yield is_token, frame


def answer_frames(
    content: list[dict[str, Any]], stop_reason: str, usage: dict[str, int], trace: dict[str, Any] | None
) -> Iterator[tuple[bool, bytes]]:
    yield False, event_frame("messageStart", {"role": "assistant"})
    for index, block in enumerate(content):
        if "toolUse" in block:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            yield False, event_frame("contentBlockStart", {"contentBlockIndex": index, "start": start})
            arguments = json.dumps(use["input"])
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                yield True, delta(index, {"toolUse": {"input": piece}})
        elif "reasoningContent" in block:
            text = block["reasoningContent"]["reasoningText"]["text"]
            for word in WORD.findall(text):
                yield True, delta(index, {"reasoningContent": {"text": word}})
            yield False, delta(index, {"reasoningContent": {"signature": thinking.sign(text)}})
        else:
            for word in WORD.findall(block.get("text", "")) or [""]:
                yield True, delta(index, {"text": word})
        yield False, event_frame("contentBlockStop", {"contentBlockIndex": index})
    yield False, event_frame("messageStop", {"stopReason": stop_reason})
    metadata: dict[str, Any] = {"usage": usage, "metrics": {"latencyMs": 1}}
    if trace:
        metadata["trace"] = trace
    yield False, event_frame("metadata", metadata)


def stream_frames(content: list[dict[str, Any]], stop_reason: str, usage: dict[str, int]) -> bytes:
    """The whole stream at once (tests)."""
    return b"".join(frame for _, frame in frames(content, stop_reason, usage))
