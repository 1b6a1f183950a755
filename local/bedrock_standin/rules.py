"""Bedrock's server-side checks of a Converse request, with Bedrock's messages: a translation bug in the gateway
fails a local test here instead of on AWS. Returns the ValidationException message, or None."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
MAX_IMAGE_BYTES = 3_750_000
PATTERN = "satisfy regular expression pattern: [a-zA-Z0-9_-]+"


def constraint(where: str, rule: str) -> str:
    """Bedrock's (Coral's) wording for a request that breaks a model constraint."""
    return f"1 validation error detected: Value at '{where}' failed to satisfy constraint: Member must {rule}"


def check_converse(body: dict[str, Any]) -> str | None:
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        return (
            "A conversation must start with a user message. Try again with a conversation that starts with a "
            "user message."
        )
    for i, message in enumerate(messages):
        if i and message.get("role") == messages[i - 1].get("role"):
            return (
                "A conversation must alternate between user and assistant roles. Make sure the conversation "
                "alternates between user and assistant roles and try again."
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return (
                f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to "
                "the content field and try again."
            )
        for j, block in enumerate(content):
            problem = check_block(block, f"messages.{i}.content.{j}", message.get("role"))
            if problem:
                return problem
    return check_tools(body, messages)


def check_block(block: dict[str, Any], where: str, role: str | None) -> str | None:
    if "text" in block and not str(block["text"]).strip():
        return (
            f"The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try again."
        )
    if "image" in block:
        image = block["image"]
        if image.get("format") not in IMAGE_FORMATS:
            return constraint(f"{where}.image.format", "satisfy enum value set: [gif, jpeg, png, webp]")
        try:
            raw = base64.b64decode(image.get("source", {}).get("bytes", ""), validate=True)
        except (binascii.Error, TypeError):
            return f"The image at {where} could not be decoded."
        if len(raw) > MAX_IMAGE_BYTES:
            return f"The image at {where} is larger than 3.75 MB."
        if role != "user":
            return f"Image blocks at {where} are only allowed in user messages."
    if "toolUse" in block:
        use = block["toolUse"]
        if role != "assistant":
            return f"toolUse blocks at {where} are only allowed in assistant messages."
        if not NAME.fullmatch(str(use.get("toolUseId", ""))) or not NAME.fullmatch(str(use.get("name", ""))):
            return constraint(f"{where}.toolUse.toolUseId", PATTERN)
        if not isinstance(use.get("input"), dict):
            return f"The toolUse input at {where} must be a JSON object."
    if "toolResult" in block:
        if role != "user":
            return f"toolResult blocks at {where} are only allowed in user messages."
        if not NAME.fullmatch(str(block["toolResult"].get("toolUseId", ""))):
            return constraint(f"{where}.toolResult.toolUseId", PATTERN)
    return None


def check_tools(body: dict[str, Any], messages: list[dict[str, Any]]) -> str | None:
    has_tool_blocks = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
    config = body.get("toolConfig")
    if has_tool_blocks and not config:
        return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    for i, message in enumerate(messages):
        results = [b["toolResult"]["toolUseId"] for b in message["content"] if "toolResult" in b]
        previous = messages[i - 1]["content"] if i else []
        uses = [b["toolUse"]["toolUseId"] for b in previous if "toolUse" in b]
        if results and set(results) - set(uses):
            return (
                f"The number of toolResult blocks at messages.{i}.content exceeds the number of toolUse blocks of "
                "previous turn."
            )
        if uses and message["role"] == "user" and set(uses) - set(results):
            missing = ", ".join(sorted(set(uses) - set(results)))
            return f"Expected toolResult blocks at messages.{i}.content for the following Ids: {missing}"
    if not config:
        return None
    tools = config.get("tools") or []
    if not tools:
        return constraint("toolConfig.tools", "have length greater than or equal to 1")
    names = [t.get("toolSpec", {}).get("name", "") for t in tools]
    for k, name in enumerate(names):
        if not NAME.fullmatch(str(name)):
            return constraint(f"toolConfig.tools.{k + 1}.member.toolSpec.name", PATTERN)
        if not isinstance(tools[k]["toolSpec"].get("inputSchema", {}).get("json"), dict):
            return f"The inputSchema of tool {name} must be a JSON object."
    if len(set(names)) != len(names):
        return "The toolConfig contains duplicate tool names."
    forced = (config.get("toolChoice") or {}).get("tool")
    if forced and forced.get("name") not in names:
        return f"The tool {forced.get('name')} in toolChoice is not defined in toolConfig.tools."
    return None
