"""/v1/models: the chat and embedding models this gateway allows, in OpenAI's shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config import settings
from errors import GatewayError


def model_ids() -> list[str]:
    return list(dict.fromkeys([*settings.allowed_models, *settings.embedding_models]))


def model_entry(model_id: str) -> dict[str, Any]:
    owner = model_id.split(".")[-2] if "." in model_id else "bedrock"  # us.amazon.nova-... -> amazon
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


def model_list(may_use: Callable[[str], bool]) -> dict[str, Any]:
    """The models the calling key may use (a managed key may be limited to some)."""
    return {"object": "list", "data": [model_entry(m) for m in model_ids() if may_use(m)]}


def not_found(model_id: str, purpose: str = "") -> GatewayError:
    """OpenAI's 404 `model_not_found`, which the SDK raises as NotFoundError."""
    return GatewayError(
        404,
        f"The model '{model_id[:200]}' does not exist or is not allowed{purpose} (GET /v1/models lists them).",
        kind="invalid_request_error",
        code="model_not_found",
        param="model",
    )


def retrieve(model_id: str, may_use: Callable[[str], bool]) -> dict[str, Any]:
    if model_id not in model_ids() or not may_use(model_id):
        raise not_found(model_id)
    return model_entry(model_id)
