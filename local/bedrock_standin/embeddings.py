"""Titan Text Embeddings v2 and Cohere Embed v3 over InvokeModel: deterministic vectors from each text's SHA-256."""

from __future__ import annotations

import hashlib
import math
import struct
from typing import Any

from .models import words

TITAN_DIMENSIONS = (256, 512, 1024)
COHERE_DIMENSIONS = 1024
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")


def malformed(reason: str) -> str:
    return f"Malformed input request: {reason}, please reformat your input and try again."


def family(model_id: str) -> str | None:
    if "titan-embed-text-v2" in model_id:
        return "titan"
    if "cohere.embed" in model_id:
        return "cohere"
    return None


def vector(text: str, dimensions: int, normalize: bool) -> list[float]:
    raw = b"".join(hashlib.sha256(f"{i}:{text}".encode()).digest() for i in range(math.ceil(dimensions / 8)))
    values = [(v / 2**31) - 1.0 for v in struct.unpack(f">{dimensions}I", raw[: dimensions * 4])]
    if normalize:
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        values = [v / norm for v in values]
    return [round(v, 6) for v in values]


def embed(model_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int] | str:
    """(answer, input token count), or the ValidationException message."""
    if family(model_id) == "titan":
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            return malformed("#: required key [inputText] not found")
        dimensions = body.get("dimensions", 1024)
        if dimensions not in TITAN_DIMENSIONS:
            return malformed(f"#/dimensions: {dimensions} is not a valid enum value")
        embedding = vector(text, dimensions, body.get("normalize", True))
        tokens = words(text)
        return {"embedding": embedding, "embeddingsByType": {"float": embedding}, "inputTextTokenCount": tokens}, tokens
    texts = body.get("texts")
    if not isinstance(texts, list) or not texts or len(texts) > 96 or not all(isinstance(t, str) for t in texts):
        return malformed("#/texts: expected an array of 1 to 96 strings")
    if any(len(t) > 2048 for t in texts):
        return malformed("#/texts: expected maxLength: 2048")
    if body.get("input_type") not in COHERE_INPUT_TYPES:
        return malformed("#/input_type: required")
    answer = {
        "embeddings": [vector(t, COHERE_DIMENSIONS, True) for t in texts],
        "id": hashlib.sha256("".join(texts).encode()).hexdigest()[:36],
        "response_type": "embeddings_floats",
        "texts": texts,
    }
    return answer, sum(words(t) for t in texts)
