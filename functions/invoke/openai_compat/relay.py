"""A live ConverseStream as `chat.completion.chunk` events, each sent as soon as its delta arrives (the streaming
API). The ChunkEncoder frames them exactly as the buffered path frames a whole answer, and the reply assembled on
the way is the one Converse would have returned, so finish_reason, usage, metering and metrics are the same.

Structured output (`response_format`) streams the forced tool's input as `content` deltas; text the model writes
besides it is held back and dropped, as the buffered path drops it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import reasoning
from bedrock import Reply

from . import chat
from .streaming import ChunkEncoder


class Relay:
    def __init__(self, plan: chat.ChatPlan, encoder: ChunkEncoder, model_id: str) -> None:
        self.plan = plan
        self.encoder = encoder
        self.model_id = model_id
        # The answer's content blocks as Converse returns them (a tool's input stays JSON text until reply()).
        self.blocks: dict[int, dict[str, Any]] = {}
        self.kinds: dict[int, str] = {}  # toolUse block index -> call | structured | skipped
        self.held: list[str] = []  # with a response tool: text waits until the answer shows what it is
        self.calls = 0
        self.structured = False
        self.stop_reason = ""
        self.metadata: dict[str, Any] = {}

    def chunks(self, events: Iterable[dict[str, Any]]) -> Iterator[str]:
        for event in events:
            yield from self.on(event)

    def on(self, event: dict[str, Any]) -> Iterator[str]:
        if "messageStart" in event:
            yield self.encoder.role()
        elif "contentBlockStart" in event:
            yield from self.start(event["contentBlockStart"])
        elif "contentBlockDelta" in event:
            yield from self.delta(event["contentBlockDelta"])
        elif "contentBlockStop" in event:
            block = self.blocks.get(event["contentBlockStop"].get("contentBlockIndex", 0)) or {}
            if "reasoningContent" in block:
                yield self.encoder.thinking_blocks(reasoning.to_openai((block["reasoningContent"],)))
        elif "messageStop" in event:
            self.stop_reason = event["messageStop"].get("stopReason", "")
            if self.held and not self.structured:
                yield self.encoder.text("".join(self.held))
            yield self.encoder.finish(chat.finish_reason(self.stop_reason, bool(self.calls), self.structured))
        elif "metadata" in event:
            self.metadata = event["metadata"]
            yield self.encoder.usage(chat.usage(self.reply()))

    def start(self, start: dict[str, Any]) -> Iterator[str]:
        use = (start.get("start") or {}).get("toolUse")
        index = start.get("contentBlockIndex", 0)
        if not use:
            return
        self.blocks[index] = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"], "input": ""}}
        if use["name"] == self.plan.tools.response_tool:
            self.kinds[index] = "structured"
            self.structured = True
        elif self.plan.tools.max_calls is not None and self.calls >= self.plan.tools.max_calls:
            self.kinds[index] = "skipped"  # parallel_tool_calls=false: the buffered path returns the first only
        else:
            self.kinds[index] = "call"
            self.calls += 1
            yield self.encoder.tool_call_start(use["toolUseId"], use["name"])

    def delta(self, block: dict[str, Any]) -> Iterator[str]:
        index, delta = block.get("contentBlockIndex", 0), block.get("delta") or {}
        if "text" in delta:
            self.blocks.setdefault(index, {"text": ""})["text"] += delta["text"]
            if self.plan.tools.response_tool:
                self.held.append(delta["text"])
            elif delta["text"]:
                yield self.encoder.text(delta["text"])
        elif "toolUse" in delta and index in self.kinds:
            use = self.blocks[index]["toolUse"]
            fragment = delta["toolUse"].get("input", "")
            use["input"] += fragment
            if self.kinds[index] == "structured" and fragment:
                yield self.encoder.text(fragment)
            elif self.kinds[index] == "call" and fragment:
                yield self.encoder.tool_arguments(use["toolUseId"], fragment)
        elif "reasoningContent" in delta:
            thought = self.blocks.setdefault(index, {"reasoningContent": {}})["reasoningContent"]
            part = delta["reasoningContent"]
            if "text" in part or "signature" in part:
                text = thought.setdefault("reasoningText", {"text": "", "signature": ""})
                text["text"] += part.get("text", "")
                text["signature"] += part.get("signature", "")
                if part.get("text"):
                    yield self.encoder.reasoning(part["text"])
            if "redactedContent" in part:
                thought["redactedContent"] = thought.get("redactedContent", b"") + part["redactedContent"]

    def written(self) -> str:
        """Everything the model wrote so far: text, tool inputs, reasoning (for an estimate of its tokens)."""
        parts = []
        for block in self.blocks.values():
            if "text" in block:
                parts.append(block["text"])
            elif "toolUse" in block:
                parts.append(block["toolUse"]["input"])
            else:
                parts.append(block["reasoningContent"].get("reasoningText", {}).get("text", ""))
        return "".join(parts)

    def reply(self) -> Reply:
        """The answer as Converse would have returned it (for usage, metering, metrics)."""
        content = [self.blocks[index] for index in sorted(self.blocks)]
        for i, block in enumerate(content):
            if "toolUse" in block:
                try:
                    arguments = json.loads(block["toolUse"]["input"] or "{}")
                except ValueError:  # cut short mid-argument
                    arguments = {}
                content[i] = {"toolUse": {**block["toolUse"], "input": arguments}}
        response = {"output": {"message": {"content": content}}, "stopReason": self.stop_reason, **self.metadata}
        return Reply.from_converse(self.model_id, response)
