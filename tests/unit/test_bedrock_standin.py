"""The local Bedrock stand-in speaks the wire format botocore expects: driven with a real boto3 client."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "local"))
import bedrock_standin


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    server = bedrock_standin.serve("127.0.0.1", 0, hang_seconds=2)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    config = Config(read_timeout=1, retries={"mode": "standard", "total_max_attempts": 1})
    yield boto3.client("bedrock-runtime", endpoint_url=url, config=config)
    server.shutdown()


def converse(client: Any, model: str = "amazon.nova-micro-v1:0", text: str = "hello there", **kwargs: Any) -> Any:
    return client.converse(modelId=model, messages=[{"role": "user", "content": [{"text": text}]}], **kwargs)


def test_converse_echoes_with_token_counts_that_add_up(client: Any) -> None:
    response = converse(client, system=[{"text": "be brief"}], inferenceConfig={"maxTokens": 50})
    assert response["output"]["message"]["content"][0]["text"] == "echo: hello there"
    assert response["stopReason"] == "end_turn"
    assert response["usage"] == {"inputTokens": 4, "outputTokens": 3, "totalTokens": 7}


def test_converse_honours_max_tokens_and_stop_sequences(client: Any) -> None:
    assert converse(client, text="a b c d e", inferenceConfig={"maxTokens": 2})["stopReason"] == "max_tokens"
    stopped = converse(client, text="one STOP two", inferenceConfig={"maxTokens": 9, "stopSequences": ["STOP"]})
    assert stopped["stopReason"] == "stop_sequence"
    assert stopped["output"]["message"]["content"][0]["text"] == "echo: one "


def test_model_ids_with_colons_arrive_url_encoded(client: Any) -> None:
    assert converse(client, model="us.amazon.nova-lite-v1:0")["stopReason"] == "end_turn"


def test_converse_stream_uses_real_eventstream_framing(client: Any) -> None:
    response = client.converse_stream(
        modelId="amazon.nova-micro-v1:0", messages=[{"role": "user", "content": [{"text": "stream me please now"}]}]
    )
    events = list(response["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == "echo: stream me please now"
    assert events[-1]["metadata"]["usage"]["totalTokens"] == 4 + 5


def test_invoke_model_titan_and_nova_shapes(client: Any) -> None:
    titan = json.loads(
        client.invoke_model(
            modelId="amazon.titan-text-express-v1",
            body=json.dumps({"inputText": "hi titan", "textGenerationConfig": {"maxTokenCount": 10}}),
        )["body"].read()
    )
    assert titan["results"][0]["outputText"] == "echo: hi titan" and titan["results"][0]["completionReason"] == "FINISH"
    nova = json.loads(
        client.invoke_model(
            modelId="amazon.nova-micro-v1:0",
            body=json.dumps(
                {"messages": [{"role": "user", "content": [{"text": "hi nova"}]}], "inferenceConfig": {"maxTokens": 5}}
            ),
        )["body"].read()
    )
    assert nova["output"]["message"]["content"][0]["text"] == "echo: hi nova"


@pytest.mark.parametrize(
    ("model", "code", "status"),
    [
        ("fault.throttling", "ThrottlingException", 429),
        ("fault.validation", "ValidationException", 400),
        ("fault.unavailable", "ServiceUnavailableException", 503),
        ("fault.notready", "ModelNotReadyException", 429),
        ("fault.accessdenied", "AccessDeniedException", 403),
        ("fault.notfound", "ResourceNotFoundException", 404),
        ("fault.modeltimeout", "ModelTimeoutException", 408),
        ("fault.quota", "ServiceQuotaExceededException", 400),
    ],
)
def test_faults_raise_the_modelled_exceptions(model: str, code: str, status: int, client: Any) -> None:
    with pytest.raises(ClientError) as info:
        converse(client, model=model)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert isinstance(info.value, getattr(client.exceptions, code))


def test_timeout_fault_outlasts_the_read_timeout(client: Any) -> None:
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        converse(client, model="fault.timeout")
    assert 0.9 < time.monotonic() - started < 2


def test_conversation_must_start_with_user(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException):
        client.converse(modelId="m", messages=[{"role": "assistant", "content": [{"text": "x"}]}])


# ---- tools, images, embeddings and Bedrock's rules (the behaviour README's local section documents) ----------------

WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer"},
                    "where": {"$ref": "#/$defs/Place"},
                    "optional": {"type": "string"},
                },
                "required": ["city", "unit", "days", "where"],
                "$defs": {
                    "Place": {
                        "type": "object",
                        "properties": {"lat": {"type": "number"}, "tags": {"type": "array"}, "ok": {"type": "boolean"}},
                        "required": ["lat", "tags", "ok"],
                    }
                },
            }
        },
    }
}
TIME = {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object"}}}}
MINIMAL_WEATHER = {"city": "echo", "unit": "celsius", "days": 1, "where": {"lat": 1.5, "tags": [], "ok": True}}


def ask(client: Any, text: str, choice: dict[str, Any] | None = None, tools: list[Any] | None = None) -> Any:
    config: dict[str, Any] = {"tools": tools or [WEATHER, TIME]}
    if choice:
        config["toolChoice"] = choice
    return client.converse(modelId="m", messages=[{"role": "user", "content": [{"text": text}]}], toolConfig=config)


def uses(response: Any) -> list[tuple[str, Any]]:
    blocks = response["output"]["message"]["content"]
    return [(b["toolUse"]["name"], b["toolUse"]["input"]) for b in blocks if "toolUse" in b]


def test_auto_calls_every_named_tool_in_tool_order_with_minimal_inputs(client: Any) -> None:
    response = ask(client, "get_time then get_weather please")
    assert response["stopReason"] == "tool_use"
    assert response["output"]["message"]["content"][0] == {"text": "calling get_weather, get_time"}
    assert uses(response) == [("get_weather", MINIMAL_WEATHER), ("get_time", {})]
    ids = [b["toolUse"]["toolUseId"] for b in response["output"]["message"]["content"][1:]]
    assert all(len(i) == 16 and i.startswith("tooluse_") for i in ids) and len(set(ids)) == 2


def test_auto_without_a_named_tool_echoes(client: Any) -> None:
    response = ask(client, "hello")
    assert response["stopReason"] == "end_turn" and uses(response) == []


def test_any_calls_the_first_tool_and_tool_calls_that_one(client: Any) -> None:
    assert uses(ask(client, "hello", {"any": {}})) == [("get_weather", MINIMAL_WEATHER)]
    assert uses(ask(client, "get_weather", {"tool": {"name": "get_time"}})) == [("get_time", {})]


def test_tool_results_are_echoed(client: Any) -> None:
    response = client.converse(
        modelId="m",
        messages=[
            {"role": "user", "content": [{"text": "get_time and get_weather"}]},
            {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "a", "name": "get_time", "input": {}}},
                    {"toolUse": {"toolUseId": "b", "name": "get_weather", "input": {}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "a", "content": [{"text": "noon"}]}},
                    {"toolResult": {"toolUseId": "b", "content": [{"text": "sunny"}]}},
                ],
            },
        ],
        toolConfig={"tools": [WEATHER, TIME]},
    )
    assert response["output"]["message"]["content"] == [{"text": "echo: tool results: noon | sunny"}]


def test_images_are_described_in_the_echo(client: Any) -> None:
    response = client.converse(
        modelId="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"text": "look"},
                    {"image": {"format": "png", "source": {"bytes": b"\x89PNG1234"}}},
                    {"image": {"format": "webp", "source": {"bytes": b"RIFF"}}},
                ],
            }
        ],
    )
    assert (
        response["output"]["message"]["content"][0]["text"] == "echo: look [image: png, 8 bytes] [image: webp, 4 bytes]"
    )


@pytest.mark.parametrize(
    ("messages", "tool_config", "fragment"),
    [
        (
            [{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}],
            None,
            "alternate",
        ),
        ([{"role": "user", "content": [{"text": " "}]}], None, "is blank"),
        (
            [
                {"role": "user", "content": [{"text": "a"}]},
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "a", "name": "get_time", "input": {}}}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "a", "content": [{"text": "x"}]}}]},
            ],
            None,
            "toolConfig field must be defined",
        ),
        (
            [
                {"role": "user", "content": [{"text": "a"}]},
                {"role": "assistant", "content": [{"text": "no call"}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "zz", "content": [{"text": "x"}]}}]},
            ],
            {"tools": [TIME]},
            "exceeds the number of toolUse blocks",
        ),
        (
            [
                {"role": "user", "content": [{"text": "a"}]},
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "a", "name": "get_time", "input": {}}}]},
                {"role": "user", "content": [{"text": "never answered"}]},
            ],
            {"tools": [TIME]},
            "Expected toolResult blocks",
        ),
        (
            [
                {"role": "user", "content": [{"text": "a"}]},
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "a.b", "name": "get_time", "input": {}}}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "a.b", "content": [{"text": "x"}]}}]},
            ],
            {"tools": [TIME]},
            "regular expression pattern",
        ),
        ([{"role": "user", "content": [{"text": "a"}]}], {"tools": [TIME, TIME]}, "duplicate tool names"),
        (
            [{"role": "user", "content": [{"text": "a"}]}],
            {"tools": [TIME], "toolChoice": {"tool": {"name": "nope"}}},
            "not defined",
        ),
        (
            [{"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": b"x" * 3_750_001}}}]}],
            None,
            "larger than 3.75 MB",
        ),
    ],
)
def test_bedrock_rules_answer_validation_exceptions(
    messages: list[dict[str, Any]], tool_config: dict[str, Any] | None, fragment: str, client: Any
) -> None:
    kwargs: dict[str, Any] = {"toolConfig": tool_config} if tool_config else {}
    with pytest.raises(client.exceptions.ValidationException) as info:
        client.converse(modelId="m", messages=messages, **kwargs)
    assert fragment in info.value.response["Error"]["Message"]


def test_titan_embeddings_are_deterministic_unit_vectors(client: Any) -> None:
    def titan(text: str, **extra: Any) -> Any:
        response = client.invoke_model(
            modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": text, **extra})
        )
        return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]

    (first, headers), (again, _) = titan("same words here"), titan("same words here")
    assert first["embedding"] == again["embedding"] and len(first["embedding"]) == 1024
    assert abs(sum(v * v for v in first["embedding"]) - 1) < 1e-4
    assert first["inputTextTokenCount"] == 3 and headers["x-amzn-bedrock-input-token-count"] == "3"
    assert titan("other")[0]["embedding"] != first["embedding"]
    assert len(titan("x", dimensions=256)[0]["embedding"]) == 256
    with pytest.raises(client.exceptions.ValidationException):
        titan("x", dimensions=300)


def test_cohere_embeddings_take_a_batch(client: Any) -> None:
    response = client.invoke_model(
        modelId="cohere.embed-english-v3",
        body=json.dumps({"texts": ["a b", "c"], "input_type": "search_query"}),
    )
    answer = json.loads(response["body"].read())
    assert [len(v) for v in answer["embeddings"]] == [1024, 1024]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"] == "3"
    with pytest.raises(client.exceptions.ValidationException):
        client.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps({"texts": ["a"]}))


def test_converse_stream_frames_tool_use(client: Any) -> None:
    response = client.converse_stream(
        modelId="m",
        messages=[{"role": "user", "content": [{"text": "get_time"}]}],
        toolConfig={"tools": [TIME]},
    )
    events = list(response["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_time" and start["contentBlockIndex"] == 1
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


# ---- guardrails, prompt caching, thinking ------------------------------------------------------------------------

CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
GUARDRAIL = {"guardrailIdentifier": "localguardrail", "guardrailVersion": "1", "trace": "enabled"}


def test_a_guardrail_blocks_its_words_only_when_configured(client: Any) -> None:
    blocked = converse(client, text="please guardrail-block this", guardrailConfig=GUARDRAIL)
    assert blocked["stopReason"] == "guardrail_intervened"
    assert blocked["output"]["message"]["content"] == [{"text": "Sorry, the model cannot answer this request."}]
    assessment = blocked["trace"]["guardrail"]["inputAssessment"]["localguardrail"]
    assert assessment["wordPolicy"]["customWords"][0]["action"] == "BLOCKED"
    assert converse(client, text="please guardrail-block this")["stopReason"] == "end_turn"  # no guardrail
    assert converse(client, text="strictguardrail-block", guardrailConfig=GUARDRAIL)["stopReason"] == "end_turn"
    own = {**GUARDRAIL, "guardrailIdentifier": "arn:aws:bedrock:us-east-1:000000000000:guardrail/strictguardrail"}
    assert converse(client, text="strictguardrail-block", guardrailConfig=own)["stopReason"] == "guardrail_intervened"


@pytest.mark.parametrize(
    ("guardrail_id", "code"), [("missing-one", "ValidationException"), ("denied-one", "AccessDeniedException")]
)
def test_guardrails_bedrock_cannot_apply(client: Any, guardrail_id: str, code: str) -> None:
    with pytest.raises(ClientError) as failure:
        converse(client, guardrailConfig={**GUARDRAIL, "guardrailIdentifier": guardrail_id})
    assert failure.value.response["Error"]["Code"] == code and "guardrail" in str(failure.value)


def test_cache_points_write_then_read_the_same_prefix(client: Any) -> None:
    system = [{"text": "unique prefix " + "rule " * 50}, {"cachePoint": {"type": "default"}}]
    first, second = (converse(client, system=system)["usage"] for _ in range(2))
    assert (first["cacheWriteInputTokens"], first["cacheReadInputTokens"]) == (52, 0)
    assert (second["cacheWriteInputTokens"], second["cacheReadInputTokens"]) == (0, 52)
    assert second["inputTokens"] == 2 and second["totalTokens"] == 2 + 3 + 52
    assert "cacheReadInputTokens" not in converse(client, system=system[:1])["usage"]


def test_thinking_on_claude_is_signed_and_checked_when_sent_back(client: Any) -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    answer = converse(
        client, model=CLAUDE, text="why", inferenceConfig={"maxTokens": 2000}, additionalModelRequestFields=thinking
    )
    content = answer["output"]["message"]["content"]
    assert content[0]["reasoningContent"]["reasoningText"]["text"] == "thinking about why"
    assert content[1] == {"text": "echo: why"}
    history = [
        {"role": "user", "content": [{"text": "why"}]},
        {"role": "assistant", "content": content},
        {"role": "user", "content": [{"text": "and then"}]},
    ]
    assert client.converse(modelId=CLAUDE, messages=history)["stopReason"] == "end_turn"
    content[0]["reasoningContent"]["reasoningText"]["signature"] = "forged"
    with pytest.raises(ClientError, match=r"messages\.1\.content\.0: Invalid `signature` in `thinking` block"):
        client.converse(modelId=CLAUDE, messages=history)


@pytest.mark.parametrize(
    ("model", "inference", "budget", "message"),
    [
        ("amazon.nova-micro-v1:0", {"maxTokens": 2000}, 1024, "extraneous key [thinking]"),
        (CLAUDE, {"maxTokens": 2000}, 100, "greater than or equal to 1024"),
        (CLAUDE, {"maxTokens": 1000}, 1024, "`max_tokens` must be greater than `thinking.budget_tokens`"),
        (CLAUDE, {"maxTokens": 2000, "temperature": 0.5}, 1024, "`temperature` may only be set to 1"),
    ],
)
def test_thinking_rules(client: Any, model: str, inference: dict[str, Any], budget: int, message: str) -> None:
    with pytest.raises(ClientError) as failure:
        converse(
            client,
            model=model,
            inferenceConfig=inference,
            additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": budget}},
        )
    assert message in failure.value.response["Error"]["Message"]
