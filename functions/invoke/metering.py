"""Managed keys' counters in the keys table (DynamoDB): one item per key and month, updated atomically.

Item METER#<key id>#<YYYYMM>: `tokens` (this month), `mid` (the current minute, YYYYMMDDHHMM) with `mreq` and
`mtok` (its requests and tokens), and the month's usage per day and model as top-level counters named
`u#<DD>#<model>#req|in|out`. DynamoDB applies a conditional update atomically, across every container.

- Before the model call (only for keys with rpm, tpm or monthlyTokens): one UpdateItem adds 1 to `mreq` if this
  is still `mid` and every limit holds (mreq < rpm, mtok < tpm, tokens < monthlyTokens). When it fails, one
  read says why: a limit (429, Retry-After until the minute or the month ends), or a new minute, which one more
  conditional write starts (so the first request of a minute costs three calls, the others one).
  `rpm: 5` admits exactly 5 of 12 simultaneous requests.
- After the answer: one UpdateItem adds its tokens to the month, the minute and the day's (model) counters.
  Tokens are known only then, so a token limit can be overshot by the requests in flight when it is reached.
- A key-store failure before the call is a 503 with Retry-After: no call is ever unmetered. After the call, the
  answer exists already: a failure to record is logged and counted (UsageRecordErrors metric).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from caller import Caller
from errors import GatewayError

TABLE_NAME = os.getenv("KEYS_TABLE_NAME", "")
RETENTION = timedelta(days=400)  # meter items expire (TTL) about 13 months after their month
BUDGET = "(attribute_not_exists(tokens) OR tokens < :budget)"  # this month's tokens under the monthly budget


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


def meter_pk(key_id: str, now: datetime) -> str:
    return f"METER#{key_id}#{now:%Y%m}"


def minute_of(now: datetime) -> str:
    return f"{now:%Y%m%d%H%M}"


def seconds_to_next_minute(now: datetime) -> int:
    return max(1, 60 - now.second)


def seconds_to_next_month(now: datetime) -> int:
    return max(1, int((next_month(now) - now).total_seconds()))


def next_month(now: datetime) -> datetime:
    return (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)


def retention_ttl(now: datetime) -> dict[str, str]:
    return n(int((next_month(now) + RETENTION).timestamp()))


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def number(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", 0))


def unavailable(exc: Exception) -> GatewayError:
    return GatewayError(
        503,
        "The key store is unavailable; retry later.",
        kind="service_unavailable",
        detail=f"{type(exc).__name__}: {exc}",
        code="key_store_unavailable",
    )


def conditional_failure(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def admit(caller: Caller, now: datetime) -> None:
    """Count this request against the key's limits, or refuse it (429) before any paid call."""
    if not caller.managed or not caller.limited:
        return
    key = {"pk": {"S": meter_pk(caller.key_id, now)}}
    clauses, values = ["mid = :minute"], {":one": n(1), ":minute": {"S": minute_of(now)}}
    for attribute, limit, placeholder in (("mreq", caller.rpm, ":rpm"), ("mtok", caller.tpm, ":tpm")):
        if limit is not None:
            clauses.append(f"{attribute} < {placeholder}")
            values[placeholder] = n(limit)
    if caller.monthly_tokens is not None:
        clauses.append(BUDGET)
        values[":budget"] = n(caller.monthly_tokens)
    try:
        for _ in range(3):  # a minute that just started is rolled by whoever comes first: then count again
            if conditional_update(key, "ADD mreq :one", " AND ".join(clauses), values):
                return
            item = client().get_item(TableName=TABLE_NAME, Key=key, ConsistentRead=True).get("Item", {})
            if caller.monthly_tokens is not None and number(item, "tokens") >= caller.monthly_tokens:
                raise budget_spent(caller, now)
            if item.get("mid", {}).get("S") == minute_of(now):
                raise rate_limited(caller, item, now)
            if start_minute(caller, key, now):
                return
        raise unavailable(RuntimeError("the minute's counter kept changing"))
    except GatewayError:
        raise
    except Exception as exc:
        raise unavailable(exc) from exc


def start_minute(caller: Caller, key: dict[str, Any], now: datetime) -> bool:
    """Open this minute's counters with this request as its first; False if another container just did."""
    values = {":minute": {"S": minute_of(now)}, ":one": n(1), ":zero": n(0), ":ttl": retention_ttl(now)}
    condition = "(attribute_not_exists(mid) OR mid <> :minute)"
    if caller.monthly_tokens is not None:
        condition = f"{condition} AND {BUDGET}"
        values[":budget"] = n(caller.monthly_tokens)
    return conditional_update(key, "SET mid = :minute, mreq = :one, mtok = :zero, expiresAt = :ttl", condition, values)


def conditional_update(key: dict[str, Any], update: str, condition: str, values: dict[str, Any]) -> bool:
    """One atomic conditional UpdateItem: True if applied, False if its condition did not hold."""
    try:
        client().update_item(
            TableName=TABLE_NAME,
            Key=key,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
    except Exception as exc:
        if conditional_failure(exc):
            return False
        raise
    return True


def rate_limited(caller: Caller, item: dict[str, Any], now: datetime) -> GatewayError:
    rpm_reached = caller.rpm is not None and number(item, "mreq") >= caller.rpm
    limit = f"{caller.rpm} requests" if rpm_reached else f"{caller.tpm} tokens"
    return GatewayError(
        429,
        f"This key's limit of {limit} per minute is reached; retry in the next minute.",
        kind="rate_limit_error",
        code="rate_limit_exceeded",
        retry_after=seconds_to_next_minute(now),
    )


def budget_spent(caller: Caller, now: datetime) -> GatewayError:
    return GatewayError(
        429,
        f"This key's monthly budget of {caller.monthly_tokens} tokens is spent; it renews on the 1st (UTC).",
        kind="insufficient_quota",
        code="insufficient_quota",
        retry_after=seconds_to_next_month(now),
    )


def record(caller: Caller, model_id: str, input_tokens: int, output_tokens: int, now: datetime) -> None:
    """Add an answered request to the month, the minute and the day's counters for its model: one write."""
    if not caller.managed:
        return
    day = f"u#{now:%d}#{model_id}"
    client().update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": meter_pk(caller.key_id, now)}},
        UpdateExpression="ADD tokens :t, mtok :t, #req :one, #in :i, #out :o SET keyId = :k, expiresAt = :ttl",
        ExpressionAttributeNames={"#req": f"{day}#req", "#in": f"{day}#in", "#out": f"{day}#out"},
        ExpressionAttributeValues={
            ":t": n(input_tokens + output_tokens),
            ":one": n(1),
            ":i": n(input_tokens),
            ":o": n(output_tokens),
            ":k": {"S": caller.key_id},
            ":ttl": retention_ttl(now),
        },
    )


def usage(caller: Caller, now: datetime) -> dict[str, Any]:
    """GET /usage for a managed key: its limits, this minute's and this month's counters (one read)."""
    try:
        item = (
            client()
            .get_item(TableName=TABLE_NAME, Key={"pk": {"S": meter_pk(caller.key_id, now)}}, ConsistentRead=True)
            .get("Item", {})
        )
    except Exception as exc:
        raise unavailable(exc) from exc
    this_minute = item.get("mid", {}).get("S") == minute_of(now)
    month_tokens = number(item, "tokens")
    return {
        "keyId": caller.key_id,
        "type": "managed",
        "limits": caller.limits(),
        "minute": {
            "requests": number(item, "mreq") if this_minute else 0,
            "tokens": number(item, "mtok") if this_minute else 0,
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
