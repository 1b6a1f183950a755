"""Write the SSM service model trimmed to GetParameter into functions/authorizer/botocore_data/.

Why: botocore parses a service's whole model when a client is created. SSM's is ~1.5 MB of JSON, and parsing it
was the largest single item of the authorizer's cold start (ssm client 84 ms vs 44 ms for bedrock-runtime here).
The authorizer calls one operation, so it ships a model with that operation and the shapes it reaches; botocore
reads it first (token_store.py puts the folder at the front of the loader's search path). Generated from the
pinned botocore, never edited by hand; tests/unit/test_trimmed_model.py fails when it is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SERVICE, VERSION, OPERATIONS = "ssm", "2014-11-06", ("GetParameter",)
TARGET = Path(__file__).resolve().parents[1] / "functions" / "authorizer" / "botocore_data" / SERVICE / VERSION


def trimmed() -> dict[str, Any]:
    from botocore.loaders import Loader

    model = Loader().load_service_model(SERVICE, "service-2", VERSION)
    shapes: dict[str, Any] = {}

    def visit(name: str) -> None:
        if name in shapes:
            return
        shape = model["shapes"][name]
        shapes[name] = {k: v for k, v in shape.items() if k != "documentation"}
        for ref in [*shape.get("members", {}).values(), shape.get("member"), shape.get("key"), shape.get("value")]:
            if ref:
                visit(ref["shape"])

    operations = {}
    for op_name in OPERATIONS:
        operation = {k: v for k, v in model["operations"][op_name].items() if k != "documentation"}
        operations[op_name] = operation
        for ref in [operation.get("input"), operation.get("output"), *operation.get("errors", [])]:
            if ref:
                visit(ref["shape"])
    for shape in shapes.values():
        for member in shape.get("members", {}).values():
            member.pop("documentation", None)
    return {
        "version": model.get("version", "2.0"),
        "metadata": model["metadata"],
        "operations": operations,
        "shapes": dict(sorted(shapes.items())),
    }


def render() -> str:
    return json.dumps(trimmed(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    TARGET.mkdir(parents=True, exist_ok=True)
    (TARGET / "service-2.json").write_text(render())
    print(f"wrote {TARGET / 'service-2.json'}", file=sys.stderr)
