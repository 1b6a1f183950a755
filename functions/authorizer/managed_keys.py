"""Managed keys: tokens that are not root keys, looked up by their SHA-256 in the keys table (DynamoDB).

Powertools Parameters' DynamoDB provider reads and caches each key's policy per container (`max_age`); hashes
that match no key are remembered too, for `negative_age` seconds, so random tokens cannot hammer the table.
The table never holds a token: only its SHA-256 (tokens are 256-bit random strings, so a plain hash is safe).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import cache
from typing import Any

KEY_PREFIX = "KEY#"  # item key of a managed key: KEY#<sha256 hex of the token>
MAX_NEGATIVE_ENTRIES = 10_000  # bounds the memory random tokens can take

Fetch = Callable[..., Any]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@cache
def dynamodb_fetch(table_name: str) -> Fetch:
    """Created on the first managed-key request only: root keys never load the DynamoDB client."""
    from aws_lambda_powertools.utilities.parameters import DynamoDBProvider
    from botocore.config import Config

    # Worst case 2 x (1 s + 1 s) + backoff: fails closed inside the 5 s authorizer timeout.
    config = Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2})
    return DynamoDBProvider(table_name, key_attr="pk", value_attr="policy", boto_config=config).get


class ManagedKeyStore:
    def __init__(
        self,
        table_name: str,
        max_age: int,
        negative_age: float,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table_name = table_name
        self.max_age = max_age
        self.negative_age = negative_age
        self._fetch = fetch
        self._clock = clock
        self._unknown: dict[str, float] = {}  # hash -> until when it is known to match no key

    def policy(self, token: str) -> dict[str, Any] | None:
        """The key's policy, or None for a token that is no managed key. Raises when the table cannot be read:
        the caller fails closed."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        digest = token_hash(token)
        now = self._clock()
        if self._unknown.get(digest, 0) > now:
            return None
        fetch = self._fetch or dynamodb_fetch(self.table_name)
        try:
            return fetch(KEY_PREFIX + digest, max_age=self.max_age, transform="json")
        except GetParameterError as error:
            if not isinstance(error.__context__, KeyError):  # a missing item is a KeyError inside Powertools
                raise
        if len(self._unknown) >= MAX_NEGATIVE_ENTRIES:
            self._unknown = {h: t for h, t in self._unknown.items() if t > now}
            if len(self._unknown) >= MAX_NEGATIVE_ENTRIES:  # all still fresh: start over rather than grow
                self._unknown.clear()
        self._unknown[digest] = now + self.negative_age
        return None


def refusal(policy: dict[str, Any], now: float) -> str | None:
    """Why a found key may not be used now (disabled, expired), or None."""
    if policy.get("disabled"):
        return "disabled key"
    expires = policy.get("expiresAt")
    if expires is not None and now >= float(expires):
        return "expired key"
    return None


def context_for(policy: dict[str, Any]) -> dict[str, Any]:
    """What the invoke function needs to enforce: API Gateway passes these as requestContext.authorizer.lambda.
    Only strings, numbers and booleans travel there, so the limits go as one JSON string."""
    import json

    limits = {name: policy.get(name) for name in ("models", "rpm", "tpm", "monthlyTokens", "expiresAt", "guardrail")}
    return {"keyId": policy["keyId"], "keyType": "managed", "limits": json.dumps(limits, separators=(",", ":"))}
