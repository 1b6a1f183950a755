"""langchain-openai against the gateway: invoke, stream, a bind_tools agent loop, with_structured_output with all
three methods, OpenAIEmbeddings (check_embedding_ctx_length=False: tiktoken cannot fetch its tables offline),
guardrails, cached tokens and reasoning (ChatDeepSeek reads reasoning_content, which ChatOpenAI drops)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from discovery import Target
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_deepseek import ChatDeepSeek
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel, Field

pytestmark = pytest.mark.local_only  # exact answers come from the Bedrock stand-in
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # reasons (extended thinking) in the local configuration


@pytest.fixture(scope="module")
def settings(target: Target) -> dict[str, Any]:
    return {
        "base_url": f"{target.url}/v1",
        "api_key": target.token,
        "model": "amazon.nova-micro-v1:0",
        "max_retries": 0,
        "timeout": 35,
    }


@pytest.fixture(scope="module")
def llm(settings: dict[str, Any]) -> ChatOpenAI:
    return ChatOpenAI(**settings)


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


class Person(BaseModel):
    """A person."""

    name: str = Field(description="full name")
    age: int


def test_invoke(llm: ChatOpenAI) -> None:
    answer = llm.invoke([SystemMessage("be brief"), HumanMessage("hello langchain")])
    assert answer.content == "echo: hello langchain"
    assert answer.usage_metadata and answer.usage_metadata["total_tokens"] > 0


def test_stream_and_streaming_flag(llm: ChatOpenAI, settings: dict[str, Any]) -> None:
    chunks = list(llm.stream("stream through langchain"))
    assert len(chunks) > 1 and "".join(str(c.content) for c in chunks) == "echo: stream through langchain"
    assert ChatOpenAI(streaming=True, **settings).invoke("streaming flag").content == "echo: streaming flag"


def test_bind_tools_agent_loop(llm: ChatOpenAI) -> None:
    agent = llm.bind_tools([get_weather])
    history: list[BaseMessage] = [HumanMessage("what does get_weather say for Paris?")]
    first = agent.invoke(history)
    assert isinstance(first, AIMessage)
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [("get_weather", {"city": "echo"})]
    history.append(first)
    history += [ToolMessage(get_weather.invoke(c["args"]), tool_call_id=c["id"]) for c in first.tool_calls]
    final = agent.invoke(history)
    assert final.content == "echo: tool results: sunny in echo" and not final.tool_calls


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_structured_output_with_a_schema(method: str, llm: ChatOpenAI) -> None:
    person = llm.with_structured_output(Person, method=method).invoke("who is it?")
    assert person == Person(name="echo", age=1)


def test_structured_output_json_mode(llm: ChatOpenAI) -> None:
    schema = {"title": "Anything", "type": "object", "properties": {}}
    assert llm.with_structured_output(schema, method="json_mode").invoke("answer in JSON") == {}


def test_embeddings(settings: dict[str, Any]) -> None:
    embeddings = OpenAIEmbeddings(
        base_url=settings["base_url"],
        api_key=settings["api_key"],
        model="amazon.titan-embed-text-v2:0",
        check_embedding_ctx_length=False,
        max_retries=0,
    )
    documents = embeddings.embed_documents(["first document", "second", "first document"])
    assert [len(v) for v in documents] == [1024, 1024, 1024]
    assert documents[0] == documents[2] != documents[1]
    assert embeddings.embed_query("first document") == pytest.approx(documents[0])


# ---- guardrails, prompt caching, reasoning (README: "Guardrails", "Prompt caching", "Reasoning") ------------------


def test_guardrail_intervention_is_a_content_filter_finish(llm: ChatOpenAI) -> None:
    answer = llm.invoke("guardrail-block this")
    assert answer.content == "Sorry, the model cannot answer this request."
    assert answer.response_metadata["finish_reason"] == "content_filter"


def test_cached_tokens_of_a_repeated_long_system_prompt(llm: ChatOpenAI) -> None:
    system = SystemMessage(f"Run {uuid.uuid4().hex}. " + " ".join(f"rule{i} applies." for i in range(750)))
    first = llm.invoke([system, HumanMessage("hello")]).usage_metadata
    second = llm.invoke([system, HumanMessage("hello")]).usage_metadata
    assert first and second
    assert first.get("input_token_details", {}).get("cache_read", 0) == 0
    assert second.get("input_token_details", {}).get("cache_read") == len(system.content.split())  # type: ignore[union-attr]


def test_reasoning_with_chat_openai_and_chat_deepseek(settings: dict[str, Any]) -> None:
    claude = {**settings, "model": CLAUDE}
    # ChatOpenAI sends reasoning_effort and keeps the thinking out of the content (it does not read it).
    assert ChatOpenAI(reasoning_effort="low", **claude).invoke("why").content == "echo: why"
    # ChatDeepSeek (langchain-deepseek) reads reasoning_content, from the whole answer and from a stream.
    deepseek = ChatDeepSeek(
        api_base=settings["base_url"], api_key=settings["api_key"], model=CLAUDE, reasoning_effort="low", max_retries=0
    )
    answer = deepseek.invoke("why")
    assert answer.content == "echo: why"
    assert answer.additional_kwargs["reasoning_content"] == "thinking about why"
    chunks = list(deepseek.stream("why stream"))
    assert "".join(c.additional_kwargs.get("reasoning_content", "") for c in chunks) == "thinking about why stream"
    assert "".join(str(c.content) for c in chunks) == "echo: why stream"
