"""Tools, tool_choice and response_format -> Converse toolConfig; the model's tool uses -> OpenAI tool_calls.

Structured output (`response_format` json_object / json_schema) is a forced tool whose input schema is the
requested schema: every Converse model with tool use can then answer in that shape, and the tool's input comes
back as the message content.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bedrock import Reply
from config import TOOL_NAME_PATTERN

from .messages import invalid
from .schema import Tool

TOOL_NAME = re.compile(TOOL_NAME_PATTERN)
JSON_OBJECT_TOOL = "json_object"  # the forced tool behind response_format {"type": "json_object"}
ANY_OBJECT = {"type": "object"}


@dataclass(frozen=True)
class ToolPlan:
    """What the request asks of tools: the toolConfig to send, and how to read the reply."""

    config: dict[str, Any] | None  # Converse toolConfig, or None: the model sees no tools
    user_tools: bool  # the caller's own tools are offered (else earlier tool calls travel as text)
    response_tool: str | None  # name of the structured-output tool, whose input becomes the content
    max_calls: int | None  # parallel_tool_calls=false: at most one call is returned


def plan(
    tools: list[Tool] | None, tool_choice: Any, response_format: Any, parallel_tool_calls: bool | None
) -> ToolPlan:
    specs = [tool_spec(tool, f"tools[{i}]") for i, tool in enumerate(tools or [])]
    names = [spec["toolSpec"]["name"] for spec in specs]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise invalid("tools", f"two tools are named '{duplicate}'; names must be unique")
    choice = converse_choice(tool_choice, names)
    response = response_spec(response_format)
    if response and response["toolSpec"]["name"] in names:
        raise invalid("response_format", "its name is also the name of a tool; rename one of them")
    if choice is None:  # tool_choice "none", or no tools at all
        specs = []
    if response:
        # The model must answer through a tool: the response tool, or one of the caller's (if it may call them).
        choice = choice if choice and "tool" in choice else ({"any": {}} if specs else None)
        choice = choice or {"tool": {"name": response["toolSpec"]["name"]}}
        specs = [*specs, response]
    config = {"tools": specs, "toolChoice": choice} if specs else None
    return ToolPlan(
        config=config,
        user_tools=bool(config) and len(specs) > (1 if response else 0),
        response_tool=response["toolSpec"]["name"] if response else None,
        max_calls=1 if parallel_tool_calls is False else None,
    )


def tool_spec(tool: Tool, at: str) -> dict[str, Any]:
    function = tool.function
    if not TOOL_NAME.fullmatch(function.name):
        raise invalid(f"{at}.function.name", "must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-' (Bedrock's rule)")
    schema = function.parameters if function.parameters is not None else {"type": "object", "properties": {}}
    if schema.get("type", "object") != "object":
        raise invalid(f"{at}.function.parameters", "must be a JSON Schema of type 'object'")
    spec: dict[str, Any] = {"name": function.name, "inputSchema": {"json": schema}}
    if function.description:
        spec["description"] = function.description
    return {"toolSpec": spec}


def converse_choice(tool_choice: Any, names: list[str]) -> dict[str, Any] | None:
    """OpenAI tool_choice -> Converse toolChoice; None means no tool may be called."""
    if tool_choice is not None and not names and tool_choice != "none":
        raise invalid("tool_choice", "is only allowed when tools are given")
    if not names or tool_choice == "none":
        return None
    if tool_choice in (None, "auto"):
        return {"auto": {}}
    if tool_choice == "required":
        return {"any": {}}
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
        name = (tool_choice.get("function") or {}).get("name")
        if name not in names:
            raise invalid("tool_choice.function.name", "names no tool in 'tools'")
        return {"tool": {"name": name}}
    raise invalid("tool_choice", "must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {...}}")


def response_spec(response_format: Any) -> dict[str, Any] | None:
    """response_format -> the forced tool's spec (None for plain text)."""
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {
            "toolSpec": {
                "name": JSON_OBJECT_TOOL,
                "description": "Give the answer as a JSON object.",
                "inputSchema": {"json": ANY_OBJECT},
            }
        }
    if kind != "json_schema":
        raise invalid("response_format.type", "must be 'text', 'json_object' or 'json_schema'")
    definition = response_format.get("json_schema")
    if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
        raise invalid("response_format.json_schema.name", "is required")
    name = definition["name"]
    if not TOOL_NAME.fullmatch(name):
        raise invalid("response_format.json_schema.name", "must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-'")
    schema = definition.get("schema", ANY_OBJECT)
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise invalid("response_format.json_schema.schema", "must be a JSON Schema of type 'object'")
    description = definition.get("description")
    return {
        "toolSpec": {
            "name": name,
            "description": description if isinstance(description, str) and description else f"Give the {name}.",
            "inputSchema": {"json": schema},
        }
    }


def tool_calls(reply: Reply, tool_plan: ToolPlan) -> tuple[list[dict[str, Any]], Any]:
    """(OpenAI tool_calls, structured content or None) from the model's tool uses."""
    calls = [use for use in reply.tool_uses if use.name != tool_plan.response_tool]
    structured = next((use.input for use in reply.tool_uses if use.name == tool_plan.response_tool), None)
    if tool_plan.max_calls is not None:
        calls = calls[: tool_plan.max_calls]
    return [
        {"id": use.id, "type": "function", "function": {"name": use.name, "arguments": json.dumps(use.input)}}
        for use in calls
    ], structured
