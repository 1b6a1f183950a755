"""Hostile and broken Authorization headers: never authorized, never a 5xx, never the token in a body."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Api


def variants(token: str) -> dict[str, Any]:
    return {
        "empty": "",
        "whitespace only": "   ",
        "basic scheme": f"Basic {token}",
        "doubled scheme": f"Bearer Bearer {token}",
        "prefixed token": f"Bearer x{token}",
        "suffixed token": f"Bearer {token}x",
        "truncated token": f"Bearer {token[:-1]}",
        "changed case": f"Bearer {token.swapcase()}",
        "list of tokens": f"Bearer {token}, Bearer {token}",
        "comma-joined bare tokens": f"{token},{token}",
        "8 KB header": "Bearer " + "a" * 8192,
        "non-ASCII bytes": b"Bearer \xc3\xa9" + token.encode(),
        "token in quotes": f'Bearer "{token}"',
        "scheme only": "Bearer",
    }


CASES = list(variants("t").keys())


def assert_refused(response: Any, token: str) -> None:
    assert response.status_code in (401, 403), (response.status_code, response.text[:200])
    assert token not in response.text


class RawResponse:
    def __init__(self, status: int, text: str) -> None:
        self.status_code, self.text = status, text


def raw_call(api: Api, method: str, path: str, header: str) -> RawResponse:
    """http.client sends what requests refuses to (e.g. a whitespace-only header value)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(api.target.url)
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.netloc, timeout=35)
    try:
        connection.putrequest(method, path)
        connection.putheader("Authorization", header)
        connection.putheader("Content-Length", "0")
        connection.endheaders()
        response = connection.getresponse()
        return RawResponse(response.status, response.read().decode(errors="replace"))
    finally:
        connection.close()


@pytest.mark.parametrize("case", CASES)
def test_malformed_or_wrong_headers_are_refused(case: str, api: Api) -> None:
    token = api.target.token
    header = variants(token)[case]
    for method, path in (("GET", "/models"), ("POST", "/invoke"), ("POST", "/v1/chat/completions")):
        if isinstance(header, str) and header != header.strip():
            response: Any = raw_call(api, method, path, header)
        else:
            response = api.call(method, path, auth=header, json={"prompt": "hi"} if method == "POST" else None)
        assert_refused(response, token)


def test_missing_header_is_401_everywhere(api: Api) -> None:
    for method, path in (("GET", "/models"), ("POST", "/invoke"), ("GET", "/unknown/route")):
        assert api.call(method, path, auth=None).status_code == 401


@pytest.fixture
def ssm_outage() -> Iterator[None]:
    """Freeze the local SSM server (SIGSTOP): connections hang like an unreachable endpoint."""
    pid = int(os.environ["LOCAL_SSM_PID"])
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.local_only
def test_ssm_unreachable_fails_closed_fast_and_recovers(api: Api, ssm_outage: None) -> None:
    time.sleep(2 + 3 + 0.5)  # let the authorizer cache (2 s) and the token cache (3 s) expire
    for header in (f"Bearer {api.target.token}", "Bearer some-other-token-value"):
        started = time.monotonic()
        response = api.call("GET", "/models", auth=header)
        assert_refused(response, api.target.token)
        assert time.monotonic() - started < 5  # the authorizer gave up before its own 5 s timeout


@pytest.mark.local_only
def test_service_recovers_after_ssm_returns(api: Api) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the cached deny expires after the authorizer TTL
        if api.call("GET", "/models").status_code == 200:
            return
        time.sleep(0.5)
    pytest.fail("the valid token was not accepted again after SSM came back")
