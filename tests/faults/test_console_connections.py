"""The web console shares the daemon's loop and descriptors: idle connections cannot crowd it.

Hostile inputs (expected result):
- a connection that never sends a request head -> closed after the head deadline;
- more idle connections than the cap -> the oldest idle ones make room; a real request is answered;
- a request head that never ends (bytes without a blank line) -> closed at the deadline.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from daemon.web.server import ConsoleServer
from tests.faults.test_hostile_serve import closed_by_server, open_idle

HEAD_SECONDS = 0.6
CAP = 8


@pytest.fixture()
def console() -> Iterator[ConsoleServer]:
    app = Starlette(routes=[Route("/health", lambda _: PlainTextResponse("ok"))])
    server = ConsoleServer(app, "127.0.0.1", 0, header_seconds=HEAD_SECONDS, max_connections=CAP)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    serving = asyncio.run_coroutine_threadsafe(server.serve(), loop)
    asyncio.run_coroutine_threadsafe(server.ready.wait(), loop).result(10)
    assert server.started
    yield server
    loop.call_soon_threadsafe(server.stop)
    serving.result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def health(server: ConsoleServer) -> int:
    return requests.get(f"http://127.0.0.1:{server.port}/health", timeout=3).status_code


def test_a_silent_connection_is_closed_at_the_head_deadline(console: ConsoleServer) -> None:
    (sock,) = open_idle(console.port, 1)
    assert closed_by_server(sock, HEAD_SECONDS + 2)


def test_an_endless_request_head_is_closed_at_the_deadline(console: ConsoleServer) -> None:
    (sock,) = open_idle(console.port, 1, b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: ")
    assert closed_by_server(sock, HEAD_SECONDS + 2)


def test_a_flood_of_idle_connections_does_not_lock_out_a_request(console: ConsoleServer) -> None:
    flood = open_idle(console.port, CAP * 3)
    try:
        assert health(console) == 200
    finally:
        for sock in flood:
            sock.close()
