"""Schemathesis against the committed OpenAPI document, on the running API (bounded example counts).

Positive and negative data for every route: never a 5xx, invalid input never answered with a 2xx, responses
match their documented schemas and content types. Injected Bedrock faults cannot occur: generated model ids are
random strings, never the allowlisted `fault.*` ids.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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


def is_utf8(body: bytes | str | None) -> bool:
    """Whether the bytes on the wire were UTF-8 (http.client sends a str body as ISO-8859-1)."""
    try:
        raw = body.encode("iso-8859-1") if isinstance(body, str) else (body or b"")
        raw.decode()
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True


def query_lost_on_the_wire(case: schemathesis.Case, sent_url: str) -> bool:
    """A negative case whose invalid query never reached the server: parameters without a wire form (empty names,
    None or nested values) are dropped while the request is built, and what was sent is a valid query. Judging the
    API by data it never received would be wrong, so negative-data rejection does not apply to such a case."""
    documented = {p.name for p in case.operation.query}
    required = {p.name for p in case.operation.query if p.is_required}
    sent = set(parse_qs(urlsplit(sent_url).query, keep_blank_values=True))
    generated = set(case.query or {})
    return generated != sent and sent <= documented and required <= sent


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    target = from_environment()
    response = case.call(base_url=target.url, headers={"Authorization": f"Bearer {target.token}"}, timeout=35)
    if os.environ.get("LOCAL_API_MODE") == "docker" and not is_utf8(response.request.body):
        # Known SAM CLI defect: `sam local start-api` answers 502 to a body that is not UTF-8 before any function
        # runs. API Gateway passes such a body base64-encoded: the function answers 400 (tests/unit/test_invoke.py)
        # and the Docker-free emulator restores API Gateway's behaviour, so this skip applies to Docker only.
        return
    checks = CHECKS
    if query_lost_on_the_wire(case, str(response.request.url)):
        checks = [check for check in CHECKS if check is not negative_data_rejection]
    case.validate_response(response, checks=checks)
    assert "Traceback" not in response.text
