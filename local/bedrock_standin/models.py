"""What the stand-in's "model" answers: the echo, tool calls with minimal inputs, tool results, images."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from . import guardrails, thinking


def words(text: str) -> int:
    return len(text.split())


def minimal_instance(schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """The smallest value the schema accepts: required properties only, enum first value, fixed scalars."""
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    if not isinstance(schema, dict) or depth > 20:
        return "echo"
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target: Any = root
        for key in schema["$ref"][2:].split("/"):
            target = target.get(key, {}) if isinstance(target, dict) else {}
        return minimal_instance(target, root, depth + 1)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            first = next((o for o in options if not (isinstance(o, dict) and o.get("type") == "null")), options[0])
            return minimal_instance(first, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        return {name: minimal_instance(properties.get(name, {}), root, depth + 1) for name in required}
    return {"string": "echo", "integer": 1, "number": 1.5, "boolean": True, "array": [], "null": None}.get(kind, "echo")


def tools_to_call(body: dict[str, Any], last_user: dict[str, Any], user_text: str) -> list[dict[str, Any]]:
    config = body.get("toolConfig") or {}
    tools = [t["toolSpec"] for t in config.get("tools") or [] if "toolSpec" in t]
    choice = config.get("toolChoice") or {"auto": {}}
    if not tools:
        return []
    if "tool" in choice:
        return [t for t in tools if t["name"] == choice["tool"]["name"]]
    if "any" in choice:
        return tools[:1]
    if any("toolResult" in b for b in last_user.get("content", [])):
        return []
    return [t for t in tools if t["name"] in user_text]


def answer(body: dict[str, Any], model_id: str = "") -> tuple[list[dict[str, Any]], str, dict[str, int]]:
    """(content blocks, stopReason, usage) for a valid Converse request."""
    content, reason, counts = plain_answer(body)
    if guardrails.intervention(body) is not None:
        text = guardrails.BLOCKED_MESSAGE
        return [{"text": text}], "guardrail_intervened", usage(counts["inputTokens"], words(text))
    if thinking.budget(body) and "claude" in model_id:
        last_user = next(m for m in reversed(body["messages"]) if m.get("role") == "user")
        user_text = " ".join(b["text"] for b in last_user.get("content", []) if "text" in b) or "the tool results"
        thought = thinking.block(user_text)
        spent = words(thought["reasoningContent"]["reasoningText"]["text"])
        return [thought, *content], reason, usage(counts["inputTokens"], counts["outputTokens"] + spent)
    return content, reason, counts


def plain_answer(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str, dict[str, int]]:
    messages = body["messages"]
    config = body.get("inferenceConfig") or {}
    system = [s.get("text", "") for s in body.get("system") or []]
    last_user = next(m for m in reversed(messages) if m.get("role") == "user")
    blocks = last_user.get("content", [])
    user_text = " ".join(b["text"] for b in blocks if "text" in b)
    texts = [b.get("text", "") for m in messages for b in m["content"] if "text" in b]
    texts += [
        c.get("text", "")
        for m in messages
        for b in m["content"]
        if "toolResult" in b
        for c in b["toolResult"]["content"]
    ]
    tokens_in = sum(words(t) for t in texts + system)

    calls = tools_to_call(body, last_user, user_text)
    if calls:
        content: list[dict[str, Any]] = [{"text": "calling " + ", ".join(t["name"] for t in calls)}]
        for tool in calls:
            use = {
                "toolUseId": f"tooluse_{secrets.token_hex(4)}",
                "name": tool["name"],
                "input": minimal_instance(tool.get("inputSchema", {}).get("json", {})),
            }
            content.append({"toolUse": use})
        tokens_out = words(content[0]["text"]) + len(calls)
        return content, "tool_use", usage(tokens_in, tokens_out)

    results = [b["toolResult"] for b in blocks if "toolResult" in b]
    if results:
        output = "echo: tool results: " + " | ".join(
            " ".join(c.get("text", "") for c in r.get("content", []) if "text" in c) for r in results
        )
    else:
        output = f"echo: {user_text}"
    for block in blocks:
        if "image" in block:
            size = len(base64.b64decode(block["image"]["source"]["bytes"]))
            output += f" [image: {block['image']['format']}, {size} bytes]"
    reason = "end_turn"
    for sequence in config.get("stopSequences") or []:
        if sequence and sequence in output:
            output, reason = output[: output.index(sequence)], "stop_sequence"
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and words(output) > max_tokens:
        output, reason = " ".join(output.split()[:max_tokens]), "max_tokens"
    return [{"text": output}], reason, usage(tokens_in, words(output))


def usage(tokens_in: int, tokens_out: int) -> dict[str, int]:
    return {"inputTokens": tokens_in, "outputTokens": tokens_out, "totalTokens": tokens_in + tokens_out}


def legacy_text(body: dict[str, Any]) -> tuple[str, str, int, int]:
    """Titan Text (InvokeModel `inputText`): the same echo rules, Titan's shape."""
    config = body.get("textGenerationConfig") or {}
    request = {
        "messages": [{"role": "user", "content": [{"text": str(body["inputText"])}]}],
        "inferenceConfig": {"maxTokens": config.get("maxTokenCount"), "stopSequences": config.get("stopSequences")},
    }
    content, reason, counts = answer(request)
    return content[0]["text"], reason, counts["inputTokens"], counts["outputTokens"]
