"""LLMClient against a scripted server on loopback: structured output, retries with the error, limits, errors."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import BaseModel, Field

from vivant.backends.openai.client import LLMClient
from vivant.backends.openai.errors import (
    LLMConnectionError,
    LLMHTTPError,
    LLMOutputInvalid,
    LLMResponseError,
    LLMTimeout,
    OutputProblems,
)
from vivant.backends.openai.structured import extract_json, response_format
from vivant.errors import StepError
from vivant.roles import Script
from vivant.urls import safe_url

from .scripted import Reply, Scripted

SECRET = "sk-very-secret-key-123"


class Answer(BaseModel):
    name: str
    count: int = Field(ge=0)


def _client(scripted: Scripted, **kw: object) -> LLMClient:
    opts: dict[str, object] = {"api_key": SECRET, "request_timeout": 5.0, "read_timeout": 5.0, "max_retries": 2}
    opts.update(kw)
    return LLMClient(scripted.url, "scripted-model", **opts)  # type: ignore[arg-type]


def test_invalid_json_then_valid_feeds_the_error_back(scripted: Scripted) -> None:
    scripted.push('{"name": "Vermeer", "count": ', '```json\n{"name": "Vermeer", "count": 3}\n```')
    with _client(scripted) as client:
        got = client.structured([{"role": "user", "content": "go"}], Answer)
    assert got == Answer(name="Vermeer", count=3)
    assert len(scripted.requests) == 2
    retry = scripted.requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": '{"name": "Vermeer", "count": '}
    assert "not valid JSON" in retry[-1]["content"]
    assert scripted.requests[1]["seed"] == 1 and "seed" not in scripted.requests[0]
    assert scripted.headers[0]["Authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "plain"])
def test_response_format_in_the_form_the_user_picked(scripted: Scripted, mode: str) -> None:
    scripted.push('{"name": "a", "count": 1}')
    with _client(scripted, structured_output=mode) as client:
        client.structured([{"role": "system", "content": "sys"}, {"role": "user", "content": "go"}], Answer)
    body = scripted.requests[0]
    schema = Answer.model_json_schema()
    if mode == "json_schema":
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "Answer", "schema": schema, "strict": True},
        }
    elif mode == "json_object":
        assert body["response_format"] == {"type": "json_object", "schema": schema}
    else:
        assert "response_format" not in body
        assert json.dumps(schema) in body["messages"][0]["content"]  # the schema is in the prompt
    assert response_format("plain", "x", schema) is None


def test_a_script_over_150_words_is_sent_back_with_the_count(scripted: Scripted) -> None:
    long = {"language": "en", "title": "t", "hook": "h", "script": "I am Vermeer's " + "word " * 160,
            "hashtags": ["#art"], "artist": "Johannes Vermeer"}  # fmt: skip
    short = {**long, "script": "I am the girl, and Johannes Vermeer painted me."}
    scripted.push(json.dumps(long), json.dumps(short))
    with _client(scripted) as client:
        got = client.structured([{"role": "user", "content": "go"}], Script, retry_prompt="Fix:\n$problems\nNow.")
    assert got.script.startswith("I am the girl")
    feedback = scripted.requests[1]["messages"][-1]["content"]
    assert feedback.startswith("Fix:\n- script: Value error, script has 163 words, the limit is 150")
    assert feedback.endswith("Now.")


def test_check_rules_and_giving_up(scripted: Scripted) -> None:
    scripted.push(*['{"name": "x", "count": 1}'] * 3)

    def check(a: Answer) -> None:
        raise OutputProblems([f"{a.name} is not a painter"])

    with _client(scripted) as client, pytest.raises(LLMOutputInvalid) as err:
        client.structured([{"role": "user", "content": "go"}], Answer, check=check)
    assert len(scripted.requests) == 3
    assert err.value.problems == ["x is not a painter"]
    assert len(err.value.replies) == 3
    assert "no valid Answer after 3 tries" in str(err.value)
    assert isinstance(err.value, StepError) and err.value.retryable


def test_cut_off_answer_says_so(scripted: Scripted) -> None:
    scripted.push(Reply(content='{"name": "abc', finish_reason="length"), '{"name": "a", "count": 0}')
    with _client(scripted) as client:
        client.structured([{"role": "user", "content": "go"}], Answer)
    assert "cut off at the token limit" in scripted.requests[1]["messages"][-1]["content"]


def test_server_errors_are_one_line_without_the_key(scripted: Scripted) -> None:
    scripted.push(Reply(status=500, body=json.dumps({"error": {"message": f"GPU on fire {SECRET}"}})))
    scripted.push(Reply(status=400, body='{"error": {"message": "response_format json_schema not supported"}}'))
    scripted.push(Reply(status=200, body="<html>proxy login</html>"))
    client = _client(scripted)
    with pytest.raises(LLMHTTPError) as e500:
        client.chat([{"role": "user", "content": "go"}])
    assert e500.value.status == 500 and e500.value.retryable
    assert "HTTP 500: GPU on fire ***" in str(e500.value) and SECRET not in str(e500.value)
    with pytest.raises(LLMHTTPError) as e400:
        client.chat([{"role": "user", "content": "go"}])
    assert not e400.value.retryable and "json_schema not supported" in str(e400.value)
    with pytest.raises(LLMResponseError, match="not a chat completion"):
        client.chat([{"role": "user", "content": "go"}])
    assert SECRET not in repr(client) and "scripted-model" in repr(client)
    client.close()


def test_read_timeout_and_total_deadline(scripted: Scripted) -> None:
    scripted.push(Reply(content="late", delay=1.5))
    with _client(scripted, read_timeout=0.5) as client, pytest.raises(LLMTimeout, match="waiting for the answer"):
        client.chat([{"role": "user", "content": "go"}])
    # a stream that keeps sending (never silent for long) still ends at the total deadline
    scripted.push(Reply(stream_chunks=["tick "] * 40, chunk_delay=0.1))
    with (
        _client(scripted, stream=True, request_timeout=1.0, read_timeout=10.0) as client,
        pytest.raises(LLMTimeout, match="no complete answer within 1 s"),
    ):
        client.chat([{"role": "user", "content": "go"}])


def test_slow_stream_within_the_deadline_is_assembled(scripted: Scripted) -> None:
    pieces = ['{"name": ', '"Ver', 'meer", ', '"count": 2}']
    scripted.push(Reply(stream_chunks=pieces, chunk_delay=0.2))
    with _client(scripted, stream=True, read_timeout=30.0) as client:
        got = client.structured([{"role": "user", "content": "go"}], Answer)
    assert got == Answer(name="Vermeer", count=2)
    assert scripted.requests[0]["stream"] is True


def test_unreachable_server_and_models_list(scripted: Scripted) -> None:
    with _client(scripted) as client:
        assert client.models() == ["scripted-model"]
    bad = LLMClient(f"http://user:{SECRET}@127.0.0.1:9/v1", "m", connect_timeout=1)
    with pytest.raises(LLMConnectionError) as err:
        bad.chat([{"role": "user", "content": "go"}])
    assert SECRET not in str(err.value) and "127.0.0.1:9" in str(err.value)
    assert safe_url(f"http://user:{SECRET}@h:1/v1?key=abc") == "http://h:1/v1"


def test_injected_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]})

    client = LLMClient("http://llm.invalid/v1", "m", transport=httpx.MockTransport(handler))
    assert client.chat([{"role": "user", "content": "x"}]).content == "hi"
    assert str(seen[0].url) == "http://llm.invalid/v1/chat/completions"
    assert "Authorization" not in seen[0].headers


def test_extract_json() -> None:
    assert extract_json('Sure! {"a": 1} Enjoy.') == '{"a": 1}'
    assert extract_json('```json\n{"a": 2}\n```') == '{"a": 2}'
    assert extract_json("  {}  ") == "{}"
