"""The OpenAI-compatible routes, with the official openai SDK as the client (retries off)."""

from __future__ import annotations

import openai
import pytest
from discovery import Target


@pytest.fixture(scope="module")
def client(target: Target) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{target.url}/v1", api_key=target.token, max_retries=0, timeout=35)


@pytest.mark.local_only
def test_chat_completion_echoes_with_usage(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="amazon.nova-micro-v1:0",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello from the sdk"}],
        max_tokens=64,
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "echo: hello from the sdk"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


def test_model_list(client: openai.OpenAI) -> None:
    models = [m.id for m in client.models.list()]
    assert models and all(isinstance(m, str) for m in models)


def test_invalid_request_is_bad_request_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="amazon.nova-micro-v1:0", messages=[{"role": "user", "content": "x"}], n=3)
    assert info.value.status_code == 400 and "n=1" in info.value.message


def test_streaming_is_refused_clearly(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="stream"):
        client.chat.completions.create(
            model="amazon.nova-micro-v1:0", messages=[{"role": "user", "content": "x"}], stream=True
        )


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
        wrong.chat.completions.create(model="amazon.nova-micro-v1:0", messages=[{"role": "user", "content": "x"}])
