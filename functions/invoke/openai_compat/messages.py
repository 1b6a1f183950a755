"""OpenAI messages -> Converse `system` and turns: text, images, assistant tool calls and tool results.

Converse wants turns that alternate user/assistant and start with a user turn, so consecutive messages that map
to the same role merge (tool results become one user turn, followed by any user text). Every refusal names the
OpenAI parameter path, e.g. `messages[3].tool_calls[0].function.arguments`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

import reasoning
from config import IMAGE_FORMATS, MAX_IMAGE_BYTES, MAX_IMAGES, TOOL_NAME_PATTERN
from errors import GatewayError

from .schema import ChatMessage

DATA_URL = re.compile(r"data:image/([a-zA-Z]+);base64,(.*)", re.DOTALL)
TOOL_ID = re.compile(TOOL_NAME_PATTERN)  # Converse applies the same rule to toolUseId as to tool names
EMPTY_TOOL_RESULT = "(no output)"  # Bedrock refuses blank text blocks; an empty result still has to answer


def invalid(param: str, reason: str) -> GatewayError:
    return GatewayError(400, f"{param}: {reason}", kind="invalid_request_error", param=param)


@dataclass
class Translation:
    system: list[str] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    has_tool_blocks: bool = False
    images: int = 0

    def add(self, role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if self.turns and self.turns[-1]["role"] == role:
            self.turns[-1]["content"].extend(blocks)
        else:
            self.turns.append({"role": role, "content": blocks})


def to_turns(messages: list[ChatMessage], tools_as_text: bool, thinking: bool = False) -> Translation:
    """Translate the history. With `tools_as_text`, earlier tool calls and results become plain text, so the
    request needs no toolConfig (Bedrock demands one whenever tool blocks are present) and no tool can be called.
    With `thinking` (the model reasons), assistant thinking_blocks go back as they came; other models cannot
    read them, and they only ever carry the model's own earlier reasoning, so they are left out."""
    out = Translation()
    calls: dict[str, str] = {}  # tool_call_id -> tool name, from earlier assistant messages
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        for name in ("audio", "function_call"):  # annotations (citations of an earlier answer) change nothing
            if getattr(message, name) is not None:
                raise invalid(f"{where}.{name}", "is not supported by this gateway; send null or leave it out")
        if message.role != "tool" and message.tool_call_id is not None:
            raise invalid(f"{where}.tool_call_id", "is only allowed on messages with role 'tool'")
        for field_name in ("tool_calls", "refusal", "reasoning_content", "thinking_blocks"):
            value = getattr(message, field_name)
            if message.role != "assistant" and (value if field_name == "tool_calls" else value is not None):
                raise invalid(f"{where}.{field_name}", "is only allowed on assistant messages")
        if message.role in ("system", "developer"):
            text = "".join(part["text"] for part in content_parts(message.content, where, images=False))
            if text.strip():
                out.system.append(text)
        elif message.role == "user":
            blocks: list[dict[str, Any]] = []
            for part in content_parts(message.content, where, images=True):
                if "image" in part:
                    out.images += 1
                    if out.images > MAX_IMAGES:
                        raise invalid(f"{where}.content", f"at most {MAX_IMAGES} images per request (Bedrock's limit)")
                    blocks.append(part)
                elif blocks and "text" in blocks[-1]:  # adjacent text parts of one message read as one text
                    blocks[-1]["text"] += part["text"]
                else:
                    blocks.append({"text": part["text"]})
            out.add("user", [b for b in blocks if "image" in b or b["text"].strip()])
        elif message.role == "assistant":
            thought = reasoning.from_openai(message.thinking_blocks, f"{where}.thinking_blocks")
            blocks = assistant_blocks(message, where, calls, out, tools_as_text)
            out.add("assistant", [*thought, *blocks] if thinking and blocks else blocks)
        else:
            out.add("user", [tool_result(message, where, calls, out, tools_as_text)])
    if not out.turns or out.turns[0]["role"] != "user":
        raise invalid("messages", "need a non-empty user message before any assistant message")
    return out


