"""Deadlines over a whole token stream: time to first token, and time to the last one.

A per-socket read timeout cannot catch a server that sends one token every 5 s. The stream is
therefore pumped by its own task under asyncio.timeout, and the consumer reads a queue: a
deadline cancels only the pump (never the consumer, which may be busy speaking), and the consumer
gets a StageError in its place.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar, cast

from daemon.errors import ErrorCode, StageError

_END = object()
T = TypeVar("T")


async def _pump(
    tokens: AsyncIterator[T], queue: asyncio.Queue[object], first_token: float, total: float
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    got_first = False
    try:
        async with asyncio.timeout(first_token) as deadline:
            async for token in tokens:
                if not got_first:
                    got_first = True
                    deadline.reschedule(started + total)
                queue.put_nowait(token)  # bounded in practice by the reply's max_tokens
        queue.put_nowait(_END)
    except TimeoutError:
        what = (
            f"no reply within {total:g} s" if got_first else f"no first token in {first_token:g} s"
        )
        queue.put_nowait(StageError(ErrorCode.LLM_TIMEOUT, what))
    except Exception as exc:  # handed to the consumer, who decides what to say
        queue.put_nowait(exc)


async def with_deadlines(
    tokens: AsyncIterator[T], first_token: float, total: float
) -> AsyncIterator[T]:
    """`tokens`, but raising StageError(llm-timeout) when a deadline passes.

    Any item counts as the first token (text, or a tool call from daemon.llm.toolcalls).
    """
    queue: asyncio.Queue[object] = asyncio.Queue()
    pump = asyncio.create_task(_pump(tokens, queue, first_token, total))
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield cast(T, item)
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
