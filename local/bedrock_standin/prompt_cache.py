"""Prompt caching, deterministically: the prefix up to the last cache point (tool definitions, then the system
prompt) is written to the cache the first time it is seen and read from it afterwards, for the life of the
process. Tokens are words, as everywhere in the stand-in."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

_seen: set[str] = set()
_lock = threading.Lock()


def cached_prefix(body: dict[str, Any]) -> tuple[str, int, int] | None:
    """(prefix digest, its tokens, of which system-prompt tokens) up to the last cache point, or None."""
    tools = (body.get("toolConfig") or {}).get("tools") or []
    system = body.get("system") or []
    prefix: list[Any] = []
    tokens = system_tokens = 0
    found = False
    for tool in tools:
        if "cachePoint" in tool:
            found = True
            break
    if found:
        specs = [t for t in tools if "toolSpec" in t]
        prefix.append(specs)
        tokens = len(json.dumps(specs).split())
    if any("cachePoint" in block for block in system):
        found = True
        last = max(i for i, block in enumerate(system) if "cachePoint" in block)
        texts = [block.get("text", "") for block in system[:last]]
        prefix.append(texts)
        system_tokens = sum(len(t.split()) for t in texts)
        tokens += system_tokens
    if not found:
        return None
    return hashlib.sha256(json.dumps(prefix).encode()).hexdigest(), tokens, system_tokens


def account(body: dict[str, Any], usage: dict[str, int]) -> dict[str, int]:
    """usage with the cached prefix moved out of inputTokens into cacheWrite/cacheReadInputTokens."""
    found = cached_prefix(body)
    if found is None:
        return usage
    digest, tokens, system_tokens = found
    with _lock:
        hit = digest in _seen
        _seen.add(digest)
    # the stand-in's inputTokens count system words but not tool definitions
    input_tokens = max(usage["inputTokens"] - system_tokens, 0)
    read, write = (tokens, 0) if hit else (0, tokens)
    return {
        "inputTokens": input_tokens,
        "outputTokens": usage["outputTokens"],
        "totalTokens": input_tokens + usage["outputTokens"] + read + write,
        "cacheReadInputTokens": read,
        "cacheWriteInputTokens": write,
    }
