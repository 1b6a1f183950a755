"""The valid keys, read from the SSM SecureString through Powertools Parameters and cached per container."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from bearer import KeyRing

Fetch = Callable[..., str]


TRIMMED_MODELS = Path(__file__).with_name("botocore_data")  # SSM model cut to GetParameter: faster client creation


@cache
def ssm_fetch() -> Fetch:
    """SSMProvider with short timeouts so an unreachable SSM fails fast (closed) inside the 5 s authorizer."""
    import boto3
    import botocore.session
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from botocore.config import Config

    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(TRIMMED_MODELS))
    # Worst case 2 x (1 s + 1 s) + backoff: fails closed well inside the 5 s authorizer timeout.
    config = Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2})
    client = boto3.Session(botocore_session=session).client("ssm", config=config)
    return SSMProvider(boto3_client=client).get


class TokenStore:
    """Keeps the parsed key ring; a miss may force one SSM re-read per `refresh_interval` to pick up rotations.

    `max_age` bounds how long a removed key stays valid in a warm container; `refresh_interval` bounds both how
    soon a new key works and how often unknown tokens can make the authorizer call SSM.
    """

    def __init__(
        self,
        parameter_name: str,
        max_age: int,
        refresh_interval: float,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.parameter_name = parameter_name
        self.max_age = max_age
        self.refresh_interval = refresh_interval
        self._fetch = fetch
        self._clock = clock
        self._last_forced = float("-inf")
        self._raw: str | None = None
        self._ring: KeyRing | None = None

    def _key_ring(self, force: bool) -> KeyRing:
        fetch = self._fetch or ssm_fetch()
        raw = fetch(self.parameter_name, decrypt=True, max_age=self.max_age, force_fetch=force)
        if raw != self._raw or self._ring is None:
            self._ring, self._raw = KeyRing.parse(raw), raw
        return self._ring

    def identify(self, token: str) -> str | None:
        """Key id for `token`, or None. Raises on SSM or parameter errors: the caller fails closed."""
        key_id = self._key_ring(force=False).match(token)
        if key_id is None and self._clock() - self._last_forced >= self.refresh_interval:
            self._last_forced = self._clock()
            key_id = self._key_ring(force=True).match(token)
        return key_id
