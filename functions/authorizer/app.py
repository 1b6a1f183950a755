"""Lambda REQUEST authorizer: is the bearer token one of ours? One decision, two answer shapes: a simple response
for the HTTP API (payload 2.0) and an IAM policy for the streaming REST API."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from bearer import MalformedHeaderError, extract_token
from iam_policy import for_rest_api
from managed_keys import ManagedKeyStore, context_for, refusal
from token_store import TokenStore

logger = Logger()
store = TokenStore(
    parameter_name=os.environ["TOKEN_PARAMETER_NAME"],
    max_age=int(os.getenv("TOKEN_CACHE_SECONDS", "300")),
    refresh_interval=float(os.getenv("TOKEN_REFRESH_INTERVAL", "30")),
)
# Managed keys (DynamoDB) are looked up only for tokens that are not root keys: root keys never touch the table.
managed = (
    ManagedKeyStore(
        table_name=os.environ["KEYS_TABLE_NAME"],
        max_age=int(os.getenv("KEY_CACHE_SECONDS", "60")),
        negative_age=float(os.getenv("KEY_NEGATIVE_CACHE_SECONDS", "10")),
    )
    if os.getenv("KEYS_TABLE_NAME")
    else None
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
    except Exception as exc:  # SSM unreachable, parameter missing or unusable: no root key can match (fail closed)
        logger.error("Root keys unavailable", extra={"reason": f"{type(exc).__name__}: {exc}"})
        key_id = None
    if key_id is not None:
        logger.debug("Authorized", extra={"key_id": key_id})  # allowed requests show in the access log (keyId)
        return {"isAuthorized": True, "context": {"keyId": key_id, "keyType": "root"}}
    return authorize_managed(token)


def authorize_managed(token: str) -> dict[str, Any]:
    if managed is None:
        logger.info("Denied", extra={"reason": "unknown token"})
        return DENY
    try:
        policy = managed.policy(token)
    except Exception as exc:  # DynamoDB unreachable, throttled, table missing: fail closed
        logger.error("Denied: keys table unavailable", extra={"reason": f"{type(exc).__name__}: {exc}"})
        return DENY
    if policy is None:
        logger.info("Denied", extra={"reason": "unknown token"})
        return DENY
    why = refusal(policy, time.time())
    if why:
        logger.info("Denied", extra={"reason": why, "key_id": policy.get("keyId")})
        return DENY
    logger.debug("Authorized", extra={"key_id": policy["keyId"], "key_type": "managed"})
    return {"isAuthorized": True, "context": context_for(policy)}


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    decision = authorize(authorization_header(event))
    if "methodArn" in event:  # a REST API (the streaming API) wants an IAM policy
        return for_rest_api(decision, event["methodArn"])
    return decision
