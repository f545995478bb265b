"""Streaming chat completions from any OpenAI-compatible server (cloud, vLLM, llama.cpp, Ollama).

The SDK's own retries are off (max_retries=0) and its timeouts are short: the SDK's default of
600 s would leave the box silent for ten minutes. Errors are classified once, here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai

from daemon.config import LlmEndpoint, LlmTimeouts
from daemon.errors import ErrorCode, StageError
from daemon.llm.base import Message

log = logging.getLogger(__name__)

PERMANENT = {
    400: ErrorCode.LLM_REJECTED,
    401: ErrorCode.LLM_UNAUTHORIZED,
    403: ErrorCode.LLM_UNAUTHORIZED,
    404: ErrorCode.LLM_REJECTED,
}


def classify(exc: BaseException) -> StageError:
    """One place that maps whatever the SDK or the network raised to a stable code."""
    if isinstance(exc, StageError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        code = PERMANENT.get(exc.status_code, ErrorCode.LLM_FAILED)
        return StageError(code, f"HTTP {exc.status_code} from the LLM server")
    if isinstance(exc, openai.APITimeoutError):
        return StageError(ErrorCode.LLM_TIMEOUT, "the LLM server did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return StageError(
            ErrorCode.LLM_UNREACHABLE, f"cannot reach the LLM server: {type(exc).__name__}"
        )
    # Includes a malformed SSE line: the SDK lets json.JSONDecodeError through unwrapped.
    return StageError(ErrorCode.LLM_FAILED, f"{type(exc).__name__} while reading the reply")


class OpenAIChat:
    def __init__(
        self,
        endpoint: LlmEndpoint,
        timeouts: LlmTimeouts,
        client_factory: Callable[..., Any] = openai.AsyncOpenAI,
    ) -> None:
        self.name = endpoint.model
        self._model = endpoint.model
        self._client = client_factory(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key(),
            max_retries=0,
            timeout=openai.Timeout(timeouts.total_seconds, connect=timeouts.connect_seconds),
        )

    async def stream(
        self, messages: list[Message], *, temperature: float, max_tokens: int
    ) -> AsyncIterator[str]:
        try:
            response = await self._client.chat.completions.create(
                model=self._model,
                messages=messages,
                temperature=temperature,
                max_tokens=max_tokens,
                stream=True,
            )
            async for chunk in response:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except Exception as exc:
            raise classify(exc) from exc
