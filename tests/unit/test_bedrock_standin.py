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
