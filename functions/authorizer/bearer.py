"""Bearer-token parsing and constant-time matching: pure functions, no AWS.

Written by hand: no library parses the project's key-ring format, and the comparison must hash both sides so
that neither the token length nor the position of the first differing byte leaks through timing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

# RFC 6750 token68 characters; anything else (spaces, commas, quotes, non-ASCII) is not a token we issued.
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN_LENGTH = 512
DEFAULT_KEY_ID = "default"


class MalformedHeaderError(ValueError):
    """The Authorization header cannot hold a token we issued; the reason never includes the header value."""


class InvalidKeyRingError(ValueError):
    """The SSM parameter does not hold a usable token or key ring."""


def extract_token(header: str | None) -> str:
    """Accept `Bearer <token>` (scheme in any case) or a bare token, and nothing else."""
    if header is None:
        raise MalformedHeaderError("missing")
    value = header.strip()
    if not value:
        raise MalformedHeaderError("empty")
    scheme, _, rest = value.partition(" ")
    if rest:
        if scheme.lower() != "bearer":
            raise MalformedHeaderError("unsupported scheme")
        value = rest.strip()
    if len(value) > MAX_TOKEN_LENGTH:
        raise MalformedHeaderError("too long")
    if not _TOKEN68.fullmatch(value):
        raise MalformedHeaderError("not a token")
    return value


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class KeyRing:
    """Valid keys as (key id, SHA-256 of token): the tokens themselves are not kept."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, value: str) -> KeyRing:
        """Read one plain token, or a JSON object {"<key id>": "<token>", ...} used during rotations."""
        text = value.strip()
        if not text:
            raise InvalidKeyRingError("parameter is empty")
        if not text.startswith("{"):
            if not _TOKEN68.fullmatch(text):
                raise InvalidKeyRingError("parameter does not hold a token")
            return cls(((DEFAULT_KEY_ID, _digest(text)),))
        try:
            entries = json.loads(text)
        except ValueError:
            raise InvalidKeyRingError("parameter is not valid JSON") from None
        if not isinstance(entries, dict) or not entries:
            raise InvalidKeyRingError("key ring must be a non-empty JSON object")
        keys = []
        for key_id, token in entries.items():
            if not isinstance(token, str) or not _TOKEN68.fullmatch(token):
                raise InvalidKeyRingError("every key ring value must be a token")
            keys.append((str(key_id), _digest(token)))
        return cls(tuple(keys))

    def match(self, token: str) -> str | None:
        """Return the id of the key equal to `token`; every key is compared, so timing does not tell which."""
        presented = _digest(token)
        found = None
        for key_id, digest in self.keys:
            if hmac.compare_digest(presented, digest) and found is None:
                found = key_id
        return found
