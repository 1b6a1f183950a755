"""Create or rotate the API token: a random 256-bit token written to SSM as a SecureString, printed once.

Plain mode (default) overwrites the parameter with one token: old tokens stop working once caches expire.
`--rotate KEY_ID` adds a key to the key ring instead ({"<key id>": "<token>", ...}), keeping the existing keys
valid until you remove them with `--remove KEY_ID`.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any


def key_ring(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    text = value.strip()
    return json.loads(text) if text.startswith("{") else {"default": text}


def main(argv: list[str] | None = None, ssm: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parameter", required=True, help="SSM parameter name, e.g. /bedrock-gateway/api-token")
    parser.add_argument("--kms-key-id", help="customer-managed KMS key (default: aws/ssm)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--rotate", metavar="KEY_ID", help="add a new key to the key ring, keep the others")
    group.add_argument("--remove", metavar="KEY_ID", help="remove a key from the key ring")
    args = parser.parse_args(argv)
    if ssm is None:
        import boto3

        ssm = boto3.client("ssm")

    current: str | None = None
    if args.rotate or args.remove:
        try:
            current = ssm.get_parameter(Name=args.parameter, WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            current = None
    ring = key_ring(current)
    token = None
    if args.remove:
        if args.remove not in ring or len(ring) == 1:
            print(f"error: key '{args.remove}' is not in the ring, or is the last key", file=sys.stderr)
            return 2
        del ring[args.remove]
        value = json.dumps(ring)
    else:
        token = secrets.token_urlsafe(32)
        if args.rotate:
            ring[args.rotate] = token
            value = json.dumps(ring)
        else:
            value = token
    extra = {"KeyId": args.kms_key_id} if args.kms_key_id else {}
    ssm.put_parameter(Name=args.parameter, Value=value, Type="SecureString", Overwrite=True, Tier="Standard", **extra)
    if token:
        print(f"Token written to {args.parameter} (SecureString). It is shown once; store it in your secret manager:")
        print(token)
    else:
        print(f"Key '{args.remove}' removed from {args.parameter}; it stops working within the cache TTLs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
