"""uvicorn for `voiced serve`, hardened against clients that open connections and send nothing.

uvicorn alone closes an idle keep-alive connection, but never one that sends nothing (or half a
request head) from the start; 1,100 of them at the default descriptor limit (1024) left no
descriptor for a real request or /health, and asyncio logged a traceback per failed accept. Here:

- a connection must deliver a whole request head within serve.header_seconds of opening (or of
  its last response), else it is closed;
- at most serve.max_connections are open at once, and always fewer than the descriptor limit
  (less a reserve for models and logs): one more is closed at once, so accept() keeps working;
- the soft descriptor limit is raised to the hard one (LimitNOFILE in the unit);
- accept errors and refused connections are logged at most once per LOG_EVERY_SECONDS, with a count.

The body deadline (serve.body_seconds) is the app's: it reads the body before a request takes a
capacity slot (daemon/serve/app.py).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from daemon.config import ServeSettings
from daemon.serve.app import close_app

__all__ = ["BackgroundServer", "RateLimitedLog", "connection_cap", "run_server", "server_config"]

log = logging.getLogger("daemon.serve")
FD_RESERVE = 64  # descriptors kept for model files, logs, the listening socket, pipes
LOG_EVERY_SECONDS = 10.0
STOP_SECONDS = 10.0  # for the server thread, and for a model call still running, at exit


class RateLimitedLog:
    """One warning per `every` seconds for a repeating event, with how many were folded in."""

    def __init__(self, what: str, every: float = LOG_EVERY_SECONDS) -> None:
        self.what = what
        self.every = every
        self.count = 0
        self._last = -every
        self._lock = threading.Lock()

    def note(self, detail: str = "") -> None:
        with self._lock:
            self.count += 1
            now = time.monotonic()
            if now - self._last < self.every:
                return
            self._last, folded, self.count = now, self.count, 0
        log.warning("%s (%d in the last %.0f s)%s", self.what, folded, self.every, detail)


def raise_descriptor_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(configured: int, soft_limit: int) -> int:
    """The connections allowed at once: the configured cap, kept below the descriptor limit."""
    return max(1, min(configured, soft_limit - FD_RESERVE))


def guarded_protocol(header_seconds: float, max_connections: int) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a request-head deadline and a cap on open connections.

    At the cap, a new connection evicts the oldest one still waiting for its request head (a
    flood of idle connections cannot lock out /health or a real request); only when every open
    connection is busy with a request is the new one closed.
    """
    refused = RateLimitedLog("connections refused: too many open")
    evicted = RateLimitedLog("idle connections closed to make room")
    slow = RateLimitedLog("connections closed: no request head in time")
    waiting: dict[H11Protocol, None] = {}  # connections without a request head, oldest first

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _armed_cycle: Any = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections and not self._evict_one():
                refused.note(f"; cap {max_connections}")
                transport.abort()
                return
            self._arm_head_deadline()

        def _evict_one(self) -> bool:
            for idle in waiting:
                if idle is not self:
                    del waiting[idle]
                    evicted.note(f"; cap {max_connections}")
                    idle.transport.abort()
                    return True
            return False

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not self._armed_cycle:  # a request head arrived
                waiting.pop(self, None)

        def on_response_complete(self) -> None:
            self._arm_head_deadline()  # the next request on this connection has its own deadline
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            waiting.pop(self, None)
            if self._head_timer is not None:
                self._head_timer.cancel()
            super().connection_lost(exc)

        def _arm_head_deadline(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._armed_cycle = self.cycle
            waiting[self] = None
            self._head_timer = self.loop.call_later(header_seconds, self._head_overdue)

        def _head_overdue(self) -> None:
            if self.cycle is self._armed_cycle and not self.transport.is_closing():
                slow.note()
                waiting.pop(self, None)
                self.transport.close()

    return GuardedH11Protocol


def guarded_config(
    app: Starlette, header_seconds: float, max_connections: int, **kwargs: Any
) -> uvicorn.Config:
    """uvicorn's config for `app` with the guards above: the head deadline, the connection cap
    (kept under the descriptor limit in force), small request heads (kwargs: host, port ...)."""
    soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return uvicorn.Config(
        app,
        http=guarded_protocol(header_seconds, connection_cap(max_connections, soft_limit)),
        log_config=None,
        access_log=False,
        timeout_keep_alive=min(5, int(header_seconds) or 1),
        h11_max_incomplete_event_size=64 * 1024,  # request line and headers
        **kwargs,
    )


def server_config(app: Starlette, serve: ServeSettings, **kwargs: Any) -> uvicorn.Config:
    """`voiced serve`'s config: the guards, after raising the descriptor limit to its hard one."""
    raise_descriptor_limit()
    return guarded_config(app, serve.header_seconds, serve.max_connections, **kwargs)


async def serve_guarded(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
    """Run `server` with accept errors (EMFILE and the like) logged once per interval."""
    loop = asyncio.get_running_loop()
    accept_errors = RateLimitedLog("accept() failed")

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if "accept" in message:
            exc = context.get("exception")
            accept_errors.note(f": {exc}" if exc else "")
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    await server.serve(sockets=sockets)


def run_server(app: Starlette, serve: ServeSettings, host: str, port: int) -> None:
    """Serve `app` until SIGTERM/SIGINT (uvicorn's own handling), in this thread."""
    server = uvicorn.Server(server_config(app, serve, host=host, port=port))
    try:
        asyncio.run(serve_guarded(server))
    finally:
        close_app(app, timeout=STOP_SECONDS)


class BackgroundServer:
    """`with BackgroundServer(app) as server:` serves `app` at server.url until the block ends."""

    def __init__(
        self,
        app: Starlette,
        host: str = "127.0.0.1",
        start_seconds: float = 10,
        serve: ServeSettings | None = None,
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        settings = serve or getattr(app.state, "serve_settings", None) or ServeSettings()
        self.app = app
        self.server = uvicorn.Server(server_config(app, settings, lifespan="off"))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.start_seconds = start_seconds

    def _run(self) -> None:
        asyncio.run(serve_guarded(self.server, sockets=[self.sock]))

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + self.start_seconds
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STOP_SECONDS)
        self.sock.close()
        close_app(self.app, timeout=STOP_SECONDS)
