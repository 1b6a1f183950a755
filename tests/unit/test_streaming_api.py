"""The streaming API's pieces: the relay (ConverseStream -> chunks, identical to the buffered answer), the stream
function's handler, its hand-written runtime against the local Runtime API, and the authorizer's REST shape."""

from __future__ import annotations

import itertools
import json
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROOT, FakeContext, authorizer_app, load_event

import bedrock
import stream_app
from openai_compat import chat, streaming
from openai_compat.relay import Relay
from openai_compat.schema import ChatCompletionRequest

sys.path.insert(0, str(ROOT / "local"))
from runtime_api import RuntimeApiServer

NOVA = "amazon.nova-micro-v1:0"
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
OTHER = {"type": "function", "function": {"name": "g", "parameters": {"type": "object"}}}


def converse_events(content: list[dict[str, Any]], stop: str, usage: dict[str, int]) -> list[dict[str, Any]]:
    """ConverseStream's events for a Converse answer, as botocore yields them (text in 3-character deltas)."""
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    for index, block in enumerate(content):
        if "toolUse" in block:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            events.append({"contentBlockStart": {"contentBlockIndex": index, "start": start}})
            arguments = json.dumps(use["input"])
            for piece in (arguments[:5], arguments[5:]):
                events.append(
                    {"contentBlockDelta": {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}}
                )
        elif "reasoningContent" in block:
            text = block["reasoningContent"]["reasoningText"]
            for piece in (text["text"][:4], text["text"][4:]):
                delta = {"reasoningContent": {"text": piece}}
                events.append({"contentBlockDelta": {"contentBlockIndex": index, "delta": delta}})
            delta = {"reasoningContent": {"signature": text["signature"]}}
            events.append({"contentBlockDelta": {"contentBlockIndex": index, "delta": delta}})
        else:
            text = block["text"]
            for i in range(0, len(text), 3):
                events.append({"contentBlockDelta": {"contentBlockIndex": index, "delta": {"text": text[i : i + 3]}}})
        events.append({"contentBlockStop": {"contentBlockIndex": index}})
    events.append({"messageStop": {"stopReason": stop}})
    events.append({"metadata": {"usage": usage, "metrics": {"latencyMs": 7}}})
    return events


def reply_of(content: list[dict[str, Any]], stop: str, usage: dict[str, int]) -> bedrock.Reply:
    """What bedrock.converse builds from the same answer, unstreamed."""
    response = {"output": {"message": {"content": content}}, "stopReason": stop, "usage": usage, "metrics": {}}
    return bedrock.Reply.from_converse(NOVA, response)


def rebuilt(events: str) -> dict[str, Any]:
    """What a client rebuilds from an event stream: content, reasoning, tool calls, finish, usage."""
    out: dict[str, Any] = {"content": "", "reasoning": "", "thinking": [], "calls": {}, "finish": None, "usage": None}
    for line in events.split("\n\n"):
        if not line.startswith("data: {"):
            continue
        chunk = json.loads(line[6:])
        out["usage"] = chunk.get("usage") or out["usage"]
        for choice in chunk.get("choices", []):
            delta = choice["delta"]
            out["content"] += delta.get("content") or ""
            out["reasoning"] += delta.get("reasoning_content") or ""
            out["thinking"] += delta.get("thinking_blocks") or []
            for call in delta.get("tool_calls") or []:
                slot = out["calls"].setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
                slot["id"] += call.get("id") or ""
                slot["name"] += call["function"].get("name") or ""
                slot["arguments"] += call["function"].get("arguments") or ""
            out["finish"] = choice["finish_reason"] or out["finish"]
    out["calls"] = [(c["id"], c["name"], json.loads(c["arguments"])) for _, c in sorted(out["calls"].items())]
    return out


