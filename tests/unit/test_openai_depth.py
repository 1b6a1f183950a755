"""/v1/chat/completions beyond plain chat: tools, structured output, images, streaming, and every refusal.

The Stubber checks each Converse request against botocore's service model and against the exact parameters
expected here, so these tests pin the translation rule by rule.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from conftest import converse_response, http_event

MODEL = "amazon.nova-micro-v1:0"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME = {"type": "function", "function": {"name": "get_time"}}
WEATHER_SPEC = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather in a city",
        "inputSchema": {"json": WEATHER["function"]["parameters"]},
    }
}
TIME_SPEC = {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object", "properties": {}}}}}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def chat(call_invoke: Any, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    status, headers, body = call_invoke(http_event("POST", "/v1/chat/completions", {"model": MODEL, **payload}))
    return status, headers, body


def tool_reply(*uses: tuple[str, str, dict[str, Any]], text: str = "calling") -> dict[str, Any]:
    reply = converse_response(text, stop="tool_use")
    reply["output"]["message"]["content"] += [
        {"toolUse": {"toolUseId": use_id, "name": name, "input": arguments}} for use_id, name, arguments in uses
    ]
    return reply


def expect(bedrock: Any, messages: list[dict[str, Any]], reply: dict[str, Any], **extra: Any) -> None:
    bedrock.add_response(
        "converse",
        reply,
        {"modelId": MODEL, "messages": messages, "inferenceConfig": {"maxTokens": 512}, **extra},
    )


USER_HI = [{"role": "user", "content": [{"text": "hi"}]}]


# ---- tools ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool_choice", "converse_choice"),
    [
        (None, {"auto": {}}),
        ("auto", {"auto": {}}),
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "get_time"}}, {"tool": {"name": "get_time"}}),
    ],
)
def test_tools_and_tool_choice_become_tool_config(
    tool_choice: Any, converse_choice: dict[str, Any], bedrock: Any, call_invoke: Any
) -> None:
    expect(
        bedrock,
        USER_HI,
        converse_response("plain"),
        toolConfig={"tools": [WEATHER_SPEC, TIME_SPEC], "toolChoice": converse_choice},
    )
    payload: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER, TIME]}
    if tool_choice is not None:
        payload["tool_choice"] = tool_choice
    status, _, body = chat(call_invoke, payload)
    assert status == 200 and body["choices"][0]["message"]["content"] == "plain"
    assert "tool_calls" not in body["choices"][0]["message"]


def test_tool_use_becomes_tool_calls_and_keeps_the_text(bedrock: Any, call_invoke: Any) -> None:
    expect(
        bedrock,
        USER_HI,
        tool_reply(("tooluse_1", "get_weather", {"city": "Paris"}), ("tooluse_2", "get_time", {})),
        toolConfig={"tools": [WEATHER_SPEC, TIME_SPEC], "toolChoice": {"auto": {}}},
    )
    status, _, body = chat(call_invoke, {"messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER, TIME]})
    assert status == 200
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "calling"
    assert choice["message"]["tool_calls"] == [
        {"id": "tooluse_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "tooluse_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
    ]


def test_parallel_tool_calls_false_returns_one_call(bedrock: Any, call_invoke: Any) -> None:
    expect(
        bedrock,
        USER_HI,
        tool_reply(("tooluse_1", "get_weather", {"city": "Paris"}), ("tooluse_2", "get_time", {})),
        toolConfig={"tools": [WEATHER_SPEC, TIME_SPEC], "toolChoice": {"auto": {}}},
    )
    _, _, body = chat(
        call_invoke,
        {"messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER, TIME], "parallel_tool_calls": False},
    )
    assert [c["id"] for c in body["choices"][0]["message"]["tool_calls"]] == ["tooluse_1"]


def test_tool_round_trip_history_becomes_tool_use_and_merged_tool_results(bedrock: Any, call_invoke: Any) -> None:
    expect(
        bedrock,
        [
            {"role": "user", "content": [{"text": "weather and time?"}]},
            {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
                    {"toolUse": {"toolUseId": "call_2", "name": "get_time", "input": {}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}},
                    {"toolResult": {"toolUseId": "call_2", "content": [{"text": "noon"}]}},
                    {"text": "thanks"},
                ],
            },
        ],
        converse_response("It is sunny at noon."),
        toolConfig={"tools": [WEATHER_SPEC, TIME_SPEC], "toolChoice": {"auto": {}}},
    )
    status, _, body = chat(
        call_invoke,
        {
            "tools": [WEATHER, TIME],
            "messages": [
                {"role": "user", "content": "weather and time?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        },
                        {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}},
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
                {"role": "user", "content": "thanks"},
            ],
        },
    )
    assert status == 200 and body["choices"][0]["message"]["content"] == "It is sunny at noon."


def test_tool_choice_none_sends_no_tools_and_history_as_text(bedrock: Any, call_invoke: Any) -> None:
    expect(
        bedrock,
        [
            {"role": "user", "content": [{"text": "weather?"}]},
            {"role": "assistant", "content": [{"text": '[called tool get_weather with {"city": "Paris"}]'}]},
            {"role": "user", "content": [{"text": "[result of tool get_weather: sunny]"}]},
        ],
        converse_response("Sunny."),
    )
    status, _, body = chat(
        call_invoke,
        {
            "tools": [WEATHER],
            "tool_choice": "none",
            "messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
        },
    )
    assert status == 200 and body["choices"][0]["message"]["content"] == "Sunny."


@pytest.mark.parametrize(
    ("payload", "param", "reason"),
    [
        ({"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function.name", "1-64"),
        ({"tools": [{"type": "function", "function": {"name": "x" * 65}}]}, "tools[0].function.name", "1-64"),
        ({"tools": [WEATHER, WEATHER]}, "tools", "unique"),
        ({"tools": [{"type": "custom", "function": {"name": "a"}}]}, "tools[0].type", "function"),
        (
            {"tools": [{"type": "function", "function": {"name": "a", "parameters": {"type": "string"}}}]},
            "tools[0].function.parameters",
            "object",
        ),
        ({"tool_choice": "auto"}, "tool_choice", "only allowed when tools"),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice", "must be"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice.function.name",
            "names no tool",
        ),
    ],
)
def test_tool_definitions_bedrock_would_refuse_are_400(
    payload: dict[str, Any], param: str, reason: str, call_invoke: Any
) -> None:
    status, _, body = chat(call_invoke, {"messages": [{"role": "user", "content": "hi"}], **payload})
    assert status == 400
    assert body["error"]["param"] == param and reason in body["error"]["message"]
    assert body["error"]["message"].startswith(param)


def call(call_id: str = "call_1", arguments: str = "{}", name: str = "get_time") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


@pytest.mark.parametrize(
    ("messages", "param", "reason"),
    [
        (
            [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [call(arguments="{nope")]}],
            "messages[1].tool_calls[0].function.arguments",
            "not valid JSON",
        ),
        (
            [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [call(arguments="[1]")]}],
            "messages[1].tool_calls[0].function.arguments",
            "JSON object",
        ),
        (
            [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [call(call_id="call.1")]}],
            "messages[1].tool_calls[0].id",
            "1-64",
        ),
        (
            [{"role": "user", "content": "a"}, {"role": "tool", "tool_call_id": "call_9", "content": "x"}],
            "messages[1].tool_call_id",
            "matches no tool call",
        ),
        ([{"role": "user", "content": "a", "tool_calls": [call()]}], "messages[0].tool_calls", "assistant"),
        ([{"role": "user", "content": "a", "tool_call_id": "x"}], "messages[0].tool_call_id", "role 'tool'"),
        ([{"role": "user", "content": 5}], "messages[0].content", "string or a list"),
        ([{"role": "user", "content": [{"type": "input_audio"}]}], "messages[0].content[0].type", "not supported"),
        ([{"role": "user", "content": [{"text": "no type"}]}], "messages[0].content[0]", "'type'"),
        ([{"role": "user", "content": [{"type": "text", "text": 1}]}], "messages[0].content[0].text", "string"),
        ([{"role": "user", "content": "a", "audio": {"id": "x"}}], "messages[0].audio", "not supported"),
        ([{"role": "user", "content": "a", "weight": 1}], "messages[0].weight", "unknown field"),
    ],
)
def test_history_errors_name_the_message(
    messages: list[dict[str, Any]], param: str, reason: str, call_invoke: Any
) -> None:
    status, _, body = chat(call_invoke, {"messages": messages, "tools": [TIME]})
    assert status == 400, body
    assert body["error"]["param"] == param and reason in body["error"]["message"], body


# ---- structured output ------------------------------------------------------------------------------------------

PERSON = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@pytest.mark.parametrize(
    ("response_format", "spec"),
    [
        (
            {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}},
            {"name": "person", "description": "Give the person.", "inputSchema": {"json": PERSON}},
        ),
        (
            {"type": "json_object"},
            {
                "name": "json_object",
                "description": "Give the answer as a JSON object.",
                "inputSchema": {"json": {"type": "object"}},
            },
        ),
    ],
)
def test_response_format_is_a_forced_tool_whose_input_is_the_content(
    response_format: dict[str, Any], spec: dict[str, Any], bedrock: Any, call_invoke: Any
) -> None:
    expect(
        bedrock,
        USER_HI,
        tool_reply(("tooluse_1", spec["name"], {"name": "Ada"})),
        toolConfig={"tools": [{"toolSpec": spec}], "toolChoice": {"tool": {"name": spec["name"]}}},
    )
    status, _, body = chat(
        call_invoke, {"messages": [{"role": "user", "content": "hi"}], "response_format": response_format}
    )
    assert status == 200
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and "tool_calls" not in choice["message"]
    assert json.loads(choice["message"]["content"]) == {"name": "Ada"}


def test_response_format_with_tools_lets_the_model_choose_between_them(bedrock: Any, call_invoke: Any) -> None:
    spec = {"name": "person", "description": "Give the person.", "inputSchema": {"json": PERSON}}
    expect(
        bedrock,
        USER_HI,
        tool_reply(("tooluse_1", "get_time", {})),
        toolConfig={"tools": [TIME_SPEC, {"toolSpec": spec}], "toolChoice": {"any": {}}},
    )
    _, _, body = chat(
        call_invoke,
        {
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [TIME],
            "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}},
        },
    )
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time"


def test_response_format_text_changes_nothing(bedrock: Any, call_invoke: Any) -> None:
    expect(bedrock, USER_HI, converse_response("plain"))
    status, _, body = chat(
        call_invoke, {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "text"}}
    )
    assert status == 200 and body["choices"][0]["message"]["content"] == "plain"


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ({"type": "xml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema.name"),
        ({"type": "json_schema", "json_schema": {"name": "a b"}}, "response_format.json_schema.name"),
        (
            {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "array"}}},
            "response_format.json_schema.schema",
        ),
        ({"type": "json_schema", "json_schema": {"name": "get_time"}}, "response_format"),
    ],
)
def test_bad_response_format_is_400(response_format: dict[str, Any], param: str, call_invoke: Any) -> None:
    status, _, body = chat(
        call_invoke,
        {"messages": [{"role": "user", "content": "hi"}], "tools": [TIME], "response_format": response_format},
    )
    assert status == 400 and body["error"]["param"] == param


# ---- images -----------------------------------------------------------------------------------------------------


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, "detail": "low"}}


def test_data_url_images_become_image_blocks(bedrock: Any, call_invoke: Any) -> None:
    data = base64.b64encode(PNG).decode()
    expect(
        bedrock,
        [
            {
                "role": "user",
                "content": [
                    {"text": "what is this?"},
                    {"image": {"format": "png", "source": {"bytes": PNG}}},
                    {"image": {"format": "jpeg", "source": {"bytes": PNG}}},
                ],
            }
        ],
        converse_response("a picture"),
    )
    status, _, body = chat(
        call_invoke,
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this?"},
                        image_part(f"data:image/png;base64,{data}"),
                        image_part(f"data:image/jpg;base64,{data}"),
                    ],
                }
            ]
        },
    )
    assert status == 200 and body["choices"][0]["message"]["content"] == "a picture"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://example.com/cat.png", "does not fetch URLs"),
        ("http://example.com/cat.png", "does not fetch URLs"),
        ("data:image/tiff;base64,AAAA", "data:image/<png|jpeg|gif|webp>"),
        ("data:text/plain;base64,AAAA", "data:image/<png|jpeg|gif|webp>"),
        ("data:image/png;base64,not base64!", "not valid base64"),
        ("data:image/png;base64,", "empty"),
    ],
)
def test_images_bedrock_cannot_take_are_400(url: str, reason: str, call_invoke: Any) -> None:
    status, _, body = chat(call_invoke, {"messages": [{"role": "user", "content": [image_part(url)]}]})
    assert status == 400 and reason in body["error"]["message"]
    assert body["error"]["param"] == "messages[0].content[0].image_url.url"


def test_too_large_and_too_many_images_are_400(call_invoke: Any) -> None:
    big = base64.b64encode(b"\x00" * 3_750_001).decode()
    status, _, body = chat(
        call_invoke, {"messages": [{"role": "user", "content": [image_part(f"data:image/png;base64,{big}")]}]}
    )
    assert status == 400 and "at most 3750000" in body["error"]["message"]
    small = image_part("data:image/png;base64," + base64.b64encode(PNG).decode())
    status, _, body = chat(call_invoke, {"messages": [{"role": "user", "content": [small] * 21}]})
    assert status == 400 and "at most 20 images" in body["error"]["message"]


def test_images_only_in_user_messages(call_invoke: Any) -> None:
    part = image_part("data:image/png;base64," + base64.b64encode(PNG).decode())
    status, _, body = chat(
        call_invoke, {"messages": [{"role": "system", "content": [part]}, {"role": "user", "content": "x"}]}
    )
    assert status == 400 and body["error"]["param"] == "messages[0].content[0].type"


# ---- streaming ----------------------------------------------------------------------------------------------------


def events(raw: str) -> list[Any]:
    assert raw.endswith("\n\n")
    frames = raw.split("\n\n")[:-1]
    assert all(f.startswith("data: ") for f in frames)
    return [f.removeprefix("data: ") for f in frames]


def raw_chat(context: Any, payload: dict[str, Any]) -> dict[str, Any]:
    from conftest import invoke_app  # the body of a stream is SSE, not JSON: call the handler directly

    return invoke_app.lambda_handler(http_event("POST", "/v1/chat/completions", {"model": MODEL, **payload}), context)


def test_stream_frames_text_finish_usage_and_done(bedrock: Any, context: Any) -> None:
    expect(bedrock, USER_HI, converse_response("Hello!", tokens=(3, 1)))
    response = raw_chat(
        context,
        {"messages": [{"role": "user", "content": "hi"}], "stream": True, "stream_options": {"include_usage": True}},
    )
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"] == "text/event-stream"
    assert response["headers"]["x-request-id"] == "JKJaXmPLvHcESHA="
    data = events(response["body"])
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Hello!"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-2]["usage"] is None
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": 1,
        "total_tokens": 4,
        "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    }


def test_stream_without_include_usage_has_no_usage(bedrock: Any, context: Any) -> None:
    expect(bedrock, USER_HI, converse_response("Hello!"))
    response = raw_chat(context, {"messages": [{"role": "user", "content": "hi"}], "stream": True})
    chunks = [json.loads(d) for d in events(response["body"])[:-1]]
    assert all("usage" not in c for c in chunks) and chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_tool_calls_have_dense_zero_based_indexes(bedrock: Any, context: Any) -> None:
    expect(
        bedrock,
        USER_HI,
        tool_reply(("tooluse_a", "get_weather", {"city": "Paris"}), ("tooluse_b", "get_time", {})),
        toolConfig={"tools": [WEATHER_SPEC, TIME_SPEC], "toolChoice": {"auto": {}}},
    )
    response = raw_chat(
        context, {"messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER, TIME], "stream": True}
    )
    chunks = [json.loads(d) for d in events(response["body"])[:-1]]
    deltas = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls") or []]
    assert [(d["index"], d.get("id")) for d in deltas] == [(0, "tooluse_a"), (0, None), (1, "tooluse_b"), (1, None)]
    arguments = {i: "".join(d["function"].get("arguments", "") for d in deltas if d["index"] == i) for i in (0, 1)}
    assert arguments == {0: '{"city": "Paris"}', 1: "{}"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_errors_before_the_model_answers_are_plain_json_even_when_streaming(call_invoke: Any) -> None:
    status, headers, body = chat(call_invoke, {"messages": [{"role": "user", "content": "hi"}], "stream": True, "n": 2})
    assert status == 400 and headers["Content-Type"] == "application/json" and body["error"]["param"] == "n"


# ---- fields that change the answer: honoured or refused, never ignored ----------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("frequency_penalty", 0.5),
        ("presence_penalty", -1),
        ("logit_bias", {"50256": -100}),
        ("logprobs", True),
        ("top_logprobs", 2),
        ("modalities", ["text", "audio"]),
        ("reasoning_effort", "high"),
        ("verbosity", "low"),
        ("audio", {"voice": "alloy", "format": "mp3"}),
        ("prediction", {"type": "content", "content": "x"}),
        ("web_search_options", {}),
        ("functions", [{"name": "f"}]),
        ("function_call", "auto"),
        ("best_of", 2),
    ],
)
def test_fields_that_would_change_the_answer_are_refused_by_name(field: str, value: Any, call_invoke: Any) -> None:
    status, _, body = chat(call_invoke, {"messages": [{"role": "user", "content": "hi"}], field: value})
    assert status == 400 and body["error"]["param"] == field and body["error"]["message"].startswith(field)


def test_neutral_values_and_fields_that_cannot_change_the_answer_are_accepted(bedrock: Any, call_invoke: Any) -> None:
    expect(bedrock, USER_HI, converse_response("ok"))
    status, _, _ = chat(
        call_invoke,
        {
            "messages": [{"role": "user", "content": "hi", "name": "ada"}],
            "frequency_penalty": 0,
            "presence_penalty": 0,
            "logit_bias": {},
            "logprobs": False,
            "modalities": ["text"],
            "user": "u-1",
            "seed": 7,
            "store": False,
            "metadata": {"team": "search"},
            "service_tier": "auto",
            "prompt_cache_key": "k",
            "safety_identifier": "s",
            "n": 1,
        },
    )
    assert status == 200


def test_five_stop_sequences_say_the_limit(call_invoke: Any) -> None:
    status, _, body = chat(call_invoke, {"messages": [{"role": "user", "content": "hi"}], "stop": list("abcde")})
    assert status == 400
    assert body["error"] == {
        "message": "stop: at most 4 stop sequences (got 5)",
        "type": "invalid_request_error",
        "param": "stop",
        "code": None,
    }


def test_validation_messages_never_show_pydantic_union_branches(call_invoke: Any) -> None:
    for payload in (
        {"messages": [{"role": "user", "content": {"a": 1}}]},
        {"messages": [{"role": "user", "content": "hi"}], "stop": 5},
        {"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"},
    ):
        status, _, body = chat(call_invoke, payload)
        assert status == 400
        assert ".str" not in body["error"]["message"] and "list[" not in body["error"]["message"]


# ---- every response carries x-request-id --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/health", None),
        ("GET", "/v1/models", None),
        ("GET", "/nope", None),
        ("POST", "/v1/chat/completions", {"messages": []}),
        ("POST", "/invoke", "x" * (5 * 1024 * 1024 + 1)),
    ],
)
def test_every_response_has_x_request_id(method: str, path: str, body: Any, call_invoke: Any) -> None:
    _, headers, _ = call_invoke(http_event(method, path, body))
    assert headers["x-request-id"] == "JKJaXmPLvHcESHA="


def test_models_retrieve(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("GET", "/v1/models/amazon.nova-micro-v1%3A0"))
    assert (status, body["id"], body["object"]) == (200, MODEL, "model")
    status, _, body = call_invoke(http_event("GET", "/v1/models/amazon.titan-embed-text-v2:0"))
    assert status == 200 and body["owned_by"] == "amazon"
    status, _, body = call_invoke(http_event("GET", "/v1/models/gpt-4o"))
    assert status == 404 and body["error"]["code"] == "model_not_found"
