"""/v1/embeddings on Bedrock: Titan Text Embeddings v2 (one text per call) and Cohere Embed v3 (one batch call).

Titan's calls for several inputs run concurrently on a pool shared by the container, so N inputs cost about one
call's latency. Vectors go back as float lists or, as the openai SDK asks by default, base64 little-endian
float32.
"""

from __future__ import annotations

import base64
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

from bedrock import invoke_model
from config import EMBEDDING_CONCURRENCY, MAX_EMBEDDING_INPUTS, MAX_EMBEDDING_TEXT_CHARS, settings

from . import catalog
from .messages import invalid
from .schema import EmbeddingRequest

TITAN_DIMENSIONS = (256, 512, 1024)
COHERE_DIMENSIONS = 1024
COHERE_MAX_CHARS = 2048
COHERE_INPUT_TYPE = "search_document"  # OpenAI has no input type; documents are what most callers embed


@dataclass(frozen=True)
class Embedded:
    model_id: str
    vectors: list[list[float]]
    input_tokens: int


def family(model_id: str) -> str:
    if "titan-embed-text-v2" in model_id:
        return "titan"
    if "cohere.embed" in model_id:
        return "cohere"
    return "unknown"


def texts_of(value: Any) -> list[str]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise invalid("input", "must be a string or a non-empty list of strings")
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise invalid("input", f"at most {MAX_EMBEDDING_INPUTS} inputs per request (got {len(texts)})")
    for i, text in enumerate(texts):
        where = "input" if isinstance(value, str) else f"input[{i}]"
        if not isinstance(text, str):
            raise invalid(where, "token-id arrays are not supported; send text")
        if not text.strip():
            raise invalid(where, "must not be empty")
        if len(text) > MAX_EMBEDDING_TEXT_CHARS:
            raise invalid(where, f"at most {MAX_EMBEDDING_TEXT_CHARS} characters")
    return texts


def model_for(request: EmbeddingRequest) -> str:
    """The embedding model the request names (or the default), if this gateway allows it."""
    model = request.model or (settings.embedding_models[0] if settings.embedding_models else "")
    if model not in settings.embedding_models:
        if model in settings.allowed_models:
            raise invalid("model", f"'{model}' is a chat model; embeddings need one of the embedding models")
        raise catalog.not_found(model, " for embeddings")
    return model


def embed(request: EmbeddingRequest, model: str) -> Embedded:
    texts = texts_of(request.input)
    kind = family(model)
    if kind == "titan":
        if request.dimensions is not None and request.dimensions not in TITAN_DIMENSIONS:
            raise invalid("dimensions", f"Titan Text Embeddings v2 offers {', '.join(map(str, TITAN_DIMENSIONS))}")
        return titan(model, texts, request.dimensions or TITAN_DIMENSIONS[-1])
    if kind == "cohere":
        if request.dimensions not in (None, COHERE_DIMENSIONS):
            raise invalid("dimensions", f"Cohere Embed v3 vectors have {COHERE_DIMENSIONS} dimensions only")
        too_long = next((i for i, t in enumerate(texts) if len(t) > COHERE_MAX_CHARS), None)
        if too_long is not None:
            raise invalid(f"input[{too_long}]", f"Cohere Embed v3 takes at most {COHERE_MAX_CHARS} characters")
        return cohere(model, texts)
    raise invalid("model", f"'{model}' is not a supported embedding model family (Titan v2, Cohere v3)")


@cache
def pool() -> ThreadPoolExecutor:
    """One pool per container, created on the first multi-input request."""
    return ThreadPoolExecutor(max_workers=EMBEDDING_CONCURRENCY, thread_name_prefix="embed")


def titan(model: str, texts: list[str], dimensions: int) -> Embedded:
    def one(text: str) -> tuple[list[float], int]:
        answer, tokens = invoke_model(model, {"inputText": text, "dimensions": dimensions, "normalize": True})
        return answer["embedding"], tokens or answer.get("inputTextTokenCount", 0)

    results = [one(texts[0])] if len(texts) == 1 else list(pool().map(one, texts))
    return Embedded(model, [vector for vector, _ in results], sum(tokens for _, tokens in results))


def cohere(model: str, texts: list[str]) -> Embedded:
    answer, tokens = invoke_model(model, {"texts": texts, "input_type": COHERE_INPUT_TYPE, "truncate": "NONE"})
    return Embedded(model, answer["embeddings"], tokens)


def response(embedded: Embedded, encoding_format: str | None) -> dict[str, Any]:
    def encode(vector: list[float]) -> list[float] | str:
        if encoding_format == "base64":
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return vector

    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(embedded.vectors)],
        "model": embedded.model_id,
        "usage": {"prompt_tokens": embedded.input_tokens, "total_tokens": embedded.input_tokens},
    }
