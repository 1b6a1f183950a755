"""Print the OpenAPI document of the invoke function's routes (make openapi writes docs/openapi.json)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

FUNCTION = Path(__file__).resolve().parents[1] / "functions" / "invoke"


def document() -> dict:
    """Generated from the resolver's typed routes, so the document cannot drift from the code."""
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bedrock-gateway")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name, value in (
        ("BEDROCK_MODEL_ID", "amazon.nova-micro-v1:0"),
        ("MAX_OUTPUT_TOKENS", "1024"),
        ("ALLOWED_MODEL_IDS", ""),
    ):
        os.environ[name] = value  # template defaults: the published limits
    sys.path.insert(0, str(FUNCTION))
    import app

    spec = json.loads(
        app.app.get_openapi_json_schema(
            title="Bedrock Gateway",
            version="1.0.0",
            description="Authenticated HTTP API in front of Amazon Bedrock (Converse). "
            "Send `Authorization: Bearer <token>` on every route but /health.",
        )
    )
    spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            if path != "/health":
                operation["security"] = [{"bearer": []}]
    return spec


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, sort_keys=True))