USAGE = {"inputTokens": 5, "outputTokens": 4, "totalTokens": 9}
CASES = {
    "text": ({}, [{"text": "Hello there, world"}], "end_turn"),
    "length": ({}, [{"text": "cut short"}], "max_tokens"),
    "tool calls": (
        {"tools": [TOOL, OTHER]},
        [
            {"text": "calling"},
            {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}},
            {"toolUse": {"toolUseId": "t2", "name": "g", "input": {}}},
        ],
        "tool_use",
    ),
    "parallel_tool_calls false": (
        {"tools": [TOOL, OTHER], "parallel_tool_calls": False},
        [
            {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}},
            {"toolUse": {"toolUseId": "t2", "name": "g", "input": {"b": [1, 2]}}},
        ],
        "tool_use",
    ),
    "structured output": (
        {"response_format": {"type": "json_object"}},
        [{"text": "here it is"}, {"toolUse": {"toolUseId": "t9", "name": "json_object", "input": {"k": "v"}}}],
        "tool_use",
    ),
    "reasoning": (
        {"model": CLAUDE, "reasoning_effort": "low"},
        [{"reasoningContent": {"reasoningText": {"text": "let me see", "signature": "c2ln"}}}, {"text": "Answer"}],
        "end_turn",
    ),
    "guardrail": ({}, [{"text": "Sorry."}], "guardrail_intervened"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_relay_rebuilds_exactly_the_buffered_answer(case: str) -> None:
    extra, content, stop = CASES[case]
    request = ChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": "hi"}], "stream": True, "stream_options": {"include_usage": True}}
        | extra
    )
    plan = chat.to_plan(request)
    whole = chat.completion(reply_of(content, stop, USAGE), plan, "rid")
    buffered = rebuilt(streaming.from_completion(whole, include_usage=True))
    encoder = streaming.ChunkEncoder("chatcmpl-rid", 0, NOVA, include_usage=True)
    relay = Relay(plan, encoder, NOVA)
    live = "".join(relay.chunks(converse_events(content, stop, USAGE)))
    assert rebuilt(live) == buffered
    # really in pieces: more events than the buffered stream, which carries each part whole (plus [DONE])
    assert live.count("data: ") + 1 > streaming.from_completion(whole, True).count("data: ")
    assert relay.reply().tool_uses == reply_of(content, stop, USAGE).tool_uses


# ---- the stream function's handler -------------------------------------------------------------------------------


def rest_event(
    body: Any, path: str = "/v1/chat/completions", authorizer: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": "req-1",
            "authorizer": authorizer or {"keyId": "default", "keyType": "root", "principalId": "default"},
        },
    }


class ScriptedStream:
    """Converse stream events, optionally failing after some, with close() recorded."""

    def __init__(self, events: list[dict[str, Any]], fail_after: int | None = None) -> None:
        self.events, self.fail_after, self.closed = events, fail_after, False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i, event in enumerate(self.events):
            if self.fail_after is not None and i == self.fail_after:
                raise ClientError({"Error": {"Code": "throttlingException", "Message": "slow down"}}, "ConverseStream")
            yield event

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(stream: ScriptedStream | Exception) -> None:
        def converse_stream(conversation: bedrock.Conversation) -> ScriptedStream:
            if isinstance(stream, Exception):
                raise stream
            return stream

        import model_calls

        monkeypatch.setattr(model_calls, "converse_stream", converse_stream)

    return install


HELLO = {"messages": [{"role": "user", "content": "hi"}], "stream": True}


def body_of(response: stream_app.StreamedResponse) -> str:
    return b"".join(response.body).decode()


def test_the_handler_streams_with_the_status_and_headers_first(scripted: Any) -> None:
    stream = ScriptedStream(converse_events([{"text": "Hello there"}], "end_turn", USAGE))
    scripted(stream)
    response = stream_app.handler(rest_event(HELLO), FakeContext())
    assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["x-request-id"] == "req-1"
    text = body_of(response)
    assert rebuilt(text)["content"] == "Hello there" and text.endswith("data: [DONE]\n\n") and stream.closed


def test_errors_before_the_first_byte_keep_their_status(scripted: Any) -> None:
    from errors import GatewayError

    scripted(GatewayError(429, "Too many requests to the model; retry later.", kind="rate_limit_error"))
    response = stream_app.handler(rest_event(HELLO), FakeContext())
    assert response.status == 429 and response.headers["Retry-After"]
    assert json.loads(body_of(response))["error"]["type"] == "rate_limit_error"
    invalid = stream_app.handler(rest_event({**HELLO, "n": 3}), FakeContext())
    assert invalid.status == 400 and json.loads(body_of(invalid))["error"]["param"] == "n"
    unknown = stream_app.handler(rest_event({**HELLO, "bogus": 1}), FakeContext())
    assert unknown.status == 400 and json.loads(body_of(unknown))["error"]["param"] == "bogus"
    broken = stream_app.handler(rest_event("{not json"), FakeContext())
    assert broken.status == 400 and "not valid JSON" in body_of(broken)
    assert stream_app.handler(rest_event(HELLO, path="/v1/embeddings"), FakeContext()).status == 404


