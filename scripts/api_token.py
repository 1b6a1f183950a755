"""Create, rotate or remove API tokens in the SSM SecureString (the gateway's root key ring), safely.

Every change is announced first (where: local SSM or AWS, region, parameter), and nothing is lost by accident:
- a parameter that does not exist is created only with --create (a typo in the name or region is an error);
- replacing an existing key id (--rotate ID), or overwriting a parameter that holds keys (plain mode), needs
  --force: its holders would lose access at once;
- --remove never removes the last key.
A new token is printed once, alone on stdout (TOKEN=$(...) captures it); everything else goes to stderr.
--local targets the SSM stand-in of `make local` instead of AWS.

Key ring format: {"<key id>": "<token>", ...}; a plain value is one key named "default".
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local"))
from settings import local_aws_endpoint  # local/ is not a package: on the path above

LOCAL_REGION = "us-east-1"


class RefusalError(Exception):
    """What the user asked would lose keys or touch the wrong parameter; the message says what to type."""


def key_ring(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    text = value.strip()
    return json.loads(text) if text.startswith("{") else {"default": text}


def ssm_client(local: bool, region: str | None) -> Any:
    import boto3

    if local:
        return boto3.client(
            "ssm",
            endpoint_url=local_aws_endpoint(),
            region_name=LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto's dummy credentials
        )
    return boto3.client("ssm", region_name=region) if region else boto3.client("ssm")


def plan(args: argparse.Namespace, current: str | None) -> tuple[str, str | None, str]:
    """(new value, new token or None, what happened) for the request, or RefusalError."""
    ring = key_ring(current)
    name = args.parameter
    if current is None and not args.create:
        raise RefusalError(
            f"parameter {name} does not exist here. Check the name and region (--region), or add --create to create it"
        )
    if args.remove:
        if args.remove not in ring:
            raise RefusalError(f"key '{args.remove}' is not in {name} (keys: {', '.join(sorted(ring)) or 'none'})")
        if len(ring) == 1:
            raise RefusalError(f"'{args.remove}' is the last key of {name}. Add its successor first: --rotate NEW_ID")
        del ring[args.remove]
        return json.dumps(ring), None, f"key '{args.remove}' removed; it stops working within the cache TTLs"
    token = secrets.token_urlsafe(32)
    if args.rotate:
        if args.rotate in ring and not args.force:
            raise RefusalError(
                f"key '{args.rotate}' already exists in {name}: replacing it locks its holders out at once. "
                f"Pick a new id (e.g. --rotate {args.rotate}-2), or add --force to replace it"
            )
        ring[args.rotate] = token
        return json.dumps(ring), token, f"key '{args.rotate}' added ({len(ring)} keys)"
    if ring and not args.force:
        raise RefusalError(
            f"{name} already holds {len(ring)} key(s) ({', '.join(sorted(ring))}); a plain write replaces them "
            "all. Add a key and keep the others with --rotate NEW_ID, or replace everything with --force"
        )
    return token, token, "one token written (key id 'default')"


def main(argv: list[str] | None = None, ssm: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parameter", required=True, help="SSM parameter name, e.g. /bedrock-gateway/api-token")
    parser.add_argument("--local", action="store_true", help="the SSM stand-in of `make local`, not AWS")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--kms-key-id", help="customer-managed KMS key (default: aws/ssm)")
    parser.add_argument("--create", action="store_true", help="create the parameter if it does not exist")
    parser.add_argument("--force", action="store_true", help="allow replacing an existing key or key ring")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--rotate", metavar="KEY_ID", help="add a new key to the key ring, keep the others")
    group.add_argument("--remove", metavar="KEY_ID", help="remove a key from the key ring")
    group.add_argument("--list", action="store_true", help="list the key ids (never the tokens)")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        ssm = ssm or ssm_client(args.local, args.region)
        where = f"local SSM at {ssm.meta.endpoint_url}" if args.local else f"AWS SSM in {ssm.meta.region_name}"
        print(f"==> {where}: parameter {args.parameter}", file=sys.stderr)
        try:
            current = ssm.get_parameter(Name=args.parameter, WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            current = None
        if args.list:
            if current is None:
                raise RefusalError(f"parameter {args.parameter} does not exist here")
            print("\n".join(sorted(key_ring(current))))
            return 0
        value, token, done = plan(args, current)
        extra = {"KeyId": args.kms_key_id} if args.kms_key_id else {}
        ssm.put_parameter(
            Name=args.parameter, Value=value, Type="SecureString", Overwrite=True, Tier="Standard", **extra
        )
    except RefusalError as refusal:
        print(f"refused: {refusal}.", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:  # no region, no credentials, no endpoint, access denied...
        hint = " Is `make local` running?" if args.local else ""
        print(f"error: {error}.{hint}", file=sys.stderr)
        return 2
    print(f"==> {done}.", file=sys.stderr)
    if token:
        print("    The token is shown once, on the next line; keep it in your secret manager.", file=sys.stderr)
        print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
