"""application/vnd.amazon.eventstream framing, as ConverseStream sends it."""

from __future__ import annotations

import binascii
import json
import struct
from typing import Any


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


def stream_frames(content: list[dict[str, Any]], stop_reason: str, usage: dict[str, int]) -> bytes:
    """A whole Converse answer as the frames ConverseStream would send for it (text in 16-character deltas)."""
    frames = [event_frame("messageStart", {"role": "assistant"})]
    for index, block in enumerate(content):
        if "toolUse" in block:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            frames.append(event_frame("contentBlockStart", {"contentBlockIndex": index, "start": start}))
            delta = {"toolUse": {"input": json.dumps(use["input"])}}
            frames.append(event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": delta}))
        else:
            text = block.get("text", "")
            for piece in [text[i : i + 16] for i in range(0, len(text), 16)] or [""]:
                frames.append(event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}))
        frames.append(event_frame("contentBlockStop", {"contentBlockIndex": index}))
    frames += [
        event_frame("messageStop", {"stopReason": stop_reason}),
        event_frame("metadata", {"usage": usage, "metrics": {"latencyMs": 1}}),
    ]
    return b"".join(frames)
