"""Prompt caching: cache points after the tool definitions and after the system prompt, when they are long
enough for the model to cache. The same prefix in a later request is then read from the cache (cheaper, faster).

Bedrock caches the prefix up to each cache point: tools first, then the system prompt, then the messages.
"""

from __future__ import annotations

import json
from typing import Any

import capabilities
from config import CHARS_PER_TOKEN

CACHE_POINT = {"cachePoint": {"type": "default"}}


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN


def with_cache_points(
    model_id: str, system: list[dict[str, Any]], tool_config: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(system blocks, toolConfig) with cache points where they pay off; the inputs are not modified."""
    caps = capabilities.of(model_id)
    if caps.cache_min_tokens is None:
        return system, tool_config
    prefix = 0
    tools = (tool_config or {}).get("tools") or []
    if caps.cache_tools and tools:
        prefix = estimate_tokens(json.dumps(tools, ensure_ascii=False))
        if prefix >= caps.cache_min_tokens:
            tool_config = {**(tool_config or {}), "tools": [*tools, CACHE_POINT]}
    if system:
        prefix += sum(estimate_tokens(block.get("text", "")) for block in system)
        if prefix >= caps.cache_min_tokens:
            system = [*system, CACHE_POINT]
    return system, tool_config
