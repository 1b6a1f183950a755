"""The streaming API (EnableStreaming; locally on LOCAL_STREAM_PORT) against the buffered HTTP API: the same
request gives the same text, tool calls, reasoning, finish reason and usage, but chunk by chunk as Bedrock writes.
Errors before the first byte keep their statuses; an error after it arrives as an SSE error event; a client that
goes away stops the Bedrock stream."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import openai
import pytest
import requests
from discovery import Target
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from test_guardrails_caching_reasoning import CLAUDE, NOVA, WEATHER
from test_keys import new_key


@pytest.fixture(scope="module")
def stream_url(target: Target) -> str:
    if not target.stream_url:
        pytest.skip("no streaming API (deploy with EnableStreaming=true, or run make local)")
    return target.stream_url


def client(base: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=token, max_retries=0, timeout=35)


@pytest.fixture(scope="module")
def streaming(stream_url: str, target: Target) -> openai.OpenAI:
    return client(stream_url, target.token)


@pytest.fixture(scope="module")
def buffered(target: Target) -> openai.OpenAI:
    return client(target.url, target.token)


def collect(chunks: Any) -> dict[str, Any]:
    """A streamed answer as one: what a client rebuilds from the chunks."""
    out: dict[str, Any] = {"content": "", "reasoning": "", "calls": {}, "finish": None, "usage": None, "chunks": 0}
    for chunk in chunks:
        out["chunks"] += 1
        if chunk.usage:
            out["usage"] = chunk.usage.model_dump()
        for choice in chunk.choices:
            delta: Any = choice.delta
            out["content"] += delta.content or ""
            out["reasoning"] += getattr(delta, "reasoning_content", None) or ""
            for call in delta.tool_calls or []:
                slot = out["calls"].setdefault(call.index, {"name": "", "arguments": ""})
                slot["name"] += call.function.name or "" if call.function else ""
                slot["arguments"] += call.function.arguments or "" if call.function else ""
            out["finish"] = choice.finish_reason or out["finish"]
    out["calls"] = [(c["name"], json.loads(c["arguments"])) for _, c in sorted(out["calls"].items())]
    return out


def both(streaming: openai.OpenAI, buffered: openai.OpenAI, **request: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    request = {"stream": True, "stream_options": {"include_usage": True}, **request}
    return (
        collect(streaming.chat.completions.create(**request)),
        collect(buffered.chat.completions.create(**request)),
    )


def same(live: dict[str, Any], whole: dict[str, Any]) -> None:
    assert {k: v for k, v in live.items() if k != "chunks"} == {k: v for k, v in whole.items() if k != "chunks"}


@pytest.mark.local_only
def test_text_arrives_word_by_word_and_matches_the_buffered_answer(streaming: Any, buffered: Any) -> None:
    live, whole = both(streaming, buffered, model=NOVA, messages=[{"role": "user", "content": "one two three four"}])
    same(live, whole)
    assert live["content"] == "echo: one two three four" and live["finish"] == "stop"
    assert live["chunks"] >= 5 + 3 > whole["chunks"]  # a chunk per word, against one for the whole text


@pytest.mark.local_only
def test_tool_calls_match_the_buffered_answer(streaming: Any, buffered: Any) -> None:
    messages = [{"role": "user", "content": "use get_weather for Paris"}]
    live, whole = both(streaming, buffered, model=NOVA, messages=messages, tools=WEATHER)
    same(live, whole)
    assert live["calls"] == [("get_weather", {"city": "echo"})] and live["finish"] == "tool_calls"


@pytest.mark.local_only
def test_structured_output_streams_as_content(streaming: Any, buffered: Any) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    messages = [{"role": "user", "content": "who?"}]
    live, whole = both(streaming, buffered, model=NOVA, messages=messages, response_format=response_format)
    assert json.loads(live["content"]) == json.loads(whole["content"]) == {"name": "echo"}
    assert live["finish"] == whole["finish"] == "stop"


@pytest.mark.local_only
def test_reasoning_and_guardrail_match_the_buffered_answer(streaming: Any, buffered: Any) -> None:
    thinking = [{"role": "user", "content": "think it through"}]
    live, whole = both(streaming, buffered, model=CLAUDE, messages=thinking, reasoning_effort="low")
    same(live, whole)
    assert live["reasoning"] == "thinking about think it through"
    blocked = [{"role": "user", "content": "guardrail-block please"}]
    live, whole = both(streaming, buffered, model=NOVA, messages=blocked)
    same(live, whole)
    assert live["finish"] == "content_filter"


@pytest.mark.local_only
def test_stream_false_on_the_streaming_url_is_one_json_answer(streaming: Any) -> None:
    answer = streaming.chat.completions.create(model=NOVA, messages=[{"role": "user", "content": "whole please"}])
    assert answer.choices[0].message.content == "echo: whole please" and answer.object == "chat.completion"


@pytest.mark.local_only
def test_langchain_stream_and_tools_against_the_streaming_url(stream_url: str, target: Target) -> None:
    settings = {"api_key": target.token, "model": NOVA, "max_retries": 0, "timeout": 35}
    live = ChatOpenAI(base_url=f"{stream_url}/v1", **settings)
    whole = ChatOpenAI(base_url=f"{target.url}/v1", **settings)
    chunks = list(live.stream("stream me these words"))
    assert len(chunks) > 4
    assert "".join(str(c.content) for c in chunks) == whole.invoke("stream me these words").content

    @tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        return f"sunny in {city}"

    merged: Any = None
    for chunk in live.bind_tools([get_weather]).stream("use get_weather"):
        merged = chunk if merged is None else merged + chunk
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [("get_weather", {"city": "echo"})]


def test_missing_and_wrong_keys_keep_their_statuses(stream_url: str) -> None:
    hello = {"model": NOVA, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    assert requests.post(f"{stream_url}/v1/chat/completions", json=hello, timeout=35).status_code == 401
    with pytest.raises(openai.PermissionDeniedError):
        client(stream_url, "not-a-key").chat.completions.create(**hello)


@pytest.mark.local_only
@pytest.mark.parametrize(
    ("model", "error"),
    [("fault.throttling", openai.RateLimitError), ("fault.accessdenied", openai.InternalServerError)],
)
def test_bedrock_errors_before_the_first_byte_keep_their_status(streaming: Any, model: str, error: type) -> None:
    with pytest.raises(error):
        streaming.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], stream=True)
    with pytest.raises(openai.BadRequestError, match="n: only n=1"):
        streaming.chat.completions.create(model=NOVA, messages=[{"role": "user", "content": "hi"}], stream=True, n=2)


@pytest.mark.local_only
def test_managed_key_limits_apply_on_the_streaming_api(stream_url: str, target: Target) -> None:
    _, token = new_key("--rpm", "1", "--models", NOVA)
    keyed = client(stream_url, token)
    hello = [{"role": "user", "content": "hi"}]
    assert collect(keyed.chat.completions.create(model=NOVA, messages=hello, stream=True))["content"] == "echo: hi"
    with pytest.raises(openai.PermissionDeniedError, match="may not use the model"):
        keyed.chat.completions.create(model=CLAUDE, messages=hello, stream=True)
    with pytest.raises(openai.RateLimitError) as limited:
        keyed.chat.completions.create(model=NOVA, messages=hello, stream=True)
    assert limited.value.response.headers.get("retry-after")


@pytest.mark.local_only
def test_an_error_after_the_first_chunk_is_an_sse_error_event(streaming: Any) -> None:
    received = ""
    with pytest.raises(openai.APIError, match="stream failed"):
        for chunk in streaming.chat.completions.create(
            model="fault.midstream", messages=[{"role": "user", "content": "one two three four five"}], stream=True
        ):
            received += chunk.choices[0].delta.content or "" if chunk.choices else ""
    assert received == "echo: one two "  # what came before the error stays delivered


@pytest.mark.local_only
def test_a_client_that_disconnects_stops_the_bedrock_stream(streaming: Any) -> None:
    words = " ".join(f"w{i}" for i in range(80))  # `slow-stream`: the stand-in waits 50 ms before each token
    stream = streaming.chat.completions.create(
        model=NOVA, messages=[{"role": "user", "content": f"slow-stream {words}"}], stream=True
    )
    for count, _ in enumerate(stream):
        if count == 3:
            break
    stream.close()
    standin = os.environ["LOCAL_BEDROCK_ENDPOINT"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        last = requests.get(f"{standin}/streams", timeout=5).json()[-1]
        if last["readerLeft"] or last["completed"]:
            break
        time.sleep(0.2)
    assert last["readerLeft"] and not last["completed"]
    assert last["tokensSent"] < 40  # of 82: the model stopped writing soon after the client left
