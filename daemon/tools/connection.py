"""One long-lived MCP connection, owned by its own task.

The SDK's client must be opened and closed in the same task (anyio cancel scopes), while tool
calls come from whichever task is replying. So a task holds the connection and runs the calls
handed to it, one at a time. A call whose caller gave up (its deadline passed) or that failed
closes the connection: a stdio server is stopped, and the next call starts it again. A server
that hangs therefore costs one call, and the next call gets a fresh server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

log = logging.getLogger(__name__)

Opener = Callable[[AsyncExitStack], AbstractAsyncContextManager[Any]]
Job = Callable[[Any], Awaitable[Any]]


class ConnectionClosed(Exception):
    """The connection ended before the call could run."""


class Connection:
    def __init__(self, name: str, open_client: Opener) -> None:
        self.name = name
        self._open = open_client
        self._task: asyncio.Task[None] | None = None
        self._jobs: asyncio.Queue[tuple[Job, asyncio.Future[Any]]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    async def run(self, job: Job) -> Any:
        """`job(client)` on the open connection (opening it if needed)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._start(loop)
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put_nowait((job, future))
        try:
            return await future
        except asyncio.CancelledError:
            self._drop("a call ran past its deadline")
            raise

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs = asyncio.Queue()
        self._task = loop.create_task(self._serve(self._jobs), name=f"mcp-{self.name}")

    def _drop(self, why: str) -> None:
        """Close the connection without waiting (the caller's deadline has passed)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            log.info("MCP server %s: closing the connection (%s)", self.name, why)
            task.cancel()
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def _serve(self, jobs: asyncio.Queue[tuple[Job, asyncio.Future[Any]]]) -> None:
        try:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(self._open(stack))
                while True:
                    job, future = await jobs.get()
                    if future.done():
                        continue
                    try:
                        result = await job(client)
                    except Exception as exc:
                        if not future.done():
                            future.set_exception(exc)
                        return  # a failed call may have left the connection unusable
                    if not future.done():
                        future.set_result(result)
        except BaseException as exc:
            _fail_all(jobs, exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            _fail_all(jobs, ConnectionClosed(f"the connection to {self.name} closed"))

    async def aclose(self) -> None:
        """Close the connection and wait for it (at shutdown)."""
        self._drop("shutting down")
        for task in list(self._stopping):
            with contextlib.suppress(BaseException):
                await task


def _fail_all(jobs: asyncio.Queue[tuple[Job, asyncio.Future[Any]]], exc: BaseException) -> None:
    while not jobs.empty():
        _, future = jobs.get_nowait()
        if not future.done():
            future.set_exception(
                exc if isinstance(exc, Exception) else ConnectionClosed("connection closed")
            )
