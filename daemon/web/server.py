"""Serving the console on the daemon's own event loop (uvicorn, no thread, no process)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from daemon.serve.server import guarded_config

log = logging.getLogger(__name__)

# A console has a person or two: 64 connections, and 10 s to send a request head, keep a flood of
# idle connections from taking the daemon's descriptors or locking a real request out (the same
# guard as `voiced serve`: the oldest idle connection makes room for a new one).
HEADER_SECONDS = 10.0
MAX_CONNECTIONS = 64


class ConsoleServer(uvicorn.Server):
    """uvicorn's server, embedded: the daemon owns the signals, and an idle console wakes once
    a second (uvicorn's own loop ticks ten times a second)."""

    def __init__(
        self,
        app: Starlette,
        host: str,
        port: int,
        header_seconds: float = HEADER_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        config = guarded_config(
            app,
            header_seconds,
            max_connections,
            host=host,
            port=port,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        super().__init__(config)
        self.ready = asyncio.Event()  # set once the socket listens (or startup failed)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # SIGTERM/SIGHUP belong to the daemon (service.py)

    async def main_loop(self) -> None:
        self._stop_now = asyncio.Event()
        while not await self.on_tick(0):  # counter 0: refreshes the Date header too
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_now.wait(), 1.0)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0), once started."""
        for server in getattr(self, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.config.port

    def stop(self) -> None:
        self.should_exit = True
        if getattr(self, "_stop_now", None) is not None:
            self._stop_now.set()