def content_parts(content: Any, where: str, images: bool) -> list[dict[str, Any]]:
    """`content` as parts: [{"text": ...}] or Converse image blocks. Strings and null are one text part."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list):
        raise invalid(f"{where}.content", "must be a string or a list of content parts")
    parts = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "refusal"):
            text = part.get(kind)
            if not isinstance(text, str):
                raise invalid(f"{at}.{kind}", "must be a string")
            parts.append({"text": text})
        elif kind == "image_url" and images:
            parts.append(image_block(part.get("image_url"), at))
        elif kind == "image_url":
            raise invalid(f"{at}.type", "images are only allowed in user messages")
        elif isinstance(kind, str):
            raise invalid(f"{at}.type", f"'{kind[:40]}' parts are not supported (text and image_url are)")
        else:
            raise invalid(at, "must be an object with a 'type' (text or image_url)")
    return parts


def image_block(image_url: Any, at: str) -> dict[str, Any]:
    url = image_url.get("url") if isinstance(image_url, dict) else None
    if not isinstance(url, str):
        raise invalid(f"{at}.image_url.url", "is required")
    if url.startswith(("http://", "https://")):
        raise invalid(
            f"{at}.image_url.url",
            "the gateway does not fetch URLs; send the image inline as data:image/<png|jpeg|gif|webp>;base64,...",
        )
    match = DATA_URL.fullmatch(url)
    fmt = match.group(1).lower().replace("jpg", "jpeg") if match else ""
    if not match or fmt not in IMAGE_FORMATS:
        raise invalid(f"{at}.image_url.url", "must be a data URL: data:image/<png|jpeg|gif|webp>;base64,<data>")
    try:
        raw = base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        raise invalid(f"{at}.image_url.url", "the image data is not valid base64") from None
    if not raw:
        raise invalid(f"{at}.image_url.url", "the image is empty")
    if len(raw) > MAX_IMAGE_BYTES:
        raise invalid(f"{at}.image_url.url", f"the image is {len(raw)} bytes; Bedrock takes at most {MAX_IMAGE_BYTES}")
    return {"image": {"format": fmt, "source": {"bytes": raw}}}


def assistant_blocks(
    message: ChatMessage, where: str, calls: dict[str, str], out: Translation, tools_as_text: bool
) -> list[dict[str, Any]]:
    blocks = [{"text": p["text"]} for p in content_parts(message.content, where, images=False) if p["text"].strip()]
    if message.refusal and message.refusal.strip():
        blocks.append({"text": message.refusal})
    for k, call in enumerate(message.tool_calls or []):
        at = f"{where}.tool_calls[{k}]"
        if not TOOL_ID.fullmatch(call.id):
            raise invalid(f"{at}.id", "must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-' (Bedrock's rule)")
        if not TOOL_ID.fullmatch(call.function.name):
            raise invalid(f"{at}.function.name", "must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-'")
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except ValueError:
            raise invalid(f"{at}.function.arguments", "is not valid JSON") from None
        if not isinstance(arguments, dict):
            raise invalid(f"{at}.function.arguments", "must be a JSON object")
        calls[call.id] = call.function.name
        if tools_as_text:
            blocks.append({"text": f"[called tool {call.function.name} with {json.dumps(arguments)}]"})
        else:
            out.has_tool_blocks = True
            blocks.append({"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": arguments}})
    return blocks


def tool_result(
    message: ChatMessage, where: str, calls: dict[str, str], out: Translation, tools_as_text: bool
) -> dict[str, Any]:
    if message.tool_call_id is None:
        raise invalid(f"{where}.tool_call_id", "is required on tool messages")
    if message.tool_call_id not in calls:
        raise invalid(f"{where}.tool_call_id", "matches no tool call of an earlier assistant message")
    text = "".join(p["text"] for p in content_parts(message.content, where, images=False)) or EMPTY_TOOL_RESULT
    if tools_as_text:
        return {"text": f"[result of tool {calls[message.tool_call_id]}: {text}]"}
    out.has_tool_blocks = True
    return {"toolResult": {"toolUseId": message.tool_call_id, "content": [{"text": text}]}}
