"""Tests for the scripted OpenAI-compatible server, driven by the real ``openai`` SDK."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fixtures.llm_server import LLMServer, Script, split_tokens

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


def _client(server: LLMServer, timeout: float = 2.0, retries: int = 0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=server.base_url, api_key="x", timeout=timeout, max_retries=retries
    )


async def _stream_text(
    server: LLMServer, parts: list[str], read_timeout: float = 2.0, retries: int = 0
) -> str:
    """Stream one completion, appending deltas to ``parts`` (kept if an error escapes)."""
    async with _client(server, read_timeout, retries) as client:
        stream = await client.chat.completions.create(
            model="test-model", messages=MESSAGES, stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


def _stream(server: LLMServer, timeout: float = 2.0, retries: int = 0) -> str:
    return asyncio.run(_stream_text(server, [], timeout, retries))


def _stream_error(server: LLMServer, timeout: float = 2.0) -> tuple[BaseException, str]:
    """Stream expecting a failure; returns the exception and the text received before it."""
    parts: list[str] = []
    with pytest.raises(Exception) as info:
        asyncio.run(_stream_text(server, parts, timeout))
    return info.value, "".join(parts)


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as srv:
        yield srv


def test_split_tokens_words_and_cjk() -> None:
    assert split_tokens("Hello there. Hi") == ["Hello ", "there. ", "Hi"]
    assert split_tokens("你好，world ok") == ["你", "好", "，", "world ", "ok"]
    for text in ("  lead", "a  b\n", "", "日本語 text。"):
        assert "".join(split_tokens(text)) == text


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError, match="unknown Script kind"):
        Script("nope")


def test_stream_yields_full_text(server: LLMServer) -> None:
    assert _stream(server) == "Hello there. How can I help?"


def test_stream_cjk_text_per_character() -> None:
    with LLMServer([Script("stream", text="你好，世界。")]) as srv:

        async def deltas() -> list[str]:
            async with _client(srv) as client:
                stream = await client.chat.completions.create(
                    model="m", messages=MESSAGES, stream=True
                )
                return [c.choices[0].delta.content or "" async for c in stream if c.choices]

        got = asyncio.run(deltas())
    assert [d for d in got if d] == list("你好，世界。")


def test_stream_chunk_shape(server: LLMServer) -> None:
    async def chunks() -> list[Any]:
        async with _client(server) as client:
            stream = await client.chat.completions.create(
                model="my-model", messages=MESSAGES, stream=True
            )
            return [c async for c in stream]

    got = asyncio.run(chunks())
    assert got[0].choices[0].delta.role == "assistant"
    assert got[-1].choices[0].finish_reason == "stop"
    assert all(c.object == "chat.completion.chunk" and c.model == "my-model" for c in got)
    assert len({c.id for c in got}) == 1


def test_stream_timing_honoured() -> None:
    script = Script("stream", text="a b c", first_token_delay=0.2, token_interval=0.1)
    with LLMServer([script]) as srv:
        started = time.monotonic()
        assert _stream(srv) == "a b c"
        assert time.monotonic() - started >= 0.4


def test_non_stream_request_gets_json(server: LLMServer) -> None:
    async def call() -> Any:
        async with _client(server) as client:
            return await client.chat.completions.create(model="test-model", messages=MESSAGES)

    completion = asyncio.run(call())
    assert completion.choices[0].message.content == "Hello there. How can I help?"
    assert completion.choices[0].finish_reason == "stop"


def test_json_kind_even_when_streaming_requested() -> None:
    """A JSON 200 answer to stream=True is silently an empty stream in the SDK."""
    with LLMServer([Script("json", text="plain")]) as srv:
        assert _stream(srv) == ""
        assert srv.served == ["json"]


def test_status_401_raises_authentication_error() -> None:
    with LLMServer([Script("status", status=401)]) as srv:
        err, _ = _stream_error(srv)
    assert isinstance(err, openai.AuthenticationError)
    assert err.status_code == 401
    assert err.code == "invalid_api_key"


def test_status_429_exposes_retry_after() -> None:
    with LLMServer([Script("status", status=429, retry_after=3)]) as srv:
        err, _ = _stream_error(srv)
    assert isinstance(err, openai.RateLimitError)
    assert err.response.headers["retry-after"] == "3"


def test_status_body_override() -> None:
    body = json.dumps({"error": {"message": "overloaded", "type": "server_error", "code": "x"}})
    with LLMServer([Script("status", status=503, body=body)]) as srv:
        err, _ = _stream_error(srv)
    assert isinstance(err, openai.InternalServerError)
    assert err.message.endswith("overloaded")


def test_sdk_retry_consumes_next_script() -> None:
    scripts = [Script("status", status=500, retry_after=0.05)]
    with LLMServer(scripts) as srv:
        assert _stream(srv, retries=1) == "Hello there. How can I help?"
        assert srv.served == ["status", "stream"]


def test_reset_mid_stream_raises_connection_error() -> None:
    with LLMServer([Script("reset_mid_stream")]) as srv:
        err, partial = _stream_error(srv)
    assert isinstance(err, openai.APIConnectionError)
    assert not isinstance(err, openai.APITimeoutError)
    assert partial == "Hello there. "


def test_malformed_sse_raises() -> None:
    with LLMServer([Script("malformed_sse")]) as srv:
        err, partial = _stream_error(srv)
    # Not an openai.OpenAIError: the SDK lets json's ValueError escape from iteration.
    assert isinstance(err, json.JSONDecodeError)
    assert partial == "Hello "


def test_hang_on_connect_times_out() -> None:
    with LLMServer([Script("hang_on_connect")]) as srv:
        started = time.monotonic()
        err, _ = _stream_error(srv, timeout=0.5)
        assert time.monotonic() - started < 1.5
        assert srv.served == ["hang_on_connect"]
        assert srv.requests == []  # never read
    assert isinstance(err, openai.APITimeoutError)


def test_headers_then_silence_times_out_while_iterating() -> None:
    with LLMServer([Script("headers_then_silence")]) as srv:
        err, partial = _stream_error(srv, timeout=0.5)
    assert isinstance(err, openai.APITimeoutError)
    assert partial == ""


def test_slow_tokens_read_timeout_mid_stream() -> None:
    with LLMServer([Script("slow_tokens", token_interval=1.0)]) as srv:
        err, partial = _stream_error(srv, timeout=0.3)
    assert isinstance(err, openai.APITimeoutError)
    assert partial == "Hello "


def test_stop_releases_holds_quickly() -> None:
    srv = LLMServer([Script("hang_on_connect"), Script("headers_then_silence")]).start()
    for _ in range(2):
        with pytest.raises(openai.APITimeoutError):
            _stream(srv, timeout=0.2)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 0.5
    srv.stop()  # idempotent


def test_requests_and_headers_recorded(server: LLMServer) -> None:
    _stream(server)
    _stream(server)
    assert len(server.requests) == 2
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["messages"] == MESSAGES
    assert server.headers[0]["authorization"] == "Bearer x"
    assert server.served == ["stream", "stream"]


def test_scripts_then_push_then_default() -> None:
    with LLMServer([Script("stream", text="one")], default=Script("stream", text="dflt")) as srv:
        srv.push(Script("stream", text="two"))
        assert [_stream(srv) for _ in range(3)] == ["one", "two", "dflt"]


def test_models_endpoint() -> None:
    with LLMServer(model="tiny-llm") as srv:

        async def ids() -> list[str]:
            async with _client(srv) as client:
                return [m.id async for m in client.models.list()]

        assert asyncio.run(ids()) == ["tiny-llm"]


def test_unknown_path_is_404_json(server: LLMServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.base_url + "/nope", timeout=2)
    assert info.value.code == 404
    assert "error" in json.loads(info.value.read())
