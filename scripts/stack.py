"""Print one output of the deployed stack (make api-url): only the value on stdout, so $(make -s api-url) works.
AWS problems (no region, no credentials, no such stack) are one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
from typing import Any


class StackOutputError(LookupError):
    pass


def output(stack_name: str, key: str, cloudformation: Any = None) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if cloudformation is None:
            import boto3

            cloudformation = boto3.client("cloudformation")
        region = cloudformation.meta.region_name
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        if "does not exist" in message:
            raise StackOutputError(
                f"stack {stack_name} does not exist in {region}: deploy it first, or set STACK_NAME / AWS_REGION"
            ) from None
        raise StackOutputError(message) from None
    except BotoCoreError as error:  # NoRegionError, NoCredentialsError, EndpointConnectionError...
        raise StackOutputError(f"{error} (set AWS_REGION and credentials, e.g. AWS_PROFILE)") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if key not in outputs:
        raise StackOutputError(f"stack {stack_name} has no output {key} (outputs: {', '.join(outputs) or 'none'})")
    return outputs[key]


def main(argv: list[str] | None = None, cloudformation: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--output", default="ApiUrl")
    args = parser.parse_args(argv)
    try:
        print(output(args.stack_name, args.output, cloudformation))
    except StackOutputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
