"""The OpenAI-compatible routes driven by the official openai SDK (retries off): chat, tools, structured output,
streaming, images, embeddings, models. Exact answers come from the local Bedrock stand-in (local_only); the
shape checks run against a deployed stage too."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import openai
import pytest
from discovery import Target
from pydantic import BaseModel

MODEL = "amazon.nova-micro-v1:0"
EMBED = "amazon.titan-embed-text-v2:0"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city", "unit"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {"name": "get_time", "description": "Current time", "parameters": {"type": "object", "properties": {}}},
}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def client(target: Target) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{target.url}/v1", api_key=target.token, max_retries=0, timeout=35)


def ask(client: openai.OpenAI, text: str, **kwargs: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}], **kwargs)


@pytest.mark.local_only
def test_chat_completion_echoes_with_usage(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello from the sdk"}],
        max_tokens=64,
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "echo: hello from the sdk"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


def test_request_id_header_reaches_the_sdk(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=8
    )
    completion = raw.parse()
    assert raw.headers["x-request-id"] and completion._request_id == raw.headers["x-request-id"]


# ---- tools ------------------------------------------------------------------------------------------------------


@pytest.mark.local_only
def test_agent_loop_with_a_tool_round_trip(client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris? Use get_weather."}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER, TIME])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "calling get_weather"
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "echo", "unit": "celsius"}
    messages.append(choice.message)  # the SDK's own message object, as agent code appends it
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER, TIME])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "echo: tool results: 18 degrees and sunny"
    assert not second.choices[0].message.tool_calls


@pytest.mark.local_only
def test_parallel_tool_calls_and_their_results(client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "call get_time and get_weather"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER, TIME])
    calls = first.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]  # in the order of `tools`
    assert len({c.id for c in calls}) == 2
    messages.append(first.choices[0].message)
    messages += [{"role": "tool", "tool_call_id": c.id, "content": f"result {i}"} for i, c in enumerate(calls)]
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER, TIME])
    assert second.choices[0].message.content == "echo: tool results: result 0 | result 1"
    one = client.chat.completions.create(
        model=MODEL, messages=messages[:1], tools=[WEATHER, TIME], parallel_tool_calls=False
    )
    assert [c.function.name for c in one.choices[0].message.tool_calls or []] == ["get_weather"]


@pytest.mark.local_only
@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("auto", ["get_time"]),
        ("required", ["get_weather"]),
        ({"type": "function", "function": {"name": "get_weather"}}, ["get_weather"]),
        ("none", []),
    ],
)
def test_each_tool_choice(tool_choice: Any, expected: list[str], client: openai.OpenAI) -> None:
    completion = ask(client, "what is get_time saying", tools=[WEATHER, TIME], tool_choice=tool_choice)
    assert [c.function.name for c in completion.choices[0].message.tool_calls or []] == expected
    if not expected:
        assert completion.choices[0].message.content == "echo: what is get_time saying"


def test_invalid_tool_arguments_name_the_message(client: openai.OpenAI) -> None:
    bad = {"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{not json"}}
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=MODEL,
            tools=[TIME],
            messages=[{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [bad]}],
        )
    assert info.value.param == "messages[1].tool_calls[0].function.arguments"


# ---- structured output ------------------------------------------------------------------------------------------


class Forecast(BaseModel):
    city: str
    temperature: float
    rain: bool
    days: int


@pytest.mark.local_only
def test_parse_with_a_pydantic_model(client: openai.OpenAI) -> None:
    completion = client.chat.completions.parse(
        model=MODEL, messages=[{"role": "user", "content": "forecast for Paris"}], response_format=Forecast
    )
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "stop" and not message.tool_calls
    assert message.parsed == Forecast(city="echo", temperature=1.5, rain=True, days=1)


@pytest.mark.local_only
def test_json_object_mode_answers_json(client: openai.OpenAI) -> None:
    completion = ask(client, "answer in JSON", response_format={"type": "json_object"})
    assert json.loads(completion.choices[0].message.content or "") == {}


# ---- streaming ----------------------------------------------------------------------------------------------------


@pytest.mark.local_only
def test_stream_rebuilds_the_same_text_and_usage(client: openai.OpenAI) -> None:
    plain = ask(client, "stream this sentence please", max_tokens=50)
    stream = ask(
        client, "stream this sentence please", max_tokens=50, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content == "echo: stream this sentence please"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage == plain.usage


@pytest.mark.local_only
def test_stream_with_tool_calls(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model=MODEL, messages=[{"role": "user", "content": "get_weather and get_time"}], tools=[WEATHER, TIME]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "echo", "unit": "celsius"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_stream_errors_before_the_answer_are_typed(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True)


# ---- images -------------------------------------------------------------------------------------------------------


def image_message(url: str) -> list[Any]:
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}],
        }
    ]


@pytest.mark.local_only
def test_inline_image(client: openai.OpenAI) -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    completion = client.chat.completions.create(model="amazon.nova-lite-v1:0", messages=image_message(url))
    assert completion.choices[0].message.content == f"echo: what is this? [image: png, {len(PNG)} bytes]"


def test_image_urls_are_refused_with_the_reason(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=image_message("https://example.com/cat.png"))
    assert info.value.param == "messages[0].content[1].image_url.url" and "does not fetch URLs" in info.value.message


# ---- embeddings and models ----------------------------------------------------------------------------------------


def test_embeddings_float_and_base64_decode_to_the_same_vector(client: openai.OpenAI) -> None:
    floats = client.embeddings.create(model=EMBED, input=["first text", "second"], encoding_format="float")
    default = client.embeddings.create(model=EMBED, input=["first text", "second"])  # the SDK asks for base64
    assert [d.index for d in floats.data] == [0, 1] and len(floats.data[0].embedding) == 1024
    for a, b in zip(floats.data, default.data, strict=True):
        assert all(
            math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-7) for x, y in zip(a.embedding, b.embedding, strict=True)
        )
    assert floats.data[0].embedding != floats.data[1].embedding
    assert floats.usage.prompt_tokens > 0


@pytest.mark.local_only
def test_embedding_dimensions_usage_and_cohere(client: openai.OpenAI) -> None:
    small = client.embeddings.create(model=EMBED, input="three words here", dimensions=256)
    assert len(small.data[0].embedding) == 256 and small.usage.prompt_tokens == 3
    cohere = client.embeddings.create(model="cohere.embed-english-v3", input=["a", "b c"])
    assert [len(d.embedding) for d in cohere.data] == [1024, 1024] and cohere.usage.prompt_tokens == 3
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=EMBED, input="x", dimensions=300)
    assert info.value.param == "dimensions"


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    models = [m.id for m in client.models.list()]
    assert MODEL in models and EMBED in models
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("gpt-4o")
    assert info.value.code == "model_not_found"


# ---- errors -------------------------------------------------------------------------------------------------------


def test_invalid_request_is_bad_request_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, "x", n=3)
    assert info.value.status_code == 400 and "n=1" in info.value.message


def test_five_stop_sequences_say_the_limit(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, "x", stop=["a", "b", "c", "d", "e"])
    assert info.value.param == "stop" and "at most 4 stop sequences" in info.value.message


def test_fields_that_would_change_the_answer_are_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, "x", frequency_penalty=0.5)
    assert info.value.param == "frequency_penalty"
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, "x", extra_body={"top_k": 5})
    assert info.value.param == "top_k" and "unknown field" in info.value.message


def test_unknown_model_is_not_found_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "model_not_found"


@pytest.mark.local_only
def test_throttling_is_rate_limit_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="fault.throttling", messages=[{"role": "user", "content": "x"}])
    assert info.value.response.headers["retry-after"] == "2"


@pytest.mark.local_only
def test_upstream_unavailable_is_internal_server_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="fault.unavailable", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 503


def test_wrong_key_is_refused(target: Target) -> None:
    wrong = openai.OpenAI(base_url=f"{target.url}/v1", api_key="wrong-key", max_retries=0, timeout=35)
    with pytest.raises((openai.PermissionDeniedError, openai.AuthenticationError)):
        wrong.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
