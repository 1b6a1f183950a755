"""`stream: true` as server-sent events: `chat.completion.chunk`s framed exactly as OpenAI frames them.

An HTTP API buffers the whole response, so the events of one answer arrive together; clients rebuild the same
text, tool calls, finish_reason and usage as from a streamed answer. `ChunkEncoder` is the one place a chunk is
shaped: a real stream (ConverseStream) would feed it delta by delta.
"""

from __future__ import annotations

import json
from typing import Any

CONTENT_TYPE = "text/event-stream"


class ChunkEncoder:
    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self.base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        self.include_usage = include_usage
        self.tool_indexes: dict[str, int] = {}  # tool call id -> dense 0-based index, as OpenAI numbers them

    def event(self, payload: dict[str, Any] | str) -> str:
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        return f"data: {data}\n\n"  # the blank line ends the event: without it the SDK drops the event silently

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        body = {**self.base, "choices": [choice]}
        if self.include_usage:
            body["usage"] = None
        return self.event(body)

    def role(self) -> str:
        return self.chunk({"role": "assistant", "content": ""})

    def text(self, text: str) -> str:
        return self.chunk({"content": text})

    def reasoning(self, text: str) -> str:
        return self.chunk({"reasoning_content": text})

    def thinking_blocks(self, blocks: list[dict[str, Any]]) -> str:
        """Complete signed blocks (once each block has ended), for clients that send them back for tool use."""
        return self.chunk({"thinking_blocks": blocks})

    def tool_call_start(self, call_id: str, name: str) -> str:
        index = self.tool_indexes.setdefault(call_id, len(self.tool_indexes))
        call = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        return self.chunk({"tool_calls": [call]})

    def tool_arguments(self, call_id: str, fragment: str) -> str:
        return self.chunk({"tool_calls": [{"index": self.tool_indexes[call_id], "function": {"arguments": fragment}}]})

    def finish(self, finish_reason: str) -> str:
        return self.chunk({}, finish_reason)

    def usage(self, usage: dict[str, Any]) -> str:
        return self.event({**self.base, "choices": [], "usage": usage}) if self.include_usage else ""

    def done(self) -> str:
        return self.event("[DONE]")


def from_completion(completion: dict[str, Any], include_usage: bool) -> str:
    """A whole chat.completion as the event stream of the same answer."""
    encoder = ChunkEncoder(completion["id"], completion["created"], completion["model"], include_usage)
    choice = completion["choices"][0]
    message = choice["message"]
    events = [encoder.role()]
    if message.get("reasoning_content"):
        events.append(encoder.reasoning(message["reasoning_content"]))
    if message.get("thinking_blocks"):
        events.append(encoder.thinking_blocks(message["thinking_blocks"]))
    if message.get("content"):
        events.append(encoder.text(message["content"]))
    for call in message.get("tool_calls") or []:
        events.append(encoder.tool_call_start(call["id"], call["function"]["name"]))
        events.append(encoder.tool_arguments(call["id"], call["function"]["arguments"]))
    events += [encoder.finish(choice["finish_reason"]), encoder.usage(completion["usage"]), encoder.done()]
    return "".join(events)
