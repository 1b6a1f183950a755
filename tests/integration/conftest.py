"""Integration fixtures: a base URL and token (discovery.py), and the local stand-ins when they are there."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
from discovery import NoTargetError, Target, from_environment

try:
    TARGET: Target | None = from_environment()
    SKIP_REASON = ""
except NoTargetError as missing:
    TARGET, SKIP_REASON = None, str(missing)

TIMEOUT = 35  # a little over API Gateway's 30 s


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if TARGET is None:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
        elif item.get_closest_marker("local_only") and not TARGET.local:
            item.add_marker(pytest.mark.skip(reason="needs the local stand-ins (fault models, SSM writes)"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "local_only: needs the local emulation's stand-ins")


@pytest.fixture(scope="session")
def target() -> Target:
    assert TARGET is not None
    return TARGET


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


class Api:
    """Tiny client: every call has a timeout; `auth` is the raw Authorization header (None: none sent)."""

    def __init__(self, target: Target, session: requests.Session) -> None:
        self.target, self.session = target, session

    def call(self, method: str, path: str, auth: str | None = "default", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if auth == "default":
            headers["Authorization"] = f"Bearer {self.target.token}"
        elif auth is not None:
            headers["Authorization"] = auth
        return self.session.request(method, self.target.url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def invoke(self, payload: Any, **kwargs: Any) -> requests.Response:
        return self.call("POST", "/invoke", json=payload, **kwargs)


@pytest.fixture(scope="session")
def api(target: Target, http: requests.Session) -> Api:
    return Api(target, http)


@pytest.fixture(scope="session")
def ssm(target: Target) -> Any:
    import boto3

    return boto3.client("ssm", endpoint_url=os.environ["LOCAL_SSM_ENDPOINT"], region_name="us-east-1")
