"""A TCP listener for Wyoming peers whose connection tasks are tracked, so that leaving it ends
every connection cleanly (the server and the satellite share it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["Listener"]

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Listener:
    """`async with Listener(host, port, limit, serve) as listener:` on listener.port."""

    def __init__(self, host: str, port: int, limit: int, serve: Serve) -> None:
        self.host, self.port, self.limit = host, port, limit
        self._serve = serve
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Listener:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, limit=self.limit
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:  # shutting down: asyncio's callback must see a clean end
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)
