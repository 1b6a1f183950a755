"""docs/openapi.json is what the code serves: regenerate with `make openapi` when a route changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_committed_document_matches_the_routes() -> None:
    generated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "openapi.py")], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    committed = (ROOT / "docs" / "openapi.json").read_text()
    assert json.loads(generated) == json.loads(committed), "run `make openapi` and commit docs/openapi.json"


def test_document_covers_every_route_and_secures_them() -> None:
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert set(spec["paths"]) == {
        "/health",
        "/invoke",
        "/models",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/models",
        "/v1/models/{model_id}",
        "/usage",
    }
    assert "security" not in spec["paths"]["/health"]["get"]
    assert spec["paths"]["/invoke"]["post"]["security"] == [{"bearer": []}]
    request = spec["components"]["schemas"]["InvokeRequest"]["properties"]
    assert {"prompt", "messages", "system", "modelId", "maxTokens", "temperature", "topP", "stopSequences"} <= set(
        request
    )
