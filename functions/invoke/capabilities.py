"""What each model family supports beyond plain Converse: cache points and extended thinking.

From Bedrock's model documentation (prompt caching: supported models, minimum tokens per cache checkpoint, and
which fields take a cache point; extended thinking: Claude 3.7 Sonnet and the Claude 4 families). Change a
model's capabilities here. Ids match with or without an inference-profile prefix (`us.`, `eu.`, `global.`...).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Capabilities:
    cache_min_tokens: int | None = None  # None: no cache points
    cache_tools: bool = False  # whether toolConfig.tools takes a cache point (Claude yes, Nova no)
    reasoning: bool = False  # extended thinking through additionalModelRequestFields.thinking


NONE = Capabilities()
# Most specific prefix first: the first match wins.
FAMILIES: tuple[tuple[str, Capabilities], ...] = (
    ("anthropic.claude-opus-4-5", Capabilities(4096, True, True)),
    ("anthropic.claude-haiku-4-5", Capabilities(4096, True, True)),
    ("anthropic.claude-opus-4", Capabilities(1024, True, True)),
    ("anthropic.claude-sonnet-4", Capabilities(1024, True, True)),
    ("anthropic.claude-3-7-sonnet", Capabilities(1024, True, True)),
    ("anthropic.claude-3-5-haiku", Capabilities(2048, True, False)),
    ("amazon.nova-micro", Capabilities(1000)),
    ("amazon.nova-lite", Capabilities(1000)),
    ("amazon.nova-pro", Capabilities(1000)),
    ("amazon.nova-premier", Capabilities(1000)),
)
PROFILE_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global.")


@cache
def of(model_id: str) -> Capabilities:
    base = model_id.rsplit("/", 1)[-1]  # an ARN ends with .../<id>
    for prefix in PROFILE_PREFIXES:
        if base.startswith(prefix):
            base = base.removeprefix(prefix)
            break
    return next((caps for family, caps in FAMILIES if base.startswith(family)), NONE)
