"""Managed keys' counters in the keys table (DynamoDB): admission before the model call, usage after it.

Before (only for keys with rpm, tpm or monthlyTokens): one conditional write. This minute's item gets
`requests + 1` only if requests < rpm and tokens < tpm; with a monthly budget, the same transaction checks this
month's tokens < monthlyTokens. Conditional writes are atomic across containers, so `rpm: 5` admits exactly 5
of 12 simultaneous requests. After: one transaction adds the answer's tokens to the minute, the month, and the
(key, model, UTC day) usage item. Tokens are known only after the answer, so a token limit can be overshot by
the tokens of the requests in flight when it is reached. A key-store failure before the call is a 503: no call
is ever unmetered. Items: RATE#<key>#<YYYYMMDDHHMM>, MONTH#<key>#<YYYYMM>, USAGE#<key>#<YYYYMMDD>#<model>.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from caller import Caller
from errors import GatewayError

TABLE_NAME = os.getenv("KEYS_TABLE_NAME", "")
MINUTE_TTL = 2 * 60  # rate items live two minutes (TTL), month and usage items ~13 months
USAGE_TTL = 400 * 24 * 3600


@cache
def client() -> Any:
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=1,
        read_timeout=2,
        retries={"mode": "standard", "total_max_attempts": int(os.getenv("KEYS_MAX_ATTEMPTS", "2"))},
    )
    return botocore.session.get_session().create_client("dynamodb", config=config)


def minute_pk(key_id: str, now: datetime) -> str:
    return f"RATE#{key_id}#{now:%Y%m%d%H%M}"


def month_pk(key_id: str, now: datetime) -> str:
    return f"MONTH#{key_id}#{now:%Y%m}"


def usage_pk(key_id: str, now: datetime, model_id: str) -> str:
    return f"USAGE#{key_id}#{now:%Y%m%d}#{model_id}"


def seconds_to_next_minute(now: datetime) -> int:
    return max(1, 60 - now.second)


def seconds_to_next_month(now: datetime) -> int:
    first = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    return max(1, int((first - now).total_seconds()))


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def unavailable(exc: Exception) -> GatewayError:
    return GatewayError(
        503,
        "The key store is unavailable; retry later.",
        kind="service_unavailable",
        detail=f"{type(exc).__name__}: {exc}",
        code="key_store_unavailable",
    )


def admit(caller: Caller, now: datetime) -> None:
    """Count this request against the key's limits, or refuse it (429) without calling the model."""
    if not caller.managed or not caller.limited:
        return
    conditions, values = [], {":one": n(1), ":ttl": n(int(now.timestamp()) + MINUTE_TTL)}
    if caller.rpm is not None:
        conditions.append("(attribute_not_exists(requests) OR requests < :rpm)")
        values[":rpm"] = n(caller.rpm)
    if caller.tpm is not None:
        conditions.append("(attribute_not_exists(tokens) OR tokens < :tpm)")
        values[":tpm"] = n(caller.tpm)
    minute = {
        "TableName": TABLE_NAME,
        "Key": {"pk": {"S": minute_pk(caller.key_id, now)}},
        "UpdateExpression": "ADD requests :one SET expiresAt = if_not_exists(expiresAt, :ttl)",
        "ExpressionAttributeValues": values,
    }
    if conditions:
        minute["ConditionExpression"] = " AND ".join(conditions)
    try:
        if caller.monthly_tokens is None:
            client().update_item(**minute)
        else:
            month = {
                "TableName": TABLE_NAME,
                "Key": {"pk": {"S": month_pk(caller.key_id, now)}},
                "ConditionExpression": "attribute_not_exists(tokens) OR tokens < :budget",
                "ExpressionAttributeValues": {":budget": n(caller.monthly_tokens)},
            }
            client().transact_write_items(TransactItems=[{"Update": minute}, {"ConditionCheck": month}])
    except Exception as exc:
        raise refusal_for(exc, caller, now) from exc


