"""Header parsing and key-ring matching (no AWS)."""

from __future__ import annotations

import json

import pytest

from bearer import DEFAULT_KEY_ID, InvalidKeyRingError, KeyRing, MalformedHeaderError, extract_token

TOKEN = "Zm9vYmFyLXRva2VuLXdpdGgtMzItYnl0ZXMtb2YtZW50cm9weQ"


@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER {TOKEN}", f"  Bearer   {TOKEN}  ", TOKEN, f" {TOKEN}\t"],
)
def test_accepts_bearer_in_any_case_and_bare_token(header: str) -> None:
    assert extract_token(header) == TOKEN


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "empty"),
        ("   ", "empty"),
        (f"Basic {TOKEN}", "unsupported scheme"),
        (f"Token {TOKEN}", "unsupported scheme"),
        (f"Bearer Bearer {TOKEN}", "not a token"),
        (f"{TOKEN},{TOKEN}", "not a token"),
        (f"{TOKEN} {TOKEN}", "unsupported scheme"),
        ("Bearer " + "a" * 8192, "too long"),
        ("Bearer tökén", "not a token"),
        ('Bearer "quoted"', "not a token"),
    ],
)
def test_rejects_malformed_headers_without_echoing_them(header: str | None, reason: str) -> None:
    with pytest.raises(MalformedHeaderError) as info:
        extract_token(header)
    assert str(info.value) == reason
    assert TOKEN not in str(info.value)


def test_plain_parameter_is_one_default_key() -> None:
    ring = KeyRing.parse(TOKEN + "\n")
    assert ring.match(TOKEN) == DEFAULT_KEY_ID
    assert ring.match(TOKEN + "x") is None
    assert ring.match(TOKEN[:-1]) is None
    assert ring.match(TOKEN.upper()) is None


def test_key_ring_names_the_matching_key_and_keeps_no_token() -> None:
    ring = KeyRing.parse(json.dumps({"2026-11": "new-token-value", "2026-10": "old-token-value"}))
    assert ring.match("new-token-value") == "2026-11"
    assert ring.match("old-token-value") == "2026-10"
    assert ring.match("other") is None
    assert "token-value" not in repr(ring)


@pytest.mark.parametrize("value", ["", "  ", "{", "[]", "{}", '{"a": 5}', '{"a": "has space"}', "two words"])
def test_unusable_parameters_are_rejected(value: str) -> None:
    with pytest.raises(InvalidKeyRingError):
        KeyRing.parse(value)
