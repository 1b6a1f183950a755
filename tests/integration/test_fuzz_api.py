"""Schemathesis against the committed OpenAPI document, on the running API (bounded example counts).

Positive and negative data for every route: never a 5xx, invalid input never answered with a 2xx, responses
match their documented schemas and content types. Injected Bedrock faults cannot occur: generated model ids are
random strings, never the allowlisted `fault.*` ids.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from discovery import from_environment
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

ROOT = Path(__file__).resolve().parents[2]
schema = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi.json"))
CHECKS = [not_a_server_error, negative_data_rejection, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    target = from_environment()
    response = case.call_and_validate(
        base_url=target.url, headers={"Authorization": f"Bearer {target.token}"}, checks=CHECKS, timeout=35
    )
    assert "Traceback" not in response.text
