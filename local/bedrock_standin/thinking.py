"""Extended thinking, deterministically, on model ids containing `claude`: a reasoningContent block
`thinking about <last user text>` with a signature before the answer; Claude's rules for thinking requests, and
its check of the signatures sent back, with the messages Bedrock relays."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

MIN_BUDGET = 1024


def sign(text: str) -> str:
    return base64.b64encode(hashlib.sha256(b"standin-thinking:" + text.encode()).digest()).decode()


def budget(body: dict[str, Any]) -> int | None:
    thinking = (body.get("additionalModelRequestFields") or {}).get("thinking") or {}
    return thinking.get("budget_tokens") if thinking.get("type") == "enabled" else None


def check(model_id: str, body: dict[str, Any]) -> str | None:
    """The ValidationException message for a thinking request or history the model refuses, else None."""
    messages = body.get("messages") or []
    for i, message in enumerate(messages):
        for j, block in enumerate(message.get("content") or []):
            text = (block.get("reasoningContent") or {}).get("reasoningText")
            if text is not None and (
                message.get("role") != "assistant" or sign(text.get("text", "")) != text.get("signature")
            ):
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
    extra = body.get("additionalModelRequestFields") or {}
    if "thinking" not in extra:
        return None
    if "claude" not in model_id:
        return (
            "Malformed input request: extraneous key [thinking] is not permitted, please reformat your input and "
            "try again."
        )
    tokens = budget(body)
    if tokens is None:
        return None
    config = body.get("inferenceConfig") or {}
    if tokens < MIN_BUDGET:
        return f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_BUDGET}"
    if (config.get("maxTokens") or 0) <= tokens:
        return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation."
    if config.get("temperature") not in (None, 1):
        return "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation."
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    if "any" in choice or "tool" in choice:
        return "Thinking may not be enabled when tool_choice forces tool use."
    last = messages[-2] if len(messages) >= 2 else None
    uses_tools = last is not None and last.get("role") == "assistant" and any("toolUse" in b for b in last["content"])
    if uses_tools and "reasoningContent" not in last["content"][0]:
        kind = "tool_use" if "toolUse" in last["content"][0] else "text"
        return (
            f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
            f"`{kind}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block "
            "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include "
            "thinking blocks from previous turns. To avoid this requirement, disable `thinking`."
        )
    return None


def block(user_text: str) -> dict[str, Any]:
    text = f"thinking about {user_text}".strip()
    return {"reasoningContent": {"reasoningText": {"text": text, "signature": sign(text)}}}
