"""Settings read once per container from the environment the template sets. Limits live here."""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_BODY_BYTES = 256 * 1024  # larger bodies get 413 before any parsing
MAX_QUERY_TEXT = 4000  # GET /invoke?inputText=: URLs stay well under API Gateway's request-line limits
MAX_STOP_SEQUENCES = 4
RETRY_AFTER_SECONDS = 2  # sent with every 429 and 503


@dataclass(frozen=True)
class Settings:
    default_model: str
    allowed_models: tuple[str, ...]  # the default first, then ALLOWED_MODEL_IDS
    max_output_tokens: int
    connect_timeout: float
    read_timeout: float
    max_attempts: int

    @classmethod
    def from_env(cls) -> Settings:
        default = os.getenv("BEDROCK_MODEL_ID", "amazon.nova-micro-v1:0")
        extra = [m.strip() for m in os.getenv("ALLOWED_MODEL_IDS", "").split(",") if m.strip()]
        return cls(
            default_model=default,
            allowed_models=tuple(dict.fromkeys([default, *extra])),
            max_output_tokens=int(os.getenv("MAX_OUTPUT_TOKENS", "1024")),
            connect_timeout=float(os.getenv("BEDROCK_CONNECT_TIMEOUT", "2")),
            read_timeout=float(os.getenv("BEDROCK_READ_TIMEOUT", "11")),
            max_attempts=int(os.getenv("BEDROCK_MAX_ATTEMPTS", "2")),
        )


settings = Settings.from_env()
