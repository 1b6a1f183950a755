"""After the whole integration run (this file sorts last): no log line of any function, stand-in or the
emulator holds a token or an Authorization header value that the suite sent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from discovery import Target

# Header values the other test files send (wrong and rotated tokens): none may reach a log either.
SENT_ELSEWHERE = ["not-the-token", "rotated-token-2026", "some-other-token-value", "wrong-key"]


@pytest.mark.local_only
def test_no_token_or_authorization_value_in_any_log(target: Target) -> None:
    logs = sorted(Path(os.environ["LOCAL_LOG_DIR"]).glob("*.log"))
    assert {p.name for p in logs} >= {"api.log", "ssm.log", "bedrock.log"}
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert "Authorized" in text or "Denied" in text, "the authorizer's log lines are missing: nothing was checked"
    for secret in [target.token, *SENT_ELSEWHERE]:
        assert secret not in text, f"{secret[:4]}... found in the logs"
    assert "Bearer " not in text
