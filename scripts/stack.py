"""Print one output of the deployed stack (make api-url)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def output(stack_name: str, key: str, cloudformation: Any = None) -> str:
    if cloudformation is None:
        import boto3

        cloudformation = boto3.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return next(o["OutputValue"] for o in stack.get("Outputs", []) if o["OutputKey"] == key)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--output", default="ApiUrl")
    args = parser.parse_args()
    print(output(args.stack_name, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
