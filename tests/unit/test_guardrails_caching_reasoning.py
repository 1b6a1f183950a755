"""Guardrails, prompt caching and reasoning: each translation on its own, then through the handler with botocore's
Stubber checking every Converse request against the service model."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import MAX_OUTPUT_TOKENS, FakeContext, converse_response, http_event, invoke_app

import bedrock as bedrock_module
import caching
import capabilities
import config
import guardrails
import reasoning
from errors import GatewayError, from_botocore

NOVA = "amazon.nova-micro-v1:0"
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
LONG = "word " * 1200  # ~6,000 characters: ~1,500 tokens by the estimate, above the 1,024 and 1,000 minimums
STRICT_ARN = "arn:aws:bedrock:us-east-1:123456789012:guardrail/strict1"


@pytest.fixture
def settings() -> Iterator[Any]:
    """Change config.settings in place for one test (it is frozen, and every module holds the same object)."""
    original = dict(vars(config.settings))

    def change(**values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(config.settings, name, value)

    yield change
    change(**original)


def bedrock_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Converse")


# ---- capabilities ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "cache_min", "cache_tools", "reasons"),
    [
        (CLAUDE, 1024, True, True),
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", 1024, True, True),
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", 4096, True, True),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", 2048, True, False),
        ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0", 1000, False, False),
        (NOVA, 1000, False, False),
        ("amazon.titan-text-express-v1", None, False, False),
    ],
)
def test_capabilities_by_family_with_or_without_profile_prefix(
    model_id: str, cache_min: int | None, cache_tools: bool, reasons: bool
) -> None:
    assert capabilities.of(model_id) == capabilities.Capabilities(cache_min, cache_tools, reasons)


# ---- prompt caching -------------------------------------------------------------------------------------------------


def tools(description: str) -> dict[str, Any]:
    spec = {"name": "t", "description": description, "inputSchema": {"json": {"type": "object"}}}
    return {"tools": [{"toolSpec": spec}], "toolChoice": {"auto": {}}}


def test_claude_caches_long_tools_and_the_system_prompt_after_them() -> None:
    system, config_out = caching.with_cache_points(CLAUDE, [{"text": "short"}], tools(LONG))
    assert config_out and config_out["tools"][-1] == caching.CACHE_POINT
    assert system == [{"text": "short"}, caching.CACHE_POINT]  # tools + system is above the minimum too


def test_short_prefixes_get_no_cache_point_and_inputs_stay_unmodified() -> None:
    system_in, tools_in = [{"text": "be brief"}], tools("tiny")
    system, config_out = caching.with_cache_points(CLAUDE, system_in, tools_in)
    assert (system, config_out) == ([{"text": "be brief"}], tools("tiny"))
    caching.with_cache_points(CLAUDE, system_in, tools(LONG))
    assert system_in == [{"text": "be brief"}]


def test_nova_caches_the_system_prompt_but_never_the_tools() -> None:
    system, config_out = caching.with_cache_points(NOVA, [{"text": LONG}], tools(LONG))
    assert system[-1] == caching.CACHE_POINT and config_out == tools(LONG)


def test_models_without_cache_points_are_untouched() -> None:
    assert caching.with_cache_points("amazon.titan-text-express-v1", [{"text": LONG}], None) == ([{"text": LONG}], None)


def test_converse_arguments_cache_opt_out_and_the_off_switch(settings: Any) -> None:
    conversation = bedrock_module.Conversation(model_id=NOVA, messages=[], system=[LONG])
    assert bedrock_module.converse_arguments(conversation)["system"][-1] == caching.CACHE_POINT
    assert caching.CACHE_POINT not in bedrock_module.converse_arguments(replace(conversation, cache=False))["system"]
    settings(prompt_caching=False)
    assert caching.CACHE_POINT not in bedrock_module.converse_arguments(conversation)["system"]


# ---- guardrails -----------------------------------------------------------------------------------------------------


def test_no_guardrail_unless_configured(settings: Any) -> None:
    settings(guardrail_id="")
    assert guardrails.for_key(None) is None
    conversation = bedrock_module.Conversation(model_id=NOVA, messages=[])
    assert "guardrailConfig" not in bedrock_module.converse_arguments(conversation)


def test_the_default_guardrail_and_a_keys_own(settings: Any) -> None:
    settings(guardrail_id="gr1", guardrail_version="3", guardrail_trace=True, key_guardrails=(STRICT_ARN,))
    assert guardrails.for_key(None) == guardrails.Guardrail("gr1", "3", True)
    assert guardrails.for_key("strict1:2") == guardrails.Guardrail(STRICT_ARN, "2", True)
    assert guardrails.for_key("gr1") == guardrails.Guardrail("gr1", "DRAFT", True)
    assert guardrails.Guardrail("gr1", "3", False).converse_config() == {
        "guardrailIdentifier": "gr1",
        "guardrailVersion": "3",
        "trace": "disabled",
    }
    with pytest.raises(GatewayError) as refused:
        guardrails.for_key("other:1")
    assert refused.value.status == 403 and refused.value.code == "guardrail_not_allowed"
    assert "other" not in refused.value.message  # the stack's configuration stays in the logs


def test_policies_that_acted_names_policies_never_text() -> None:
    trace = {
        "guardrail": {
            "inputAssessment": {
                "gr1": {"wordPolicy": {"customWords": [{"match": "secret words"}]}, "invocationMetrics": {}}
            },
            "outputAssessments": {"gr1": [{"contentPolicy": {"filters": []}}]},
        }
    }
    assert guardrails.policies_that_acted(trace) == ["contentPolicy", "wordPolicy"]
    assert guardrails.policies_that_acted(None) == []


@pytest.mark.parametrize("code", ["ValidationException", "ResourceNotFoundException", "AccessDeniedException"])
def test_a_guardrail_bedrock_cannot_apply_is_a_502(code: str) -> None:
    err = from_botocore(bedrock_error(code, "The guardrail identifier or version provided does not exist."))
    assert (err.status, err.message) == (502, "The gateway's guardrail could not be applied.")
    assert "guardrail identifier" in err.detail


def test_validation_reasons_reach_the_client_without_account_details() -> None:
    err = from_botocore(
        bedrock_error("ValidationException", "messages.1.content.0: bad block for arn:aws:iam::123456789012:role/x")
    )
    assert err.status == 400
    assert err.message == "The model rejected the request as invalid: messages.1.content.0: bad block for (withheld)"


# ---- reasoning ------------------------------------------------------------------------------------------------------


def test_effort_budgets_are_clamped_to_the_maximum(settings: Any) -> None:
    settings(max_reasoning_tokens=4000)
    assert [reasoning.effort_budget(e) for e in (None, "none", "low", "medium", "high")] == [
        None,
        None,
        1024,
        4000,
        4000,
    ]
    with pytest.raises(GatewayError, match="reasoning_effort: must be one of low, medium, high or none"):
        reasoning.effort_budget("minimal")


@pytest.mark.parametrize(
    ("model", "budget", "options", "message"),
    [
        (NOVA, 2048, {}, "reasoning_effort: the model 'amazon.nova-micro-v1:0' has no extended thinking"),
        (CLAUDE, 100, {}, "reasoning_effort: the thinking budget must be 1024-8192 tokens (got 100)"),
        (CLAUDE, 2048, {"temperature": 0.5}, "temperature: must be 1 or left out"),
        (CLAUDE, 2048, {"top_p": 0.5}, "top_p: must be 0.95-1 or left out"),
        (CLAUDE, 2048, {"forced_tool": "response_format"}, "response_format: cannot force a tool"),
    ],
)
def test_what_thinking_refuses_is_a_400_naming_the_field(
    model: str, budget: int, options: dict[str, Any], message: str
) -> None:
    arguments = {"temperature": None, "top_p": None, "forced_tool": None, **options}
    with pytest.raises(GatewayError) as refused:
        reasoning.check(model, budget, param="reasoning_effort", **arguments)
    assert refused.value.status == 400 and refused.value.message.startswith(message)


def test_the_budget_comes_on_top_of_the_answers_max_tokens() -> None:
    conversation = bedrock_module.Conversation(model_id=CLAUDE, messages=[], max_tokens=300, reasoning_budget=2048)
    arguments = bedrock_module.converse_arguments(conversation)
    assert arguments["inferenceConfig"]["maxTokens"] == 2348
    assert arguments["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 2048}}


def test_thinking_blocks_round_trip_unchanged() -> None:
    converse = (
        {"reasoningText": {"text": "step one", "signature": "c2ln"}},
        {"redactedContent": b"\x00secret"},
    )
    openai_blocks = reasoning.to_openai(converse)
    assert openai_blocks == [
        {"type": "thinking", "thinking": "step one", "signature": "c2ln"},
        {"type": "redacted_thinking", "data": base64.b64encode(b"\x00secret").decode()},
    ]
    back = reasoning.from_openai(json.loads(json.dumps(openai_blocks)), "messages[1].thinking_blocks")
    assert back == [{"reasoningContent": block} for block in converse]
    assert reasoning.text_of(converse) == "step one"


@pytest.mark.parametrize(
    ("blocks", "where"),
    [
        ("text", "messages[1].thinking_blocks"),
        ([{"type": "thinking", "thinking": "no signature"}], "messages[1].thinking_blocks[0]"),
        ([{"type": "redacted_thinking", "data": "%%"}], "messages[1].thinking_blocks[0].data"),
        ([{"type": "summary"}], "messages[1].thinking_blocks[0].type"),
    ],
)
def test_malformed_thinking_blocks_are_refused_by_path(blocks: Any, where: str) -> None:
    with pytest.raises(GatewayError) as refused:
        reasoning.from_openai(blocks, "messages[1].thinking_blocks")
    assert refused.value.param == where


# ---- through the handler ------------------------------------------------------------------------------------------


def thinking_response(text: str = "Answer.") -> dict[str, Any]:
    response = converse_response(text)
    response["output"]["message"]["content"].insert(
        0, {"reasoningContent": {"reasoningText": {"text": "let me think", "signature": "sig=="}}}
    )
    return response


def test_v1_reasoning_content_thinking_blocks_and_the_tool_round_trip(bedrock: Any, call_invoke: Any) -> None:
    expected = {
        "modelId": CLAUDE,
        "messages": [{"role": "user", "content": [{"text": "why"}]}],
        "inferenceConfig": {"maxTokens": MAX_OUTPUT_TOKENS + 1024},
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    }
    bedrock.add_response("converse", thinking_response(), expected)
    body = {"model": CLAUDE, "messages": [{"role": "user", "content": "why"}], "reasoning_effort": "low"}
    status, _, answer = call_invoke(http_event("POST", "/v1/chat/completions", body))
    message = answer["choices"][0]["message"]
    assert status == 200 and message["content"] == "Answer."
    assert message["reasoning_content"] == "let me think"
    assert message["thinking_blocks"] == [{"type": "thinking", "thinking": "let me think", "signature": "sig=="}]

    # sent back on the assistant message: the signed block leads that assistant turn, unchanged
    history = [
        {"role": "user", "content": "why"},
        {**message, "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "42"},
    ]
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    sent = {
        "modelId": CLAUDE,
        "messages": [
            {"role": "user", "content": [{"text": "why"}]},
            {
                "role": "assistant",
                "content": [
                    {"reasoningContent": {"reasoningText": {"text": "let me think", "signature": "sig=="}}},
                    {"text": "Answer."},
                    {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}},
                ],
            },
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "42"}]}}]},
        ],
        "inferenceConfig": {"maxTokens": MAX_OUTPUT_TOKENS + 1024},
        "toolConfig": {
            "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}],
            "toolChoice": {"auto": {}},
        },
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    }
    bedrock.add_response("converse", thinking_response("Done."), sent)
    body = {"model": CLAUDE, "messages": history, "tools": [tool], "reasoning_effort": "low"}
    status, _, answer = call_invoke(http_event("POST", "/v1/chat/completions", body))
    assert status == 200 and answer["choices"][0]["message"]["content"] == "Done."


def test_v1_stream_carries_reasoning_deltas_before_the_content(bedrock: Any, call_invoke: Any) -> None:
    bedrock.add_response("converse", thinking_response(), None)
    body = {
        "model": CLAUDE,
        "messages": [{"role": "user", "content": "why"}],
        "reasoning_effort": "low",
        "stream": True,
    }
    response = invoke_app.lambda_handler(http_event("POST", "/v1/chat/completions", body), FakeContext())
    events = [json.loads(line[6:]) for line in response["body"].split("\n\n") if line.startswith("data: {")]
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    assert [next(iter(d), None) for d in deltas] == ["role", "reasoning_content", "thinking_blocks", "content", None]
    assert deltas[1]["reasoning_content"] == "let me think" and deltas[3]["content"] == "Answer."


def test_reasoning_on_a_model_without_it_and_thinking_blocks_on_a_user_message(call_invoke: Any) -> None:
    status, _, body = call_invoke(http_event("POST", "/invoke", {"prompt": "hi", "reasoning": {"budgetTokens": 2048}}))
    assert status == 400 and body["code"] == "invalid_reasoning" and "amazon.nova-micro-v1:0" in body["message"]
    wrong_role = {"messages": [{"role": "user", "content": "hi", "thinking_blocks": []}]}
    status, _, body = call_invoke(http_event("POST", "/v1/chat/completions", wrong_role))
    assert status == 400 and body["error"]["param"] == "messages[0].thinking_blocks"


def test_invoke_reasoning_and_cache_usage(bedrock: Any, call_invoke: Any) -> None:
    response = thinking_response()
    response["usage"].update(cacheReadInputTokens=1500, cacheWriteInputTokens=0, totalTokens=1507)
    bedrock.add_response("converse", response, None)
    status, _, body = call_invoke(
        http_event("POST", "/invoke", {"prompt": "hi", "modelId": CLAUDE, "reasoning": {"budgetTokens": 2048}})
    )
    assert status == 200 and body["reasoning"] == "let me think" and body["output"] == "Answer."
    assert body["usage"]["cacheReadInputTokens"] == 1500 and body["usage"]["inputTokens"] == 5


def test_v1_usage_counts_cached_tokens_as_prompt_tokens(bedrock: Any, call_invoke: Any) -> None:
    response = converse_response("ok", tokens=(5, 2))
    response["usage"].update(cacheReadInputTokens=1000, cacheWriteInputTokens=24, totalTokens=1031)
    bedrock.add_response("converse", response, None)
    status, _, body = call_invoke(
        http_event("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
    )
    assert status == 200
    assert body["usage"] == {
        "prompt_tokens": 1029,
        "completion_tokens": 2,
        "total_tokens": 1031,
        "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 24},
    }


def test_an_intervention_is_a_content_filter_counted_and_never_logged(
    bedrock: Any, call_invoke: Any, settings: Any, logs: Any, capsys: Any
) -> None:
    settings(guardrail_id="gr1", guardrail_version="1")
    response = converse_response("Blocked by policy.", stop="guardrail_intervened")
    expected = {
        "modelId": NOVA,
        "messages": [{"role": "user", "content": [{"text": "forbidden words"}]}],
        "inferenceConfig": {"maxTokens": MAX_OUTPUT_TOKENS},
        "guardrailConfig": {"guardrailIdentifier": "gr1", "guardrailVersion": "1", "trace": "disabled"},
    }
    bedrock.add_response("converse", response, expected)
    body = {"messages": [{"role": "user", "content": "forbidden words"}]}
    status, _, answer = call_invoke(http_event("POST", "/v1/chat/completions", body))
    assert status == 200 and answer["choices"][0]["finish_reason"] == "content_filter"
    assert answer["choices"][0]["message"]["content"] == "Blocked by policy."
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and emf[-1]["GuardrailInterventions"] == [1.0]
    assert "Guardrail intervened" in logs() and "forbidden words" not in logs()
