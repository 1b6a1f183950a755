"""Settings read once per container from the environment the template sets. Limits live here."""

from __future__ import annotations

import os
from dataclasses import dataclass

# Lambda's synchronous invocation payload is 6 MB and the body travels inside the event (JSON-escaped, next to
# headers): 5 MB leaves that margin. Larger bodies get 413 before any parsing.
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_QUERY_TEXT = 4000  # GET /invoke?inputText=: URLs stay well under API Gateway's request-line limits
MAX_STOP_SEQUENCES = 4
RETRY_AFTER_SECONDS = 2  # sent with every 429 and 503

# Images (Converse): Bedrock's own per-image and per-request limits, checked before the paid call.
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
MAX_IMAGE_BYTES = 3_750_000
MAX_IMAGES = 20

# Tools: Converse's rules for tool names and tool-use ids.
TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
MAX_TOOLS = 128

# Embeddings: inputs per request (Cohere's batch limit) and parallel single-text calls for Titan.
MAX_EMBEDDING_INPUTS = 96
MAX_EMBEDDING_TEXT_CHARS = 50_000  # Titan v2 takes up to 8k tokens (~50k characters); Cohere 2,048 characters
EMBEDDING_CONCURRENCY = 16  # also the client's connection pool size: one wave for a 16-input request

# Reasoning (extended thinking): Claude's minimum budget, and the budget each OpenAI reasoning_effort asks for
# (clamped to MAX_REASONING_TOKENS). The budget comes on top of the answer's max tokens.
MIN_REASONING_TOKENS = 1024
EFFORT_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}

# Prompt caching: where cache points go is decided on an estimate (no tokenizer in the function): ~4 characters
# per token for English text and JSON. A cache point below the model's minimum is merely not used by Bedrock.
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Settings:
    default_model: str
    allowed_models: tuple[str, ...]  # the default first, then ALLOWED_MODEL_IDS
    embedding_models: tuple[str, ...]  # EMBEDDING_MODEL_IDS; the first is the default
    max_output_tokens: int
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    guardrail_id: str  # GUARDRAIL_ID: empty means no default guardrail
    guardrail_version: str
    guardrail_trace: bool
    key_guardrails: tuple[str, ...]  # KEY_GUARDRAIL_ARNS: guardrails a managed key may name instead of the default
    prompt_caching: bool  # PROMPT_CACHING=auto|off
    max_reasoning_tokens: int

    @classmethod
    def from_env(cls) -> Settings:
        default = os.getenv("BEDROCK_MODEL_ID", "amazon.nova-micro-v1:0")
        extra = split_ids(os.getenv("ALLOWED_MODEL_IDS", ""))
        return cls(
            default_model=default,
            allowed_models=tuple(dict.fromkeys([default, *extra])),
            embedding_models=tuple(dict.fromkeys(split_ids(os.getenv("EMBEDDING_MODEL_IDS", "")))),
            max_output_tokens=int(os.getenv("MAX_OUTPUT_TOKENS", "1024")),
            connect_timeout=float(os.getenv("BEDROCK_CONNECT_TIMEOUT", "2")),
            read_timeout=float(os.getenv("BEDROCK_READ_TIMEOUT", "11")),
            max_attempts=int(os.getenv("BEDROCK_MAX_ATTEMPTS", "2")),
            guardrail_id=os.getenv("GUARDRAIL_ID", "").strip(),
            guardrail_version=os.getenv("GUARDRAIL_VERSION", "").strip() or "DRAFT",
            guardrail_trace=os.getenv("GUARDRAIL_TRACE", "disabled") == "enabled",
            key_guardrails=tuple(split_ids(os.getenv("KEY_GUARDRAIL_ARNS", ""))),
            prompt_caching=os.getenv("PROMPT_CACHING", "auto") != "off",
            max_reasoning_tokens=max(int(os.getenv("MAX_REASONING_TOKENS", "8192")), MIN_REASONING_TOKENS),
        )


def split_ids(value: str) -> list[str]:
    return [m.strip() for m in value.split(",") if m.strip()]


settings = Settings.from_env()