def refusal_for(exc: Exception, caller: Caller, now: datetime) -> GatewayError:
    """Which limit refused the request (429 with the seconds until it resets), or 503 for a store failure."""
    from botocore.exceptions import ClientError

    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    if code == "TransactionCanceledException":
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]  # type: ignore[union-attr]
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            return budget_spent(caller, now)
        if not reasons or reasons[0] != "ConditionalCheckFailed":
            return unavailable(exc)
    elif code != "ConditionalCheckFailedException":
        return unavailable(exc)
    rpm_reached = caller.rpm is not None and (caller.tpm is None or minute_requests(caller, now) >= caller.rpm)
    limit = f"{caller.rpm} requests" if rpm_reached else f"{caller.tpm} tokens"
    return GatewayError(
        429,
        f"This key's limit of {limit} per minute is reached; retry in the next minute.",
        kind="rate_limit_error",
        code="rate_limit_exceeded",
        retry_after=seconds_to_next_minute(now),
    )


def minute_requests(caller: Caller, now: datetime) -> int:
    """Read only on the refusal path, to say which of rpm and tpm refused."""
    try:
        item = client().get_item(TableName=TABLE_NAME, Key={"pk": {"S": minute_pk(caller.key_id, now)}}).get("Item")
    except Exception:
        return 0
    return int((item or {}).get("requests", {}).get("N", 0))


def budget_spent(caller: Caller, now: datetime) -> GatewayError:
    return GatewayError(
        429,
        f"This key's monthly budget of {caller.monthly_tokens} tokens is spent; it renews on the 1st (UTC).",
        kind="insufficient_quota",
        code="insufficient_quota",
        retry_after=seconds_to_next_month(now),
    )


def record(caller: Caller, model_id: str, input_tokens: int, output_tokens: int, now: datetime) -> None:
    """Add an answered request to the key's minute, month and daily usage: one transactional write."""
    if not caller.managed:
        return
    tokens = input_tokens + output_tokens
    usage_ttl = n(int(now.timestamp()) + USAGE_TTL)
    items = [
        (minute_pk(caller.key_id, now), "ADD tokens :t", {":t": n(tokens)}),
        (
            month_pk(caller.key_id, now),
            "ADD tokens :t SET expiresAt = if_not_exists(expiresAt, :ttl)",
            {":t": n(tokens), ":ttl": usage_ttl},
        ),
        (
            usage_pk(caller.key_id, now, model_id),
            "ADD requests :one, inputTokens :i, outputTokens :o "
            "SET keyId = :k, modelId = :m, #day = :d, expiresAt = if_not_exists(expiresAt, :ttl)",
            {
                ":one": n(1),
                ":i": n(input_tokens),
                ":o": n(output_tokens),
                ":k": {"S": caller.key_id},
                ":m": {"S": model_id},
                ":d": {"S": f"{now:%Y-%m-%d}"},
                ":ttl": usage_ttl,
            },
        ),
    ]
    updates = []
    for pk, expression, values in items:
        update = {
            "TableName": TABLE_NAME,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if "#day" in expression:
            update["ExpressionAttributeNames"] = {"#day": "day"}
        updates.append({"Update": update})
    client().transact_write_items(TransactItems=updates)


def usage(caller: Caller, now: datetime) -> dict[str, Any]:
    """GET /usage for a managed key: its limits and this minute's and this month's counters."""
    keys = [{"pk": {"S": minute_pk(caller.key_id, now)}}, {"pk": {"S": month_pk(caller.key_id, now)}}]
    try:
        found = client().batch_get_item(RequestItems={TABLE_NAME: {"Keys": keys, "ConsistentRead": True}})
    except Exception as exc:
        raise unavailable(exc) from exc
    items = {item["pk"]["S"]: item for item in found.get("Responses", {}).get(TABLE_NAME, [])}
    minute = items.get(keys[0]["pk"]["S"], {})
    month = items.get(keys[1]["pk"]["S"], {})
    month_tokens = int(month.get("tokens", {}).get("N", 0))
    return {
        "keyId": caller.key_id,
        "type": "managed",
        "limits": caller.limits(),
        "minute": {
            "requests": int(minute.get("requests", {}).get("N", 0)),
            "tokens": int(minute.get("tokens", {}).get("N", 0)),
            "resetsInSeconds": seconds_to_next_minute(now),
        },
        "month": {
            "tokens": month_tokens,
            "remaining": max(0, caller.monthly_tokens - month_tokens) if caller.monthly_tokens is not None else None,
            "resetsInSeconds": seconds_to_next_month(now),
        },
        "expiresAt": caller.expires_at,
    }


def utcnow() -> datetime:
    return datetime.now(UTC)
