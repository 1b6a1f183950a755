"""Who is calling: the key the authorizer found (root or managed) and, for a managed key, its limits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from errors import GatewayError


@dataclass(frozen=True)
class Caller:
    key_id: str
    managed: bool = False
    models: tuple[str, ...] | None = None  # None: every model the gateway allows
    rpm: int | None = None
    tpm: int | None = None
    monthly_tokens: int | None = None
    expires_at: int | None = None
    guardrail: str | None = None  # "id:version": replaces the stack's default guardrail for this key

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Caller:
        """From the authorizer's context, which only the authorizer (through API Gateway) can set: under
        requestContext.authorizer.lambda for the HTTP API, directly under requestContext.authorizer for REST."""
        authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
        context = authorizer.get("lambda") or authorizer
        key_id = str(context.get("keyId") or "-")
        if context.get("keyType") != "managed":
            return cls(key_id=key_id)
        limits = json.loads(context.get("limits") or "{}")
        models = limits.get("models")
        return cls(
            key_id=key_id,
            managed=True,
            models=tuple(models) if models is not None else None,
            rpm=limits.get("rpm"),
            tpm=limits.get("tpm"),
            monthly_tokens=limits.get("monthlyTokens"),
            expires_at=limits.get("expiresAt"),
            guardrail=limits.get("guardrail"),
        )

    @property
    def limited(self) -> bool:
        """Whether a request must be admitted against counters before the model is called."""
        return any(limit is not None for limit in (self.rpm, self.tpm, self.monthly_tokens))

    def may_use(self, model_id: str) -> bool:
        return self.models is None or model_id in self.models

    def check_model(self, model_id: str) -> None:
        if not self.may_use(model_id):
            raise GatewayError(
                403,
                f"This key may not use the model '{model_id[:200]}' (GET /usage lists the models it may use).",
                kind="permission_error",
                code="model_not_allowed",
                param="model",
            )

    def check_expiry(self, now: float) -> None:
        if self.expires_at is not None and now >= self.expires_at:
            raise GatewayError(403, "This key has expired.", kind="permission_error", code="key_expired", param=None)

    def limits(self) -> dict[str, Any]:
        return {
            "models": list(self.models) if self.models is not None else None,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "monthlyTokens": self.monthly_tokens,
            "expiresAt": self.expires_at,
            "guardrail": self.guardrail,
        }
