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
from bedrock import Reply, ToolUse

from . import chat
from .streaming import ChunkEncoder


class Relay:
    def __init__(self, plan: chat.ChatPlan, encoder: ChunkEncoder, model_id: str) -> None:
        self.plan = plan
        self.encoder = encoder
        self.model_id = model_id
        self.texts: list[str] = []
        self.held: list[str] = []  # with a response tool: text waits until the answer shows what it is
        self.kinds: dict[int, str] = {}  # block index -> call | structured | skipped | reasoning
        self.uses: dict[int, dict[str, Any]] = {}  # toolUse blocks: id, name, input (JSON text so far)
        self.thoughts: dict[int, dict[str, Any]] = {}  # reasoningContent blocks as Converse returns them
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
            index = event["contentBlockStop"].get("contentBlockIndex", 0)
            if self.kinds.get(index) == "reasoning":
                thought = self.thoughts[index]
                yield self.encoder.thinking_blocks(reasoning.to_openai((thought,)))
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
        self.uses[index] = {"id": use["toolUseId"], "name": use["name"], "input": ""}
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
            self.texts.append(delta["text"])
            if self.plan.tools.response_tool:
                self.held.append(delta["text"])
            elif delta["text"]:
                yield self.encoder.text(delta["text"])
        elif "toolUse" in delta and index in self.uses:
            fragment = delta["toolUse"].get("input", "")
            self.uses[index]["input"] += fragment
            kind = self.kinds.get(index)
            if kind == "structured" and fragment:
                yield self.encoder.text(fragment)
            elif kind == "call" and fragment:
                yield self.encoder.tool_arguments(self.uses[index]["id"], fragment)
        elif "reasoningContent" in delta:
            self.kinds[index] = "reasoning"
            thought = self.thoughts.setdefault(index, {})
            part = delta["reasoningContent"]
            if "text" in part:
                text = thought.setdefault("reasoningText", {"text": "", "signature": ""})
                text["text"] += part["text"]
                yield self.encoder.reasoning(part["text"])
            if "signature" in part:
                thought.setdefault("reasoningText", {"text": "", "signature": ""})["signature"] += part["signature"]
            if "redactedContent" in part:
                thought["redactedContent"] = thought.get("redactedContent", b"") + part["redactedContent"]

    def written(self) -> str:
        """Everything the model wrote so far: text, tool inputs, reasoning (for an estimate of its tokens)."""
        thoughts = (t.get("reasoningText", {}).get("text", "") for t in self.thoughts.values())
        return "".join(self.texts) + "".join(u["input"] for u in self.uses.values()) + "".join(thoughts)

    def reply(self) -> Reply:
        """The answer as Converse would have returned it (for usage, metering, metrics)."""
        usage = self.metadata.get("usage") or {}
        uses = []
        for index in sorted(self.uses):
            use = self.uses[index]
            try:
                arguments = json.loads(use["input"] or "{}")
            except ValueError:
                arguments = {}
            uses.append(ToolUse(id=use["id"], name=use["name"], input=arguments))
        return Reply(
            model_id=self.model_id,
            output="".join(self.texts),
            stop_reason=self.stop_reason,
            input_tokens=usage.get("inputTokens", 0),
            output_tokens=usage.get("outputTokens", 0),
            total_tokens=usage.get("totalTokens", 0),
            latency_ms=(self.metadata.get("metrics") or {}).get("latencyMs", 0),
            tool_uses=tuple(uses),
            reasoning=tuple(self.thoughts[i] for i in sorted(self.thoughts)),
            cache_read_tokens=usage.get("cacheReadInputTokens", 0),
            cache_write_tokens=usage.get("cacheWriteInputTokens", 0),
            guardrail_trace=self.metadata.get("trace"),
        )
