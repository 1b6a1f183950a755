"""Checks of a request before its body is parsed, and the OpenAI form of a validation error: shared by the
buffered API (app.py) and the streaming API (stream_app.py)."""

from __future__ import annotations

import base64
from typing import Any

from config import MAX_BODY_BYTES
from errors import GatewayError


def precheck(event: dict[str, Any]) -> GatewayError | None:
    """What API Gateway lets through but the gateway refuses before parsing anything."""
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > MAX_BODY_BYTES:
        return GatewayError(
            413, f"Request body is larger than {MAX_BODY_BYTES // 1024 // 1024} MB.", kind="invalid_request_error"
        )
    if body and event.get("isBase64Encoded"):  # API Gateway base64-encodes bodies it cannot pass as text
        try:
            base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
            return GatewayError(400, "Request body is not valid UTF-8 JSON.", kind="invalid_request_error")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if body and content_type != "application/json":
        return GatewayError(
            415, "Send the body as JSON with Content-Type: application/json.", kind="invalid_request_error"
        )
    return None


def body_text(event: dict[str, Any]) -> str:
    """The body as text (after precheck accepted it)."""
    body = event.get("body") or ""
    return base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body


def openai_invalid(fields: list[dict[str, str]]) -> GatewayError:
    """OpenAI clients expect a 400 naming the first invalid parameter."""
    first = fields[0]
    param = first["field"].removeprefix("body.").removeprefix("body")
    message = f"{param}: {first['message']}" if param else first["message"]
    return GatewayError(400, message, kind="invalid_request_error", param=param or None)
