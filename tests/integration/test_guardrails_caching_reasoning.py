"""Guardrails, prompt caching and reasoning through both APIs, as README's sections show them: the openai SDK on
/v1, plain HTTP on /invoke, and managed keys with their own guardrail. Exact answers come from the Bedrock
stand-in's deterministic rules (local configuration: guardrail `localguardrail`, a Claude id that reasons)."""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest
from conftest import Api
from discovery import Target
from test_keys import call, new_key

pytestmark = pytest.mark.local_only

NOVA = "amazon.nova-micro-v1:0"
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
BLOCKED = "Sorry, the model cannot answer this request."
WEATHER = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


@pytest.fixture(scope="module")
def client(target: Target) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{target.url}/v1", api_key=target.token, max_retries=0, timeout=35)


def long_system_prompt() -> str:
    """Unique per test run (the stand-in's cache lives as long as it does), ~1,500 words: long enough to cache."""
    return f"Run {uuid.uuid4().hex}. " + " ".join(f"rule{i} applies." for i in range(750))


# ---- guardrails ---------------------------------------------------------------------------------------------------


def test_guardrail_intervention_is_content_filter_on_v1(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=NOVA, messages=[{"role": "user", "content": "guardrail-block me"}])
    assert answer.choices[0].finish_reason == "content_filter"
    assert answer.choices[0].message.content == BLOCKED


def test_guardrail_intervention_in_a_stream(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=NOVA, messages=[{"role": "user", "content": "guardrail-block me"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == BLOCKED
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "content_filter"


def test_guardrail_intervention_on_invoke(api: Api) -> None:
    response = api.invoke({"prompt": "please guardrail-block this"})
    assert response.status_code == 200
    assert response.json()["stopReason"] == "guardrail_intervened"
    assert response.json()["output"] == BLOCKED


def test_text_the_guardrail_lets_through_is_answered(api: Api) -> None:
    assert api.invoke({"prompt": "a harmless question"}).json()["stopReason"] == "end_turn"


def test_a_key_with_its_own_guardrail_replaces_the_default(target: Target) -> None:
    _, token = new_key("--guardrail", "strictguardrail:1")
    strict = call(target, token, body={"prompt": "strictguardrail-block this"})
    assert strict.status_code == 200 and strict.json()["stopReason"] == "guardrail_intervened"
    default_word = call(target, token, body={"prompt": "localguardrail-block this"})
    assert default_word.json()["stopReason"] == "end_turn"  # the default guardrail no longer applies to this key
    assert call(target, target.token, body={"prompt": "strictguardrail-block this"}).json()["stopReason"] == "end_turn"


def test_a_guardrail_that_does_not_exist_is_a_502_with_the_reason_in_the_logs(target: Target) -> None:
    _, token = new_key("--guardrail", "missingguardrail:1")
    response = call(target, token)
    assert response.status_code == 502
    assert response.json()["message"] == "The gateway's guardrail could not be applied."


# ---- prompt caching -----------------------------------------------------------------------------------------------


def test_a_repeated_long_system_prompt_is_read_from_the_cache_on_v1(client: openai.OpenAI) -> None:
    system = long_system_prompt()
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "hello"}]
    first = client.chat.completions.create(model=NOVA, messages=messages).usage
    second = client.chat.completions.create(model=NOVA, messages=messages).usage
    assert first and second and first.prompt_tokens_details and second.prompt_tokens_details
    words = len(system.split())
    assert first.prompt_tokens_details.cached_tokens == 0
    assert first.prompt_tokens_details.cache_write_tokens == words  # the SDK's own field for cache writes
    assert second.prompt_tokens_details.cache_write_tokens == 0
    assert second.prompt_tokens_details.cached_tokens == words
    assert second.prompt_tokens == first.prompt_tokens  # cached tokens are still prompt tokens, as OpenAI counts


def test_invoke_reports_cache_writes_then_reads_and_cache_false_opts_out(api: Api) -> None:
    body = {"prompt": "hello", "system": long_system_prompt()}
    words = len(body["system"].split())
    opted_out = api.invoke({**body, "cache": False}).json()["usage"]
    assert opted_out["cacheReadInputTokens"] == opted_out["cacheWriteInputTokens"] == 0
    first = api.invoke(body).json()["usage"]
    second = api.invoke(body).json()["usage"]
    assert (first["cacheWriteInputTokens"], first["cacheReadInputTokens"]) == (words, 0)
    assert (second["cacheWriteInputTokens"], second["cacheReadInputTokens"]) == (0, words)


def test_cache_false_through_extra_body(client: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": long_system_prompt()}, {"role": "user", "content": "hello"}]
    for _ in range(2):
        usage = client.chat.completions.create(model=NOVA, messages=messages, extra_body={"cache": False}).usage
        assert usage and usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens == 0


def test_a_short_system_prompt_gets_no_cache_point(api: Api) -> None:
    usage = api.invoke({"prompt": "hello", "system": "be brief"}).json()["usage"]
    assert usage["cacheWriteInputTokens"] == usage["cacheReadInputTokens"] == 0


# ---- reasoning ----------------------------------------------------------------------------------------------------


def test_reasoning_content_is_separate_from_content(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "why is the sky blue"}], reasoning_effort="low"
    )
    message: Any = answer.choices[0].message
    assert message.content == "echo: why is the sky blue"
    assert message.reasoning_content == "thinking about why is the sky blue"
    assert message.thinking_blocks[0]["type"] == "thinking" and message.thinking_blocks[0]["signature"]