def test_an_error_after_the_first_chunk_is_an_error_event_and_the_stream_ends(scripted: Any) -> None:
    stream = ScriptedStream(converse_events([{"text": "Hello there"}], "end_turn", USAGE), fail_after=3)
    scripted(stream)
    text = body_of(stream_app.handler(rest_event(HELLO), FakeContext()))
    last = json.loads(text.strip().split("\n\n")[-1][6:])
    assert last["error"]["type"] == "rate_limit_error" and last["error"]["code"] == "429"
    assert "[DONE]" not in text and rebuilt(text)["content"] == "Hello " and stream.closed


@pytest.fixture
def metered(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    import model_calls

    calls: list[tuple[str, int, int]] = []
    monkeypatch.setattr(
        model_calls, "meter", lambda who, model, sent, written, at: calls.append((model, sent, written))
    )
    return calls


def test_a_client_that_goes_away_closes_the_bedrock_stream(scripted: Any, logs: Any, metered: list[Any]) -> None:
    stream = ScriptedStream(converse_events([{"text": "a long answer " * 10}], "end_turn", USAGE))
    scripted(stream)
    body = iter(stream_app.handler(rest_event(HELLO), FakeContext()).body)
    for _ in range(6):  # the role chunk, then 5 deltas of 3 characters
        next(body)
    body.close()  # type: ignore[attr-defined] - what stream_runtime does when a write fails
    assert stream.closed and "Client disconnected" in logs()
    # no usage from Bedrock yet: what was sent and written so far, estimated at 4 characters a token
    assert metered == [(NOVA, len(json.dumps([{"role": "user", "content": [{"text": "hi"}]}])) // 4, 15 // 4)]


def test_a_stream_that_breaks_off_is_still_metered(scripted: Any, metered: list[Any]) -> None:
    events = converse_events([{"text": "Hello there"}], "end_turn", USAGE)
    scripted(ScriptedStream(events, fail_after=len(events) - 1))  # after messageStop, before the metadata
    b"".join(stream_app.handler(rest_event(HELLO), FakeContext()).body)
    sent = len(json.dumps([{"role": "user", "content": [{"text": "hi"}]}])) // 4
    assert metered == [(NOVA, sent, len("Hello there") // 4)]
    scripted(ScriptedStream([*events, {"metadata": {"usage": USAGE}}], fail_after=len(events)))
    b"".join(stream_app.handler(rest_event(HELLO), FakeContext()).body)
    assert metered[-1] == (NOVA, 5, 4)  # Bedrock's own usage arrived: that is what counts


def test_stream_false_answers_one_json_completion(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import model_calls

    monkeypatch.setattr(model_calls, "converse", lambda c: reply_of([{"text": "whole"}], "end_turn", USAGE))
    response = stream_app.handler(rest_event({**HELLO, "stream": False}), FakeContext())
    assert response.status == 200 and json.loads(body_of(response))["choices"][0]["message"]["content"] == "whole"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and emf[-1]["InputTokens"] == [5.0] and emf[-1]["KeyId"] == "default"  # flushed with this request


def test_managed_key_context_from_a_rest_event_is_enforced(scripted: Any) -> None:
    limits = json.dumps({"models": ["other-model"], "rpm": None, "tpm": None, "monthlyTokens": None})
    authorizer = {"keyId": "team-a", "keyType": "managed", "limits": limits, "principalId": "team-a"}
    response = stream_app.handler(rest_event(HELLO, authorizer=authorizer), FakeContext())
    assert response.status == 403 and json.loads(body_of(response))["error"]["code"] == "model_not_allowed"


# ---- the authorizer's REST shape ---------------------------------------------------------------------------------


def test_the_authorizer_answers_a_rest_event_with_a_stage_wide_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    event = load_event("authorizer-allow.json")
    method_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/stream/POST/v1/chat/completions"
    rest = {"type": "REQUEST", "methodArn": method_arn, "headers": event["headers"], "requestContext": {}}
    monkeypatch.setattr(authorizer_app, "authorize", lambda header: {"isAuthorized": True, "context": {"keyId": "k"}})
    allowed = authorizer_app.lambda_handler(rest, FakeContext())
    assert allowed["principalId"] == "k" and allowed["context"] == {"keyId": "k"}
    statement = allowed["policyDocument"]["Statement"][0]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/stream/*",
    }
    monkeypatch.setattr(authorizer_app, "authorize", lambda header: {"isAuthorized": False})
    denied = authorizer_app.lambda_handler(rest, FakeContext())
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny" and denied["principalId"] == "denied"
    assert "isAuthorized" in authorizer_app.lambda_handler(event, FakeContext())  # the HTTP API: simple response


# ---- the streaming runtime against the local Runtime API -----------------------------------------------------------


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[RuntimeApiServer]:
    (tmp_path / "handler.py").write_text(
        textwrap.dedent(
            """
            import time
            from pathlib import Path
            from types import SimpleNamespace

            def pieces(event, marker):
                try:
                    for i in range(event["count"]):
                        time.sleep(event["pause"])
                        yield f"piece {i};".encode()
                    if event.get("fail"):
                        raise RuntimeError("broke off")
                finally:
                    Path(marker).write_text("closed")

            def handler(event, context):
                if event.get("raise"):
                    raise ValueError("before any byte")
                headers = {"Content-Type": "text/plain", "x-deadline": str(context.get_remaining_time_in_millis() > 0)}
                return SimpleNamespace(status=201, headers=headers, body=pieces(event, event["marker"]))
            """
        )
    )
    env = {"_HANDLER": "handler.handler", "LAMBDA_TASK_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, str(ROOT / "functions" / "invoke" / "stream_runtime.py")]
    server = RuntimeApiServer("Test", command, env, str(tmp_path), max_processes=2)
    yield server
    server.stop()


def drain(invocation: Any, timeout: float = 10) -> list[tuple[float, str, Any]]:
    seen = []
    while True:
        kind, value = invocation.output.get(timeout=timeout)
        seen.append((time.monotonic(), kind, value))
        if kind in ("end", "error"):
            return seen


def test_the_runtime_streams_each_piece_as_it_is_yielded(runtime: RuntimeApiServer, tmp_path: Path) -> None:
    marker = tmp_path / "first"
    seen = drain(runtime.invoke({"count": 3, "pause": 0.3, "marker": str(marker)}, timeout=10))
    kinds = [kind for _, kind, _ in seen]
    assert kinds == ["head", "data", "data", "data", "end"]
    assert seen[0][2] == {"statusCode": 201, "headers": {"Content-Type": "text/plain", "x-deadline": "True"}}
    assert b"".join(value for _, kind, value in seen if kind == "data") == b"piece 0;piece 1;piece 2;"
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(seen[1:4])]
    assert all(gap > 0.2 for gap in gaps)  # each piece arrived when it was written, not all at the end
    assert marker.read_text() == "closed"


def test_the_runtime_reports_failures_before_and_after_the_first_byte(
    runtime: RuntimeApiServer, tmp_path: Path
) -> None:
    before = drain(runtime.invoke({"raise": True, "marker": str(tmp_path / "x")}, timeout=10))
    assert [kind for _, kind, _ in before] == ["error"] and b"before any byte" in before[0][2]
    after = drain(runtime.invoke({"count": 1, "pause": 0, "fail": True, "marker": str(tmp_path / "y")}, timeout=10))
    assert [kind for _, kind, _ in after] == ["head", "data", "error"] and after[-1][2] == b"RuntimeError"


def test_a_reader_that_leaves_stops_the_handlers_body(runtime: RuntimeApiServer, tmp_path: Path) -> None:
    marker = tmp_path / "left"
    invocation = runtime.invoke({"count": 50, "pause": 0.05, "marker": str(marker)}, timeout=10)
    assert invocation.output.get(timeout=10)[0] == "head"
    invocation.cancelled.set()
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "closed"  # the generator was closed long before its 50 pieces
