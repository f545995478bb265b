"""The console's HTTP guards (token, CSRF, Host, sizes, no key rendered), its event hub and
persona store, over a scripted backend (no model, no browser)."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from daemon.config import Deadlines, EndpointSettings, LlmTimeouts
from daemon.doctor import Check
from daemon.llm.responder import Responder
from daemon.turn.machine import Assistant, Stages, TurnSettings
from daemon.wake.base import WakeHit
from daemon.web.app import MAX_CHAT_BYTES, create_console
from daemon.web.backend import ConsoleTurn
from daemon.web.hub import ConsoleTap, EventHub, level_dbfs
from daemon.web.persona import PersonaStore
from daemon.web.security import COOKIE, Guard, is_loopback, load_token
from tests.fixtures.fakes import (
    PERSONA as TESTY,
)
from tests.fixtures.fakes import (
    EnergyVad,
    MarkerWake,
    RecordingSink,
    ScriptedAsr,
    ScriptedChat,
    ScriptedTts,
    Timeline,
)

TIMEOUTS = LlmTimeouts(connect_seconds=1, first_token_seconds=1, total_seconds=3)

TOKEN = "console-token-for-tests"
KEY = "sk-never-rendered-5555"
PERSONA = "name: Jarvis\nlanguage: en\nsystem_prompt: You are Jarvis.\n"
CSRF = {"X-Voiced-Console": "1"}


class FakeBackend:
    def __init__(self, folder: Path) -> None:
        self.hub = EventHub()
        path = folder / "persona.yaml"
        path.write_text(PERSONA)
        self.reloads = 0
        self.persona = PersonaStore(path, self._reload)
        self.asked: list[str] = []
        self.heard: list[np.ndarray] = []

    def _reload(self) -> bool:
        self.reloads += 1
        return True

    def summary(self) -> dict[str, Any]:
        return {"persona": {"name": "Jarvis", "language": "en"}, "llm": {"model": "m"}}

    def turn_log(self) -> Path | None:
        return None

    async def chat(self, text: str) -> ConsoleTurn:
        self.asked.append(text)
        return ConsoleTurn(len(self.asked), text, "Hi.", "llm:m", "ok", audio=b"RIFFfake")

    async def talk(self, samples: np.ndarray) -> ConsoleTurn:
        self.heard.append(samples)
        return ConsoleTurn(99, "what time is it", "It's noon.", "intent:time", "ok", via="talk")

    async def health(self) -> list[Check]:
        return [Check("ok", "llm", "m at http://127.0.0.1:1/v1")]


def client(
    tmp_path: Path, bound: str = "127.0.0.1", peer: str = "127.0.0.1", token: bool = False
) -> tuple[TestClient, FakeBackend]:
    backend = FakeBackend(tmp_path)
    app = create_console(backend, Guard(TOKEN, bound))
    headers = {"host": "127.0.0.1:8765" if is_loopback(bound) else f"{bound}:8765"}
    test = TestClient(app, base_url=f"http://{headers['host']}", client=(peer, 50000))
    test.headers.update(headers)
    if token:
        test.cookies.set(COOKIE, TOKEN)
    return test, backend


def wav_bytes(seconds: float, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    sf.write(out, np.zeros(int(seconds * rate), dtype=np.int16), rate, format="WAV")
    return out.getvalue()


# --- who may read and write ---------------------------------------------------------------------


def test_loopback_reads_are_open_and_the_page_has_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANY_KEY", KEY)
    test, _ = client(tmp_path)
    for path in ("/", "/api/summary", "/api/persona", "/api/health", "/api/turns"):
        answer = test.get(path)
        assert answer.status_code == 200, path
        assert KEY not in answer.text
        assert answer.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_a_non_local_client_needs_the_token_for_everything(tmp_path: Path) -> None:
    test, _ = client(tmp_path, bound="0.0.0.0", peer="203.0.113.7")
    assert test.get("/").status_code == 401
    for path in ("/api/summary", "/api/events", "/api/persona", "/api/turns", "/api/audio/1"):
        assert test.get(path).status_code == 401, path
    test.cookies.set(COOKIE, TOKEN)
    assert test.get("/api/persona").json()["text"] == PERSONA


def test_token_in_the_url_logs_in_with_a_strict_httponly_cookie(tmp_path: Path) -> None:
    test, _ = client(tmp_path, bound="0.0.0.0", peer="203.0.113.7")
    answer = test.get(f"/?token={TOKEN}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert test.get("/?token=wrong", follow_redirects=False).status_code == 401


WRITES = [
    ("put", "/api/persona", {"json": {"text": PERSONA}}),
    ("post", "/api/chat", {"json": {"text": "hello"}}),
    ("post", "/api/talk", {"content": wav_bytes(0.5), "headers": {"content-type": "audio/wav"}}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[w[1] for w in WRITES])
def test_every_write_needs_the_token_and_the_csrf_header_even_on_loopback(
    tmp_path: Path, method: str, path: str, body: dict[str, Any]
) -> None:
    test, backend = client(tmp_path)
    headers = {**body.pop("headers", {}), **CSRF}
    assert getattr(test, method)(path, headers=headers, **body).status_code == 401
    test.cookies.set(COOKIE, TOKEN)
    no_csrf = {k: v for k, v in headers.items() if k != "X-Voiced-Console"}
    assert getattr(test, method)(path, headers=no_csrf, **body).status_code == 403
    foreign = {**headers, "origin": "http://evil.example"}
    assert getattr(test, method)(path, headers=foreign, **body).status_code == 403
    assert not backend.asked and not backend.heard and backend.reloads == 0
    own = {**headers, "origin": "http://127.0.0.1:8765"}
    assert getattr(test, method)(path, headers=own, **body).status_code == 200


def test_bearer_token_works_for_scripts(tmp_path: Path) -> None:
    test, backend = client(tmp_path)
    auth = {**CSRF, "authorization": f"Bearer {TOKEN}"}
    answer = test.post("/api/chat", json={"text": "hello"}, headers=auth)
    assert answer.json()["reply"] == "Hi." and backend.asked == ["hello"]
    assert test.get(answer.json()["audio_url"]).content == b"RIFFfake"


def test_a_rebinding_host_is_refused_on_loopback(tmp_path: Path) -> None:
    test, _ = client(tmp_path, token=True)
    assert test.get("/api/summary", headers={"host": "evil.example:8765"}).status_code == 421
    answer = test.post(
        "/api/chat", json={"text": "x"}, headers={**CSRF, "host": "evil.example:8765"}
    )
    assert answer.status_code == 421


HOSTILE = {
    "not json": ({"content": b"{nope", "headers": {"content-type": "application/json"}}, 400),
    "form post": ({"data": {"text": "hi"}}, 400),
    "json list": ({"json": ["hi"]}, 400),
    "empty text": ({"json": {"text": "  "}}, 400),
    "text not a string": ({"json": {"text": 5}}, 400),
    "too large": ({"json": {"text": "x" * (MAX_CHAT_BYTES + 1)}}, 413),
    "lying length": (
        {
            "content": b"{}",
            "headers": {"content-type": "application/json", "content-length": "9999999"},
        },
        413,
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_chat_bodies_get_a_clear_4xx(tmp_path: Path, case: str) -> None:
    test, backend = client(tmp_path, token=True)
    body, status = HOSTILE[case]
    headers = {**body.pop("headers", {}), **CSRF}
    answer = test.post("/api/chat", headers=headers, **body)
    assert answer.status_code == status
    assert answer.json()["error"]["message"]
    assert not backend.asked


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty_audio"),
        (b"this is not audio at all", "not_audio"),
        (b"RIFF1234WAVEjunk", "truncated_audio"),
        (wav_bytes(31), "audio_too_long"),
    ],
    ids=["empty", "not audio", "truncated", "too long"],
)
def test_bad_push_to_talk_audio_is_refused(tmp_path: Path, body: bytes, code: str) -> None:
    test, backend = client(tmp_path, token=True)
    answer = test.post("/api/talk", content=body, headers={**CSRF, "content-type": "audio/wav"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert not backend.heard


def test_push_to_talk_over_the_size_limit_is_413(tmp_path: Path) -> None:
    test, backend = client(tmp_path, token=True)
    answer = test.post(
        "/api/talk", content=wav_bytes(70), headers={**CSRF, "content-type": "audio/wav"}
    )
    assert answer.status_code == 413 and not backend.heard


def test_push_to_talk_resamples_to_16k(tmp_path: Path) -> None:
    test, backend = client(tmp_path, token=True)
    answer = test.post(
        "/api/talk", content=wav_bytes(1.0, 48000), headers={**CSRF, "content-type": "audio/wav"}
    )
    assert answer.json()["via"] == "talk"
    assert len(backend.heard[0]) == 16000


# --- persona editor ----------------------------------------------------------------------------


def test_invalid_persona_names_file_and_field_and_changes_nothing(tmp_path: Path) -> None:
    test, backend = client(tmp_path, token=True)
    bad = PERSONA.replace("language: en", "language: fr")
    answer = test.put("/api/persona", json={"text": bad}, headers=CSRF)
    assert answer.status_code == 400
    err = answer.json()["error"]
    assert err["field"] == "language" and err["file"].endswith("persona.yaml")
    assert err["message"].endswith("language: Input should be 'en' or 'zh' (got 'fr')")
    assert backend.persona.read() == PERSONA and backend.reloads == 0
    broken = test.put("/api/persona", json={"text": "name: [unclosed"}, headers=CSRF)
    assert "not valid YAML: line 1" in broken.json()["error"]["message"]


def test_valid_persona_is_saved_atomically_keeping_its_mode_and_reloaded(tmp_path: Path) -> None:
    test, backend = client(tmp_path, token=True)
    os.chmod(backend.persona.path, 0o640)
    edited = PERSONA.replace("Jarvis", "小智").replace("language: en", "language: zh")
    answer = test.put("/api/persona", json={"text": edited}, headers=CSRF)
    assert answer.json() == {"ok": True, "name": "小智", "language": "zh"}
    assert backend.persona.read() == edited and backend.reloads == 1
    assert backend.persona.path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["persona.yaml"], "no temporary file left"


# --- token, hub, levels ------------------------------------------------------------------------


def test_token_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "console-token"
    token = load_token(path)
    assert len(token) >= 32 and path.stat().st_mode & 0o777 == 0o600
    assert load_token(path) == token


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
        ("", False),
        ("example.com", False),
    ],
)
def test_loopback_addresses(host: str, local: bool) -> None:
    assert is_loopback(host) is local


def test_hub_costs_nothing_unwatched_and_drops_the_oldest_for_a_slow_reader() -> None:
    async def go() -> list[int]:
        hub = EventHub(queue_events=3)
        hub.publish("state", {"state": "recording"})
        assert hub.last_state == {"state": "recording"}
        with hub.subscribe() as queue:
            for n in range(5):
                hub.publish("turn", {"n": n})
            return [queue.get_nowait().data["n"] for _ in range(queue.qsize())]

    assert asyncio.run(go()) == [2, 3, 4]


def test_tap_sends_levels_ten_times_a_second_with_the_peak_wake_score() -> None:
    async def go() -> list[dict[str, Any]]:
        now = [0.0]
        hub = EventHub()
        tap = ConsoleTap(hub, clock=lambda: now[0])
        loud = np.full(1280, 3277, dtype=np.int16)  # -20 dBFS
        tap.frame(loud, 0.1)  # nobody watches: nothing kept
        with hub.subscribe() as queue:
            for i, score in enumerate([0.2, 0.9, 0.3, 0.1]):
                now[0] = i * 0.04
                tap.frame(loud, score)
            now[0] = 0.2
            tap.frame(loud, None)
            return [queue.get_nowait().data for _ in range(queue.qsize())]

    first, second = asyncio.run(go())
    assert first == {"dbfs": -20.0, "wake": 0.2}
    assert second == {"dbfs": -20.0, "wake": 0.9}


@given(st.lists(st.integers(-32768, 32767), max_size=2000))
def test_level_is_bounded(values: list[int]) -> None:
    level = level_dbfs(np.array(values, dtype=np.int16))
    assert -100.0 <= level <= 0.0 + 1e-9
    json.dumps(level)


class ScoringWake(MarkerWake):
    """The marker wake word, telling the score of each frame as openWakeWord does."""

    latest = 0.0

    def process(self, samples: np.ndarray) -> WakeHit | None:
        hit = super().process(samples)
        self.latest = 0.97 if hit else 0.01
        return hit


def test_the_turn_machine_sends_each_frames_wake_score_to_the_tap_throttled() -> None:
    """The listener's score of every frame reaches the console, at most ten events a second
    of audio, each with the peak score since the last one (so the wake frame is never lost)."""
    frames = Timeline().silence(1).wake().silence(0.24).frames()
    events: list[dict[str, Any]] = []

    async def go() -> None:
        hub = EventHub()
        stages = Stages(
            ScoringWake(), EnergyVad(), ScriptedAsr(), Responder(ScriptedChat(), TIMEOUTS, TESTY),
            ScriptedTts(), RecordingSink(),
        )  # fmt: skip
        settings = TurnSettings(
            endpoint=EndpointSettings(), deadlines=Deadlines(asr=1, tts_chunk=1)
        )
        assistant: Assistant | None = None
        tap = ConsoleTap(hub, clock=lambda: assistant.clock.now if assistant else 0.0)
        assistant = Assistant(stages, settings, lambda: TESTY, on_frame=tap.frame)
        with hub.subscribe() as queue:
            try:
                for frame in frames:
                    assistant.clock.advance_to(frame.end)
                    await assistant.on_frame(frame)
            finally:
                await assistant.close()
            events.extend(queue.get_nowait().data for _ in range(queue.qsize()))

    asyncio.run(go())
    scores = [event["wake"] for event in events]
    assert len(frames) // 2 <= len(scores) <= len(frames) // 2 + 1  # 80 ms frames, 0.1 s apart
    woke = scores.index(0.97)
    assert set(scores[:woke]) == {0.01}  # every frame scored while listening for the wake word
    assert set(scores[woke + 1 :]) == {0.0}  # recording: the wake word is not scored