def test_reasoning_deltas_in_a_stream(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=CLAUDE,
            messages=[{"role": "user", "content": "stream and think"}],
            reasoning_effort="medium",
            stream=True,
        )
    )
    deltas: list[Any] = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == "thinking about stream and think"
    assert "".join(d.content or "" for d in deltas) == "echo: stream and think"


def test_a_tool_round_trip_with_thinking_keeps_the_signature(client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "use get_weather for Paris"}]
    first = client.chat.completions.create(model=CLAUDE, messages=messages, tools=WEATHER, reasoning_effort="low")
    call_message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and call_message.tool_calls
    messages += [call_message, {"role": "tool", "tool_call_id": call_message.tool_calls[0].id, "content": "sunny"}]
    second = client.chat.completions.create(model=CLAUDE, messages=messages, tools=WEATHER, reasoning_effort="low")
    assert second.choices[0].message.content == "echo: tool results: sunny"

    tampered = call_message.model_dump()
    tampered["thinking_blocks"][0]["signature"] = "forged" + tampered["thinking_blocks"][0]["signature"]
    with pytest.raises(openai.BadRequestError, match="Invalid `signature` in `thinking` block"):
        client.chat.completions.create(
            model=CLAUDE, messages=[messages[0], tampered, messages[2]], tools=WEATHER, reasoning_effort="low"
        )
    stripped = {k: v for k, v in call_message.model_dump().items() if k != "thinking_blocks"}
    with pytest.raises(openai.BadRequestError, match="Expected `thinking` or `redacted_thinking`"):
        client.chat.completions.create(
            model=CLAUDE, messages=[messages[0], stripped, messages[2]], tools=WEATHER, reasoning_effort="low"
        )


def test_reasoning_is_refused_where_it_cannot_be_honoured(client: openai.OpenAI) -> None:
    hello = [{"role": "user", "content": "hello"}]
    with pytest.raises(openai.BadRequestError, match="has no extended thinking") as no_reasoning:
        client.chat.completions.create(model=NOVA, messages=hello, reasoning_effort="high")
    assert no_reasoning.value.body["param"] == "reasoning_effort"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="temperature: must be 1"):
        client.chat.completions.create(model=CLAUDE, messages=hello, reasoning_effort="low", temperature=0.2)
    with pytest.raises(openai.BadRequestError, match="tool_choice: cannot force a tool"):
        client.chat.completions.create(
            model=CLAUDE, messages=hello, tools=WEATHER, tool_choice="required", reasoning_effort="low"
        )
    with pytest.raises(openai.BadRequestError, match="reasoning_effort: must be one of"):
        client.chat.completions.create(model=CLAUDE, messages=hello, reasoning_effort="extreme")  # type: ignore[arg-type]


def test_invoke_reasoning_budget(api: Api) -> None:
    answer = api.invoke({"prompt": "think first", "modelId": CLAUDE, "reasoning": {"budgetTokens": 2048}}).json()
    assert answer["reasoning"] == "thinking about think first" and answer["output"] == "echo: think first"
    too_small = api.invoke({"prompt": "x", "modelId": CLAUDE, "reasoning": {"budgetTokens": 100}})
    assert too_small.status_code == 400 and "1024-" in too_small.json()["message"]
    assert api.invoke({"prompt": "x", "reasoning": {"budgetTokens": 2048}}).status_code == 400  # Nova: no thinking
