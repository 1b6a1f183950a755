"""/v1/embeddings: OpenAI's request and response on Titan v2 (concurrent single calls) and Cohere v3 (one batch)."""

from __future__ import annotations

import base64
import io
import json
import struct
from typing import Any

import pytest
from botocore.response import StreamingBody
from conftest import http_event

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


def body_of(payload: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def embed(call_invoke: Any, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    return call_invoke(http_event("POST", "/v1/embeddings", payload))


def expect_titan(bedrock: Any, text: str, vector: list[float], dimensions: int = 1024, tokens: int = 2) -> None:
    bedrock.add_response(
        "invoke_model",
        {"body": body_of({"embedding": vector, "inputTextTokenCount": tokens}), "contentType": "application/json"},
        {
            "modelId": TITAN,
            "body": json.dumps({"inputText": text, "dimensions": dimensions, "normalize": True}),
            "contentType": "application/json",
            "accept": "application/json",
        },
    )


def test_titan_single_input_as_floats(bedrock: Any, call_invoke: Any) -> None:
    expect_titan(bedrock, "hello world", [0.5, -0.25], dimensions=256)
    status, headers, body = embed(call_invoke, {"input": "hello world", "model": TITAN, "dimensions": 256})
    assert status == 200 and headers["x-request-id"]
    assert body == {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]}],
        "model": TITAN,
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }


def test_default_model_is_the_first_embedding_model_and_base64_is_little_endian_float32(
    bedrock: Any, call_invoke: Any
) -> None:
    expect_titan(bedrock, "x", [0.5, -0.25, 1.0])
    status, _, body = embed(call_invoke, {"input": ["x"], "encoding_format": "base64"})
    assert status == 200 and body["model"] == TITAN
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert struct.unpack("<3f", raw) == (0.5, -0.25, 1.0)


def test_titan_many_inputs_run_concurrently_and_keep_their_order(call_invoke: Any, monkeypatch: Any) -> None:
    """Each input is one InvokeModel call; answers come back in input order whatever order the calls finish."""
    import threading
    import time

    import bedrock as bedrock_module

    active, peak, lock = 0, 0, threading.Lock()

    def fake_invoke(model_id: str, request: dict[str, Any]) -> tuple[dict[str, Any], int]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05 if request["inputText"].endswith("0") else 0.01)
        with lock:
            active -= 1
        return {"embedding": [float(request["inputText"].split()[-1])]}, 3

    from openai_compat import embeddings

    monkeypatch.setattr(embeddings, "invoke_model", fake_invoke)
    assert bedrock_module  # the real client is never called here
    texts = [f"text {i}" for i in range(16)]
    started = time.monotonic()
    status, _, body = embed(call_invoke, {"input": texts, "model": TITAN})
    elapsed = time.monotonic() - started
    assert status == 200
    assert [d["embedding"] for d in body["data"]] == [[float(i)] for i in range(16)]
    assert [d["index"] for d in body["data"]] == list(range(16))
    assert body["usage"]["prompt_tokens"] == 48
    assert peak > 1 and elapsed < 16 * 0.01 + 0.3


def test_cohere_takes_the_batch_in_one_call_and_reads_the_token_header(bedrock: Any, call_invoke: Any) -> None:
    bedrock.add_response(
        "invoke_model",
        {
            "body": body_of({"embeddings": [[0.1], [0.2]], "id": "x", "response_type": "embeddings_floats"}),
            "contentType": "application/json",
        },
        {
            "modelId": COHERE,
            "body": json.dumps({"texts": ["a", "b"], "input_type": "search_document", "truncate": "NONE"}),
            "contentType": "application/json",
            "accept": "application/json",
        },
    )
    status, _, body = embed(call_invoke, {"input": ["a", "b"], "model": COHERE})
    assert status == 200 and [d["embedding"] for d in body["data"]] == [[0.1], [0.2]]


@pytest.mark.parametrize(
    ("payload", "status", "param", "reason"),
    [
        ({"input": ""}, 400, "input", "empty"),
        ({"input": []}, 400, "input", "non-empty list"),
        ({"input": ["a", " "]}, 400, "input[1]", "empty"),
        ({"input": [1, 2, 3]}, 400, "input[0]", "token-id arrays"),
        ({"input": [[1, 2]]}, 400, "input[0]", "token-id arrays"),
        ({"input": ["a"] * 97}, 400, "input", "at most 96"),
        ({"input": "a", "dimensions": 300}, 400, "dimensions", "256, 512, 1024"),
        ({"input": "a", "model": COHERE, "dimensions": 256}, 400, "dimensions", "1024"),
        ({"input": ["a", "b" * 2049], "model": COHERE}, 400, "input[1]", "2048"),
        ({"input": "a", "model": "amazon.nova-micro-v1:0"}, 400, "model", "chat model"),
        ({"input": "a", "model": "text-embedding-3-small"}, 404, "model", "not allowed"),
        ({"input": "a", "encoding_format": "int8"}, 400, "encoding_format", ""),
        ({"input": "a", "truncate": "END"}, 400, "truncate", "unknown field"),
        ({"model": TITAN}, 400, "input", "required"),
    ],
)
def test_embedding_requests_bedrock_cannot_serve_are_refused_by_name(
    payload: dict[str, Any], status: int, param: str, reason: str, call_invoke: Any
) -> None:
    got, _, body = embed(call_invoke, payload)
    assert got == status, body
    assert body["error"]["param"] == param and reason in body["error"]["message"]


def test_chat_routes_refuse_embedding_models(call_invoke: Any) -> None:
    status, _, body = call_invoke(
        http_event("POST", "/v1/chat/completions", {"model": TITAN, "messages": [{"role": "user", "content": "x"}]})
    )
    assert status == 400 and body["error"]["param"] == "model" and "embedding model" in body["error"]["message"]


def test_bedrock_errors_map_like_chat(bedrock: Any, call_invoke: Any) -> None:
    bedrock.add_client_error("invoke_model", service_error_code="ThrottlingException", http_status_code=429)
    status, headers, body = embed(call_invoke, {"input": "a"})
    assert status == 429 and headers["Retry-After"] == "2" and body["error"]["type"] == "rate_limit_error"
