"""Streaming chat completions from any OpenAI-compatible server (cloud, vLLM, llama.cpp, Ollama).

The SDK's own retries are off (max_retries=0) and its timeouts are short: the SDK's default of
600 s would leave the box silent for ten minutes. Errors are classified once, here: permanent ones
(400, 401, 403, 404) are reported at once; transient ones (connection errors, 408, 429, 5xx) get
one retry, after Retry-After when the server sends it, but only before any text was produced and
only if the retry can still meet the first-token deadline.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import openai

from daemon.config import LlmEndpoint, LlmTimeouts
from daemon.errors import ErrorCode, StageError
from daemon.llm.base import Message
from daemon.llm.toolcalls import ToolCall, ToolCallJoiner

log = logging.getLogger(__name__)

PERMANENT = {
    400: ErrorCode.LLM_REJECTED,
    401: ErrorCode.LLM_UNAUTHORIZED,
    403: ErrorCode.LLM_UNAUTHORIZED,
    404: ErrorCode.LLM_REJECTED,
}
DEFAULT_RETRY_DELAY = 0.25


def classify(exc: BaseException, where: str = "", secret: str | None = None) -> StageError:
    """One place that maps whatever the SDK or the network raised to a stable code.

    `where` (the endpoint's URL) is named in the message; the server's own error text is quoted
    ("model 'x' not found, try pulling it"), bounded, on one line and with `secret` (the API
    key) removed, since a server may echo request details.
    """
    if isinstance(exc, StageError):
        return exc
    at = f" at {where}" if where else ""
    if isinstance(exc, openai.APIStatusError):
        code = PERMANENT.get(exc.status_code, ErrorCode.LLM_FAILED)
        said = server_text(exc.body, secret)
        detail = f"HTTP {exc.status_code} from the LLM server{at}"
        return StageError(code, f"{detail}: {said}" if said else detail)
    if isinstance(exc, openai.APITimeoutError):
        return StageError(ErrorCode.LLM_TIMEOUT, f"the LLM server{at} did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return StageError(ErrorCode.LLM_UNREACHABLE, f"cannot reach the LLM server{at}")
    # Includes a malformed SSE line: the SDK lets json.JSONDecodeError through unwrapped.
    return StageError(ErrorCode.LLM_FAILED, f"{type(exc).__name__} while reading the reply")


SERVER_TEXT_LIMIT = 200


def server_text(body: object, secret: str | None = None) -> str:
    """The message in an error body: OpenAI's {"error": {"message"}}, Ollama's {"error": "..."},
    or a plain {"message"} / string; one line, at most SERVER_TEXT_LIMIT characters."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        body = inner.get("message", inner.get("detail")) if isinstance(inner, dict) else inner
    if not isinstance(body, str):
        return ""
    text = " ".join(body.split())
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text if len(text) <= SERVER_TEXT_LIMIT else text[: SERVER_TEXT_LIMIT - 3] + "..."


def public_url(url: str) -> str:
    """`url` without any user:password@ part, fit for a log line."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After: seconds or an HTTP date)."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


class OpenAIChat:
    def __init__(
        self,
        endpoint: LlmEndpoint,
        timeouts: LlmTimeouts,
        client_factory: Callable[..., Any] = openai.AsyncOpenAI,
    ) -> None:
        self.name = endpoint.model
        self.url = public_url(endpoint.base_url)
        self._model = endpoint.model
        self._timeouts = timeouts
        self._key = endpoint.api_key()
        self._client = client_factory(
            base_url=endpoint.base_url,
            api_key=self._key,
            max_retries=0,
            timeout=openai.Timeout(timeouts.total_seconds, connect=timeouts.connect_seconds),
        )

    async def stream(
        self, messages: list[Message], *, temperature: float, max_tokens: int
    ) -> AsyncIterator[str]:
        events = self.stream_events(messages, temperature=temperature, max_tokens=max_tokens)
        async for event in events:
            if isinstance(event, str):
                yield event

    async def stream_events(
        self,
        messages: Sequence[Any],
        *,
        temperature: float,
        max_tokens: int,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | list[ToolCall]]:
        """Text as it comes, then (if the model called tools) the whole calls, joined.

        An empty list comes first when tool calls begin, so a model that answers with a long
        tool call meets the first-token deadline as one that answers in words.
        """
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._timeouts.first_token_seconds
        produced = False
        for attempt in (1, 2):
            try:
                async for event in self._attempt(messages, temperature, max_tokens, tools):
                    produced = True
                    yield event
                return
            except Exception as exc:
                wait = retry_after(exc) or DEFAULT_RETRY_DELAY
                error = classify(exc, self.url, self._key)
                if produced or attempt == 2 or not is_transient(exc):
                    raise error from exc
                if loop.time() + wait >= give_up_at:
                    raise error from exc
                log.info("LLM: %s; retrying once in %.2f s", error.detail, wait)
                await asyncio.sleep(wait)

    async def _attempt(
        self,
        messages: Sequence[Any],
        temperature: float,
        max_tokens: int,
        tools: list[dict[str, Any]] | None,
    ) -> AsyncIterator[str | list[ToolCall]]:
        offered: dict[str, Any] = {"tools": tools} if tools else {}
        response = await self._client.chat.completions.create(
            model=self._model,
            messages=messages,
            temperature=temperature,
            max_tokens=max_tokens,
            stream=True,
            **offered,
        )
        joiner, calling = ToolCallJoiner(), False
        async for chunk in response:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta.content:
                yield delta.content
            for fragment in delta.tool_calls or ():
                if not calling:
                    calling = True
                    yield []
                joiner.add(fragment)
        calls = joiner.calls()
        if calls:
            yield calls
