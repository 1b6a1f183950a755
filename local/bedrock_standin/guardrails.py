"""Guardrails, deterministically: a configured guardrail blocks user text that contains the word `guardrail-block`
(or `<guardrail id>-block`, so a key's own guardrail can be told apart from the default). Guardrail ids starting with
`missing` do not exist and ids starting with `denied` are not allowed, each answered as Bedrock answers them."""

from __future__ import annotations

import re
from typing import Any

BLOCKED_MESSAGE = "Sorry, the model cannot answer this request."


def config_error(body: dict[str, Any]) -> tuple[int, str, str] | None:
    """(status, error code, message) for a guardrail Bedrock would refuse to apply, else None."""
    config = body.get("guardrailConfig")
    if not config:
        return None
    guardrail_id = str(config.get("guardrailIdentifier", "")).rsplit("/", 1)[-1]  # an id or an ARN
    version = str(config.get("guardrailVersion", ""))
    if guardrail_id.startswith("missing") or not version:
        return 400, "ValidationException", "The guardrail identifier or version provided in the request does not exist."
    if guardrail_id.startswith("denied"):
        return (
            403,
            "AccessDeniedException",
            "User: arn:aws:sts::000000000000:assumed-role/bedrock-gateway-invoke/standin is not authorized to "
            "perform: bedrock:ApplyGuardrail on resource: "
            f"arn:aws:bedrock:us-east-1:000000000000:guardrail/{guardrail_id}",
        )
    return None


def intervention(body: dict[str, Any]) -> dict[str, Any] | None:
    """The trace of a blocking intervention (empty when trace is off), or None when the guardrail lets it pass."""
    config = body.get("guardrailConfig")
    if not config:
        return None
    guardrail_id = str(config["guardrailIdentifier"]).rsplit("/", 1)[-1]
    texts = " ".join(
        b.get("text", "") for m in body.get("messages", []) if m.get("role") == "user" for b in m["content"]
    )
    word = next((w for w in ("guardrail-block", f"{guardrail_id}-block") if re.search(rf"(?<![\w-]){w}", texts)), None)
    if word is None:
        return None
    if config.get("trace") != "enabled":
        return {}
    matched = {"customWords": [{"match": word, "action": "BLOCKED"}]}
    return {"guardrail": {"inputAssessment": {guardrail_id: {"wordPolicy": matched}}}}
