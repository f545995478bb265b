"""One reply with tools: stream; if the model asked for tools, run them, send the results back,
and stream again, up to `max_rounds` round trips. The person hears the text of every round.

Deadlines: each request has the first-token deadline from when it is sent; the total deadline
runs from the start of the reply and covers every request and every tool call, which gets the
smaller of its own deadline and what is left. A slow tool or server therefore ends in an error
the LLM reads (or, at the very end, in llm-timeout), never in silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

from daemon.config import LlmTimeouts
from daemon.errors import ErrorCode, StageError
from daemon.llm.deadline import with_deadlines
from daemon.llm.toolcalls import ToolCall
from daemon.tools.base import Toolbox


@runtime_checkable
class ToolChatModel(Protocol):
    """A chat model that can be offered tools (daemon.llm.openai_chat.OpenAIChat)."""

    name: str

    def stream_events(
        self,
        messages: Sequence[Any],
        *,
        temperature: float,
        max_tokens: int,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | list[ToolCall]]: ...


def _assistant_turn(text: str, calls: list[ToolCall]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ],
    }


async def reply_with_tools(
    chat: ToolChatModel,
    messages: list[dict[str, Any]],
    toolbox: Toolbox,
    *,
    temperature: float,
    max_tokens: int,
    timeouts: LlmTimeouts,
    max_rounds: int,
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeouts.total_seconds
    try:
        async with asyncio.timeout_at(end):
            await toolbox.refresh()  # each source bounds itself; this is the last resort
    except TimeoutError:
        pass
    for round_number in range(max_rounds + 1):
        offered = toolbox.schemas() if round_number < max_rounds else None  # last: words only
        left = end - loop.time()
        if left <= 0:
            raise StageError(ErrorCode.LLM_TIMEOUT, f"no reply within {timeouts.total_seconds:g} s")
        events = chat.stream_events(
            messages, temperature=temperature, max_tokens=max_tokens, tools=offered or None
        )
        text, calls = "", []
        async for event in with_deadlines(events, min(timeouts.first_token_seconds, left), left):
            if isinstance(event, str):
                text += event
                yield event
            elif event:  # an empty list only says that tool calls have begun
                calls = event
        if not calls:
            return
        messages.append(_assistant_turn(text, calls))
        for call in calls:
            result = await toolbox.call(call, budget=end - loop.time())
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
