"""Manage the gateway's managed keys: per-key models, rate limits, monthly token budgets, expiry, and usage.

  keys.py (--local | --stack-name NAME) create NAME [--models a,b] [--rpm N] [--tpm N] [--monthly-tokens N]
                                                 [--expires YYYY-MM-DD] [--description TEXT]
                                                 [--guardrail ID[:VERSION]]
  keys.py ... list | show NAME | update NAME [options | --clear-models ...] | disable NAME | enable NAME
  keys.py ... revoke NAME | usage [NAME] [--days N]          (--json on any command: one JSON object)

The target is always explicit: --local is the running `make local` (nothing is sent to AWS), --stack-name the
deployed stack's table (from its KeysTableName output) in your AWS region, printed before anything changes.
A new key's token is printed once; the table keeps only its SHA-256. Creating an existing name, or changing one
that does not exist, is refused. A disabled or revoked key stops working within KeyCacheSeconds +
AuthorizerCacheTtl (seconds locally).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import secrets
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "local"))
from settings import local_aws_endpoint  # noqa: E402 - local/ is not a package: on the path above

KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LIMITS = ("rpm", "tpm", "monthlyTokens")
GUARDRAIL_VERSION = re.compile(r"DRAFT|[1-9][0-9]{0,7}")
LOCAL_REGION = "us-east-1"


class KeysError(Exception):
    """A refusal or a problem the user can fix; the message says how."""


class Target:
    """The keys table (local moto or the deployed stack's), and the models that gateway allows."""

    def __init__(self, args: argparse.Namespace, dynamodb: Any = None, cloudformation: Any = None) -> None:
        import boto3

        if args.local:
            env = json.loads((ROOT / "events" / "env.json").read_text())["InvokeFunction"]
            endpoint = local_aws_endpoint()
            self.dynamodb = dynamodb or boto3.client(
                "dynamodb",
                endpoint_url=endpoint,
                region_name=LOCAL_REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 - moto's dummy credentials
            )
            self.table = env["KEYS_TABLE_NAME"]
            self.where = f"local DynamoDB at {endpoint}"
            self.models = {local_default_model(), *split(env.get("ALLOWED_MODEL_IDS", ""))}
            self.models |= set(split(env.get("EMBEDDING_MODEL_IDS", "")))
            self.guardrails = guardrail_ids(env.get("GUARDRAIL_ID", ""), env.get("KEY_GUARDRAIL_ARNS", ""))
            return
        cloudformation = cloudformation or boto3.client("cloudformation", region_name=args.region)
        stack = cloudformation.describe_stacks(StackName=args.stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if "KeysTableName" not in outputs:
            raise KeysError(f"stack {args.stack_name} has no KeysTableName output: deploy this version first")
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        self.dynamodb = dynamodb or boto3.client("dynamodb", region_name=cloudformation.meta.region_name)
        self.table = outputs["KeysTableName"]
        self.where = f"AWS DynamoDB in {cloudformation.meta.region_name} (stack {args.stack_name})"
        self.models = {parameters.get("BedrockModelId", ""), *split(parameters.get("AllowedModelIds", ""))}
        self.models |= set(split(parameters.get("EmbeddingModelIds", "")))
        self.models.discard("")
        self.guardrails = guardrail_ids(parameters.get("GuardrailId", ""), parameters.get("KeyGuardrailArns", ""))


def guardrail_ids(default: str, arns: str) -> set[str]:
    """The guardrails a key may name: the default's id, and the ids ending KeyGuardrailArns."""
    return ({default} | {arn.rsplit("/", 1)[-1] for arn in split(arns)}) - {""}


def split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def local_default_model() -> str:
    from run import template_default  # local/ is on the path (above)

    return template_default("BedrockModelId")


# ---- the table ----------------------------------------------------------------------------------------------------


def get_policy(target: Target, key_id: str) -> tuple[str, dict[str, Any]]:
    found = target.dynamodb.get_item(TableName=target.table, Key={"pk": {"S": f"ID#{key_id}"}}).get("Item")
    if not found:
        raise KeysError(f"no key named '{key_id}' (keys.py list shows them)")
    digest = found["hash"]["S"]
    item = target.dynamodb.get_item(TableName=target.table, Key={"pk": {"S": f"KEY#{digest}"}}).get("Item")
    if not item:
        raise KeysError(f"key '{key_id}' is incomplete in the table; revoke it and create it again")
    return digest, json.loads(item["policy"]["S"])


def put_policy(target: Target, digest: str, policy: dict[str, Any]) -> None:
    target.dynamodb.put_item(
        TableName=target.table,
        Item={"pk": {"S": f"KEY#{digest}"}, "policy": {"S": json.dumps(policy, separators=(",", ":"))}},
        ConditionExpression="attribute_exists(pk)",
    )


def scan(target: Target, prefix: str) -> list[dict[str, Any]]:
    items, start = [], None
    while True:
        kwargs: dict[str, Any] = {
            "TableName": target.table,
            "FilterExpression": "begins_with(pk, :p)",
            "ExpressionAttributeValues": {":p": {"S": prefix}},
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = target.dynamodb.scan(**kwargs)
        items += page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


# ---- commands -----------------------------------------------------------------------------------------------------


def limits_from(args: argparse.Namespace, target: Target, policy: dict[str, Any]) -> dict[str, Any]:
    """Apply the options to a policy (create starts from an empty one)."""
    if args.models is not None:
        models = split(args.models)
        unknown = sorted(set(models) - target.models)
        if unknown or not models:
            raise KeysError(
                f"--models: {', '.join(unknown) or '(empty)'} not allowed by this gateway "
                f"(it allows: {', '.join(sorted(target.models))})"
            )
        policy["models"] = models
    for option, name in (("rpm", "rpm"), ("tpm", "tpm"), ("monthly_tokens", "monthlyTokens")):
        value = getattr(args, option)
        if value is not None:
            if value < 1:
                raise KeysError(f"--{option.replace('_', '-')} must be at least 1")
            policy[name] = value
    if args.expires is not None:
        day = date.fromisoformat(args.expires)
        if day <= datetime.now(UTC).date():
            raise KeysError("--expires must be a future date (the key stops working at 00:00 UTC that day)")
        policy["expiresAt"] = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    if args.description is not None:
        policy["description"] = args.description[:500]
    if args.guardrail is not None:
        guardrail_id, _, version = args.guardrail.partition(":")
        if guardrail_id not in target.guardrails:
            raise KeysError(
                f"--guardrail: '{guardrail_id}' is not allowed by this gateway (GuardrailId and KeyGuardrailArns "
                f"allow: {', '.join(sorted(target.guardrails)) or 'none'})"
            )
        if version and not GUARDRAIL_VERSION.fullmatch(version):
            raise KeysError("--guardrail: the version must be DRAFT or a number, as in ID:1")
        policy["guardrail"] = f"{guardrail_id}:{version or 'DRAFT'}"
    for name in ("models", "rpm", "tpm", "monthlyTokens", "expiresAt", "description", "guardrail"):
        if getattr(args, f"clear_{name}", False):
            policy[name] = None
    return policy


def create(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    if not KEY_ID.fullmatch(args.name):
        raise KeysError("NAME must be 1-64 characters of letters, digits, '.', '_' or '-', starting alphanumeric")
    token = secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    policy: dict[str, Any] = {
        "keyId": args.name,
        "models": None,
        "rpm": None,
        "tpm": None,
        "monthlyTokens": None,
        "expiresAt": None,
        "guardrail": None,
        "disabled": False,
        "description": "",
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    policy = limits_from(args, target, policy)
    try:
        target.dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": target.table,
                        "Item": {"pk": {"S": f"ID#{args.name}"}, "hash": {"S": digest}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": target.table,
                        "Item": {
                            "pk": {"S": f"KEY#{digest}"},
                            "policy": {"S": json.dumps(policy, separators=(",", ":"))},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    except target.dynamodb.exceptions.TransactionCanceledException:
        raise KeysError(
            f"a key named '{args.name}' exists already: pick another name, or `update {args.name}`"
        ) from None
    return {**policy, "token": token}


def update(target: Target, args: argparse.Namespace, **changes: Any) -> dict[str, Any]:
    digest, policy = get_policy(target, args.name)
    policy = limits_from(args, target, policy) if not changes else {**policy, **changes}
    put_policy(target, digest, policy)
    return policy


def revoke(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    digest, _ = get_policy(target, args.name)
    target.dynamodb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": target.table, "Key": {"pk": {"S": f"ID#{args.name}"}}}},
            {"Delete": {"TableName": target.table, "Key": {"pk": {"S": f"KEY#{digest}"}}}},
        ]
    )
    return {"keyId": args.name, "revoked": True}


def list_keys(target: Target) -> dict[str, Any]:
    policies = [json.loads(item["policy"]["S"]) for item in scan(target, "KEY#")]
    return {"keys": sorted(policies, key=lambda p: p["keyId"])}


def usage(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """From the meter items (METER#<key>#<YYYYMM>), whose `u#<DD>#<model>#req|in|out` counters hold each day."""
    since = (datetime.now(UTC).date() - timedelta(days=args.days - 1)).isoformat()
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in scan(target, f"METER#{args.name}#" if args.name else "METER#"):
        _, key_id, month = item["pk"]["S"].split("#", 2)
        for attribute, value in item.items():
            if not attribute.startswith("u#"):
                continue
            _, dd, rest = attribute.split("#", 2)
            model, counter = rest.rsplit("#", 1)
            day = f"{month[:4]}-{month[4:]}-{dd}"
            if day < since:
                continue
            row = rows.setdefault(
                (key_id, model, day),
                {"keyId": key_id, "modelId": model, "day": day, "requests": 0, "inputTokens": 0, "outputTokens": 0},
            )
            row[{"req": "requests", "in": "inputTokens", "out": "outputTokens"}[counter]] = int(value["N"])
    return {"since": since, "usage": [rows[k] for k in sorted(rows)]}


# ---- output -------------------------------------------------------------------------------------------------------


def show(policy: dict[str, Any]) -> str:
    expires = (
        datetime.fromtimestamp(policy["expiresAt"], UTC).date().isoformat() if policy.get("expiresAt") else "never"
    )
    limits = ", ".join(f"{name}={policy[name]}" for name in LIMITS if policy.get(name) is not None) or "no limits"
    models = ",".join(policy["models"]) if policy.get("models") else "all models"
    if policy.get("guardrail"):
        models += f", guardrail {policy['guardrail']}"
    state = "DISABLED" if policy.get("disabled") else "enabled"
    return f"{policy['keyId']:<24} {state:<8} {limits:<40} {models} (expires {expires}) {policy.get('description', '')}"


def text(command: str, result: dict[str, Any]) -> str:
    if command == "create":
        return result["token"]
    if command == "list":
        return "\n".join(show(p) for p in result["keys"]) or "(no managed keys)"
    if command == "usage":
        header = f"{'key':<20} {'model':<36} {'day':<10} {'requests':>8} {'input':>10} {'output':>10}"
        lines = [
            f"{r['keyId']:<20} {r['modelId']:<36} {r['day']:<10} {r['requests']:>8} {r['inputTokens']:>10} "
            f"{r['outputTokens']:>10}"
            for r in result["usage"]
        ]
        return "\n".join([header, *lines])
    if command == "revoke":
        return f"revoked {result['keyId']}"
    return show(result)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = root.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true", help="the running `make local` (never AWS)")
    where.add_argument("--stack-name", help="the deployed stack whose keys table to use")
    root.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    root.add_argument("--json", action="store_true", help="print one JSON object")
    commands = root.add_subparsers(dest="command", required=True)

    def with_limits(command: argparse.ArgumentParser, clearing: bool) -> None:
        command.add_argument("--models", help="comma-separated model ids this key may use (default: all)")
        command.add_argument("--rpm", type=int, help="requests per minute")
        command.add_argument("--tpm", type=int, help="tokens (input + output) per minute")
        command.add_argument("--monthly-tokens", type=int, help="tokens per calendar month (UTC)")
        command.add_argument("--expires", help="YYYY-MM-DD: the key stops working at 00:00 UTC that day")
        command.add_argument("--description", help="who holds it, what for")
        command.add_argument(
            "--guardrail", help="ID[:VERSION]: a Bedrock guardrail for this key instead of the stack's default"
        )
        if clearing:
            for name in ("models", "rpm", "tpm", "monthlyTokens", "expiresAt", "description", "guardrail"):
                flag = {"monthlyTokens": "monthly-tokens", "expiresAt": "expires"}.get(name, name)
                command.add_argument(f"--clear-{flag}", dest=f"clear_{name}", action="store_true")

    with_limits(commands.add_parser("create", help="create a key; prints its token once"), clearing=False)
    commands.choices["create"].add_argument("name")
    commands.add_parser("list", help="every key and its limits")
    for name in ("show", "disable", "enable", "revoke"):
        commands.add_parser(name).add_argument("name")
    update_parser = commands.add_parser("update", help="change limits (--clear-X removes one)")
    update_parser.add_argument("name")
    with_limits(update_parser, clearing=True)
    usage_parser = commands.add_parser("usage", help="requests and tokens per key, model and UTC day")
    usage_parser.add_argument("name", nargs="?")
    usage_parser.add_argument("--days", type=int, default=7)
    return root


def main(argv: list[str] | None = None, dynamodb: Any = None, cloudformation: Any = None) -> int:
    args = parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        target = Target(args, dynamodb, cloudformation)
        print(f"==> keys table {target.table} on {target.where}", file=sys.stderr)
        if args.command == "create":
            result = create(target, args)
        elif args.command == "list":
            result = list_keys(target)
        elif args.command == "show":
            result = get_policy(target, args.name)[1]
        elif args.command == "update":
            result = update(target, args)
        elif args.command in ("disable", "enable"):
            result = update(target, args, disabled=args.command == "disable")
        elif args.command == "revoke":
            result = revoke(target, args)
        else:
            result = usage(target, args)
    except (KeysError, ValueError) as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        hint = " Is `make local` running?" if args.local else ""
        print(f"error: {error}.{hint}", file=sys.stderr)
        return 2
    if args.command == "create" and not args.json:
        print(f"==> created {result['keyId']}; its token is shown once, on the next line:", file=sys.stderr)
    print(json.dumps(result) if args.json else text(args.command, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
