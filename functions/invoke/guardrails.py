"""Which Bedrock guardrail a request carries: the stack's default, or the one a managed key names instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import settings
from errors import GatewayError


@dataclass(frozen=True)
class Guardrail:
    id: str  # an id, or the ARN of one of KEY_GUARDRAIL_ARNS
    version: str
    trace: bool = False

    def converse_config(self) -> dict[str, Any]:
        return {
            "guardrailIdentifier": self.id,
            "guardrailVersion": self.version,
            "trace": "enabled" if self.trace else "disabled",
        }


def allowed_identifier(guardrail_id: str) -> str | None:
    """What Converse gets for a guardrail a key names: the default's id, or the ARN of one of KeyGuardrailArns."""
    if guardrail_id and guardrail_id == settings.guardrail_id:
        return guardrail_id
    return next((arn for arn in settings.key_guardrails if arn.rsplit("/", 1)[-1] == guardrail_id), None)


def for_key(key_guardrail: str | None) -> Guardrail | None:
    """The key's own guardrail (`id:version`) when it names one, else the stack's default, else none. A key's
    guardrail must be one the stack allows: IAM covers only those."""
    if key_guardrail:
        guardrail_id, _, version = key_guardrail.partition(":")
        identifier = allowed_identifier(guardrail_id)
        if identifier is None:
            raise GatewayError(
                403,
                "This key names a guardrail the gateway does not allow; ask its administrator.",
                kind="permission_error",
                code="guardrail_not_allowed",
                detail=f"key guardrail {guardrail_id!r} is neither GuardrailId nor in KeyGuardrailArns",
            )
        return Guardrail(identifier, version or "DRAFT", settings.guardrail_trace)
    if settings.guardrail_id:
        return Guardrail(settings.guardrail_id, settings.guardrail_version, settings.guardrail_trace)
    return None


def policies_that_acted(trace: dict[str, Any] | None) -> list[str]:
    """The names of the guardrail policies that acted (trace enabled), for the log: never the matched text."""
    guardrail = (trace or {}).get("guardrail") or {}
    assessments = [*(guardrail.get("inputAssessment") or {}).values()]
    assessments += [a for outputs in (guardrail.get("outputAssessments") or {}).values() for a in outputs]
    # an assessment also carries invocationMetrics and the like: only the *Policy entries are policies
    names = {name for assessment in assessments if isinstance(assessment, dict) for name in assessment}
    return sorted(name for name in names if name.endswith("Policy"))
