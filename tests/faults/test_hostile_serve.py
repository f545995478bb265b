"""`voiced serve` attacked (issue 15), on 127.0.0.1 only, each attack bounded in count and time.

The real app and the real hardened uvicorn (daemon/serve/server.py) on scripted engines: what is
under test is the transport and the request checks, not the models. Each row of the table is an
attack and the answer the server must give; the server must keep answering /health throughout.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from daemon.config import ServeSettings, load_settings
from daemon.serve.app import Engines, create_app, scrub, speakable
from daemon.serve.server import BackgroundServer, RateLimitedLog, connection_cap
from tests.fixtures.fakes import ScriptedAsr, ScriptedTts

KEY = "hostile-test-key"
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
MAX_CONNECTIONS = 24
LIMITS = (
    f"{{api_keys_env: VOICED_HOSTILE_KEY, capacity: 2, header_seconds: 0.6, body_seconds: 1.0, "
    f"max_connections: {MAX_CONNECTIONS}, max_seed_voices: 2}}"
)


class ExplodingTts(ScriptedTts):
    """A library error whose text carries a Python object address."""

    def synthesize(self, text: str, persona: Any) -> Iterator[Any]:
        if "explode" in text:
            raise RuntimeError(f"cannot use {object()!r}")
        yield from super().synthesize(text, persona)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    folder = tmp_path_factory.mktemp("hostile-serve")
    (folder / "persona.yaml").write_text("name: Jarvis\nlanguage: en\nsystem_prompt: hi\n")
    (folder / "voiced.yaml").write_text(f"models_dir: {folder / 'models'}\nserve: {LIMITS}\n")
    mp = pytest.MonkeyPatch()
    mp.setenv("VOICED_HOSTILE_KEY", KEY)
    settings = load_settings(folder / "voiced.yaml")
    engines = Engines(ScriptedAsr(text="hello"), ExplodingTts(), settings.persona)
    with BackgroundServer(create_app(settings, engines)) as running:
        yield running
    mp.undo()


def health(url: str) -> int:
    return requests.get(url + "/health", timeout=2).status_code


def speak(url: str, body: bytes | dict[str, Any]) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(url + "/v1/audio/speech", data=data, headers=AUTH, timeout=10)


def open_idle(port: int, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def trickle(port: int, results: list[str], seconds: float = 1.6) -> None:
    """A keyed request whose body comes one byte every 0.2 s, for `seconds`; then its answer."""
    body = json.dumps({"input": "hello there, a slow body"}).encode()
    head = (
        "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    deadline = time.monotonic() + seconds
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode())
        for byte in body:
            if time.monotonic() > deadline:
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        try:
            results.append(sock.recv(200).decode(errors="replace").split("\r\n")[0])
        except OSError as exc:
            results.append(type(exc).__name__)


# --- the table: attack -> what the server must answer ---------------------------------------

REQUEST_ATTACKS: dict[str, tuple[Callable[[str], requests.Response], int, str]] = {
    "JSON nested 200,000 deep": (
        lambda u: speak(u, b'{"input": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"),
        400,
        "invalid_json",
    ),
    "emoji-only text": (lambda u: speak(u, {"input": "😀😀🎉"}), 400, "unspeakable_input"),
    "punctuation-only text": (lambda u: speak(u, {"input": "?!…，。"}), 400, "unspeakable_input"),
    "library error with an object address": (
        lambda u: speak(u, {"input": "please explode"}),
        500,
        "tts-failed",
    ),
}


@pytest.mark.parametrize("attack", list(REQUEST_ATTACKS))
def test_bad_requests_get_a_clean_error(server: BackgroundServer, attack: str) -> None:
    make, status, code = REQUEST_ATTACKS[attack]
    response = make(server.url)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert "0x" not in response.text and "object at" not in response.text
    assert speak(server.url, {"input": "hello"}).status_code == 200


def test_idle_connections_are_closed_and_health_answers_throughout(
    server: BackgroundServer,
) -> None:
    idle = open_idle(server.port, MAX_CONNECTIONS * 2)  # twice the cap, sending nothing
    half = open_idle(server.port, 4, b"GET /health HTTP/1.1\r\nHo")  # half a request head
    try:
        assert [health(server.url) for _ in range(3)] == [200, 200, 200]
        assert speak(server.url, {"input": "hello"}).status_code == 200
        # each one is gone by its head deadline (0.6 s), or earlier to make room
        assert all(closed_by_server(sock, 2.0) for sock in [*idle, *half])
    finally:
        for sock in [*idle, *half]:
            sock.close()
    assert health(server.url) == 200


def test_slow_bodies_cannot_hold_the_capacity(server: BackgroundServer) -> None:
    results: list[str] = []
    senders = [threading.Thread(target=trickle, args=(server.port, results)) for _ in range(4)]
    for sender in senders:
        sender.start()
    try:
        time.sleep(0.5)  # all four are inside, trickling; capacity is 2
        assert speak(server.url, {"input": "hello"}).status_code == 200
        assert health(server.url) == 200
    finally:
        for sender in senders:
            sender.join(timeout=10)
    assert results == ["HTTP/1.1 408 Request Timeout"] * 4


def test_seed_voices_are_bounded(server: BackgroundServer) -> None:
    for seed in (101, 102, 101):  # the limit is 2 distinct seeds; a known one stays usable
        assert speak(server.url, {"input": "hi", "voice": f"seed-{seed}"}).status_code == 200
    refused = speak(server.url, {"input": "hi", "voice": "seed-103"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "too_many_voices"
    assert speak(server.url, {"input": "hi", "voice": "seed-102"}).status_code == 200


# --- the pieces, as units ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("hello", True), ("你好", True), ("42", True), ("😀", False), ("?!…，。 ", False),
     ("", False)],  # fmt: skip
)
def test_speakable(text: str, expected: bool) -> None:
    assert speakable(text) is expected


def test_scrub_removes_object_addresses() -> None:
    message = f"bad value {object()!r} and 0x7f3a2b1c9d00"
    assert "0x" not in scrub(message) and "bad value" in scrub(message)


def test_connection_cap_stays_below_the_descriptor_limit() -> None:
    assert connection_cap(512, 1024) == 512
    assert connection_cap(4096, 1024) == 1024 - 64
    assert connection_cap(10, 20) == 1


def test_repeated_events_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="daemon.serve")
    limited = RateLimitedLog("accept() failed", every=60)
    for _ in range(1000):
        limited.note()
    assert len(caplog.records) == 1 and limited.count == 999


def test_serve_settings_bound_the_new_limits(tmp_path: Path) -> None:
    serve = ServeSettings()
    assert serve.header_seconds <= 30 and serve.body_seconds <= 120
    assert 1 <= serve.max_connections < 1024 and serve.max_seed_voices > 0
