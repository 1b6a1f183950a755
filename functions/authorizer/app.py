"""Lambda REQUEST authorizer (HTTP API, payload 2.0, simple responses): is the bearer token one of ours?"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from bearer import MalformedHeaderError, extract_token
from token_store import TokenStore

logger = Logger()
store = TokenStore(
    parameter_name=os.environ["TOKEN_PARAMETER_NAME"],
    max_age=int(os.getenv("TOKEN_CACHE_SECONDS", "300")),
    refresh_interval=float(os.getenv("TOKEN_REFRESH_INTERVAL", "30")),
)

# Simple responses (payload 2.0). Written as dicts: Powertools' authorizer data classes add ~13 ms of cold import.
DENY = {"isAuthorized": False}


def authorization_header(event: dict[str, Any]) -> str | None:
    """Header names are case-insensitive: API Gateway sends lower case, sam local Title-Case."""
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "authorization":
            return value
    return None


def authorize(header: str | None) -> dict[str, Any]:
    """Decide for one request. Never logs the header or the token; every failure denies."""
    try:
        token = extract_token(header)
    except MalformedHeaderError as reason:
        logger.info("Denied", extra={"reason": f"malformed header: {reason}"})
        return DENY
    try:
        key_id = store.identify(token)
    except Exception as exc:  # SSM unreachable, parameter missing or unusable: fail closed
        logger.error("Denied: token parameter unavailable", extra={"reason": f"{type(exc).__name__}: {exc}"})
        return DENY
    if key_id is None:
        logger.info("Denied", extra={"reason": "unknown token"})
        return DENY
    logger.debug("Authorized", extra={"key_id": key_id})  # allowed requests show in the access log (keyId)
    return {"isAuthorized": True, "context": {"keyId": key_id}}


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(authorization_header(event))
