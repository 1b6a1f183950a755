"""Extended thinking (reasoning): the budget a request may ask for, the sampling rules that come with it, and the
signed thinking blocks that must travel back to the model unchanged during tool use.

Thinking blocks leave as OpenAI-style `thinking_blocks` (`{"type": "thinking", "thinking", "signature"}` or
`{"type": "redacted_thinking", "data"}`, the shape other OpenAI-compatible gateways use) and come back the same way.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import capabilities
from config import EFFORT_BUDGETS, MIN_REASONING_TOKENS, settings
from errors import GatewayError


def invalid(param: str, reason: str) -> GatewayError:
    return GatewayError(400, f"{param}: {reason}", kind="invalid_request_error", param=param, code="invalid_reasoning")


def effort_budget(effort: str | None) -> int | None:
    """OpenAI's reasoning_effort as a thinking budget; None (or "none") means no thinking."""
    if effort in (None, "none"):
        return None
    if effort not in EFFORT_BUDGETS:
        raise invalid("reasoning_effort", f"must be one of {', '.join(EFFORT_BUDGETS)} or none (got {effort!r})")
    return min(EFFORT_BUDGETS[effort], settings.max_reasoning_tokens)


def check(
    model_id: str,
    budget: int,
    *,
    param: str,
    temperature: float | None,
    top_p: float | None,
    forced_tool: str | None,
) -> int:
    """Refuse what the model would refuse with thinking on, naming the field; returns the budget."""
    if not capabilities.of(model_id).reasoning:
        raise invalid(param, f"the model '{model_id[:200]}' has no extended thinking (reasoning)")
    if not MIN_REASONING_TOKENS <= budget <= settings.max_reasoning_tokens:
        raise invalid(
            param,
            f"the thinking budget must be {MIN_REASONING_TOKENS}-{settings.max_reasoning_tokens} tokens (got {budget})",
        )
    if temperature is not None and temperature != 1:
        raise invalid("temperature", "must be 1 or left out when reasoning is on (the model's rule)")
    if top_p is not None and not 0.95 <= top_p <= 1:
        raise invalid("top_p", "must be 0.95-1 or left out when reasoning is on (the model's rule)")
    if forced_tool:
        raise invalid(forced_tool, "cannot force a tool while reasoning is on (the model's rule); use tool_choice auto")
    return budget


def request_fields(budget: int) -> dict[str, Any]:
    """Converse additionalModelRequestFields for Claude's extended thinking."""
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def text_of(blocks: tuple[dict[str, Any], ...]) -> str:
    return "".join((b.get("reasoningText") or {}).get("text", "") for b in blocks)


def to_openai(blocks: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Converse reasoningContent blocks -> thinking_blocks."""
    out = []
    for block in blocks:
        if "reasoningText" in block:
            text = block["reasoningText"]
            out.append({"type": "thinking", "thinking": text.get("text", ""), "signature": text.get("signature", "")})
        elif "redactedContent" in block:
            out.append({"type": "redacted_thinking", "data": base64.b64encode(block["redactedContent"]).decode()})
    return out


def from_openai(blocks: Any, where: str) -> list[dict[str, Any]]:
    """thinking_blocks of an assistant message -> Converse reasoningContent blocks, unchanged."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        raise invalid(where, "must be a list of thinking blocks")
    out = []
    for k, block in enumerate(blocks):
        at = f"{where}[{k}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "thinking":
            text, signature = block.get("thinking"), block.get("signature")
            if not isinstance(text, str) or not isinstance(signature, str):
                raise invalid(at, "a thinking block needs the strings 'thinking' and 'signature', as received")
            out.append({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}})
        elif kind == "redacted_thinking":
            try:
                data = base64.b64decode(str(block.get("data")), validate=True)
            except binascii.Error:
                raise invalid(f"{at}.data", "must be the base64 data as received") from None
            out.append({"reasoningContent": {"redactedContent": data}})
        else:
            raise invalid(f"{at}.type", "must be 'thinking' or 'redacted_thinking'")
    return out
