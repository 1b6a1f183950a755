"""The authorizer's decision as the IAM policy a REST API (the streaming API) expects.

API Gateway caches the policy per Authorization header for every method of the API, so it covers the whole
stage (`<api>/<stage>/*`), not only the method that asked: otherwise a cached allow would deny the next route.
A deny is a 403, as on the HTTP API; a request without the header never reaches the authorizer (401).
"""

from __future__ import annotations

from typing import Any


def stage_wildcard(method_arn: str) -> str:
    """arn:aws:execute-api:region:account:api/stage/VERB/path -> arn:aws:execute-api:region:account:api/stage/*"""
    api_and_stage = method_arn.split("/")[:2]
    return "/".join(api_and_stage) + "/*"


def for_rest_api(decision: dict[str, Any], method_arn: str) -> dict[str, Any]:
    allowed = bool(decision.get("isAuthorized"))
    context = decision.get("context") or {}
    return {
        "principalId": str(context.get("keyId") or "denied"),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if allowed else "Deny",
                    "Resource": stage_wildcard(method_arn),
                }
            ],
        },
        "context": context,
    }
