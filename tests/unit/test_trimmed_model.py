"""The authorizer's trimmed SSM model: current with the pinned botocore, and used by its client."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import trim_botocore_model  # noqa: E402


def test_committed_model_is_regenerated_from_pinned_botocore() -> None:
    committed = (trim_botocore_model.TARGET / "service-2.json").read_text()
    assert committed == trim_botocore_model.render(), "run: .venv/bin/python scripts/trim_botocore_model.py"


def test_authorizer_client_loads_only_get_parameter() -> None:
    import token_store

    token_store.ssm_fetch.cache_clear()
    try:
        client = token_store.ssm_fetch().__self__.client
        assert client.meta.service_model.operation_names == ["GetParameter"]
    finally:
        token_store.ssm_fetch.cache_clear()
