"""Every failure the gateway reports, and the one table that maps AWS errors to HTTP statuses."""

from __future__ import annotations

import re
from typing import Any

from config import RETRY_AFTER_SECONDS


class GatewayError(Exception):
    """An error with the status and client-safe message to answer with. `detail` goes to logs only."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "api_error",
        detail: str = "",
        code: str | None = None,
        param: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind  # OpenAI-style error type, also the metric dimension
        self.detail = detail
        self.code = code
        self.param = param
        self.retry_after = retry_after  # seconds; None: RETRY_AFTER_SECONDS for 429 and 503

    @property
    def headers(self) -> dict[str, str]:
        if self.retry_after is not None:
            return {"Retry-After": str(self.retry_after)}
        return {"Retry-After": str(RETRY_AFTER_SECONDS)} if self.status in (429, 503) else {}


# Bedrock error code -> (status, message for the client, kind). Change an error mapping here.
BEDROCK_ERRORS: dict[str, tuple[int, str, str]] = {
    "ValidationException": (400, "The model rejected the request as invalid.", "invalid_request_error"),
    "ThrottlingException": (429, "Too many requests to the model; retry later.", "rate_limit_error"),
    "ServiceQuotaExceededException": (429, "The model's quota is exhausted; retry later.", "rate_limit_error"),
    "ModelTimeoutException": (504, "The model took too long to answer.", "timeout_error"),
    "ModelNotReadyException": (503, "The model is not ready; retry later.", "service_unavailable"),
    "ServiceUnavailableException": (503, "The model service is unavailable; retry later.", "service_unavailable"),
    "AccessDeniedException": (502, "The gateway is not allowed to use this model.", "upstream_error"),
    "ResourceNotFoundException": (502, "The gateway could not reach this model.", "upstream_error"),
    "ModelStreamErrorException": (502, "The model's answer stream failed.", "upstream_error"),
}
# A guardrail that does not exist or that IAM does not allow is the operator's configuration, not the caller's
# request: whatever code Bedrock uses for it, the caller gets a 502 and the log gets Bedrock's reason.
GUARDRAIL_MISCONFIGURED = (502, "The gateway's guardrail could not be applied.", "upstream_error")
GUARDRAIL_CODES = ("ValidationException", "ResourceNotFoundException", "AccessDeniedException")
MAX_REASON_CHARS = 500  # Bedrock's own reason for a ValidationException, passed on (it describes the request)
ACCOUNT_DETAILS = re.compile(r"arn:\S+|\b\d{12}\b")  # ARNs and account ids stay in the logs
READ_TIMEOUT = (504, "The model took too long to answer.", "timeout_error")
CONNECTION_FAILED = (503, "The model service could not be reached; retry later.", "service_unavailable")
UNEXPECTED = (500, "Internal error.", "api_error")


def from_botocore(exc: Exception) -> GatewayError:
    """Translate a botocore exception; the client sees only the table's message, logs get the AWS reason."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectionError,
        ConnectTimeoutError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, reason = error.get("Code", ""), str(error.get("Message", ""))
        code = code[:1].upper() + code[1:]  # errors inside a stream are named like its members: throttlingException
        if code in GUARDRAIL_CODES and "guardrail" in reason.lower():
            status, message, kind = GUARDRAIL_MISCONFIGURED
        else:
            status, message, kind = BEDROCK_ERRORS.get(code, UNEXPECTED)
            if code == "ValidationException" and reason:  # e.g. a tampered thinking signature: say which block
                shown = ACCOUNT_DETAILS.sub("(withheld)", reason)[:MAX_REASON_CHARS]
                message = f"{message.rstrip('.')}: {shown}"
        return GatewayError(status, message, kind=kind, detail=f"{code}: {reason}")
    if isinstance(exc, ReadTimeoutError):
        status, message, kind = READ_TIMEOUT
    elif isinstance(exc, (ConnectTimeoutError, ConnectionError, ConnectionClosedError)):
        status, message, kind = CONNECTION_FAILED
    else:
        status, message, kind = UNEXPECTED
    return GatewayError(status, message, kind=kind, detail=f"{type(exc).__name__}: {exc}")


def error_body(message: str, request_id: str, **extra: Any) -> dict[str, Any]:
    """The JSON every /invoke-style error answers with."""
    return {"message": message, "requestId": request_id, **extra}


def openai_error_body(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape, so the openai SDK raises its typed errors."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'messages', 2, 'content') -> 'body.messages[2].content'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """pydantic's errors as {field, message, type} a person can act on: OpenAI-style paths, plain messages."""
    described = []
    for error in errors:
        kind = error.get("type", "")
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            message = "unknown field (not part of this API; check the spelling)"
        elif kind == "missing":
            message = "is required"
        described.append({"field": field_path(error.get("loc", ())), "message": message, "type": kind})
    return described
