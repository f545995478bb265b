"""`voiced wyoming` against bad and slow clients, with scripted models (no model files).

Each hostile client is dropped (or its event ignored) and the server keeps serving everyone
else; a client that stalls while holding a model loses it; one that does not read its audio
keeps nobody from the model; a full queue answers `busy` at once; `describe` is answered while
every model is busy."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk as WireChunk
from wyoming.audio import AudioStart
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.tts import Synthesize
from wyoming.wake import Detect

from daemon.asr.base import Transcript
from daemon.audio.frames import AudioChunk
from daemon.config import Persona, WyomingSettings, load_persona
from daemon.wake.base import WakeHit
from daemon.wyoming.engines import Engines
from tests.conftest import CONFIG
from tests.fixtures.wyoming import HOST, ServerThread, audio_events, client, read_until, run

MARK = 12345  # a sample value the fake wake detector fires on
LIMITS = WyomingSettings(
    max_audio_seconds=3.0, max_text_chars=200, max_event_bytes=8192, pace_seconds=0.5, queue=1
)


@dataclass
class FakeAsr:
    name: str = "scripted"
    fed: list[int] = field(default_factory=list)

    def start(self) -> FakeAsr:
        self.fed.append(0)
        return self

    def feed(self, samples: np.ndarray) -> None:
        self.fed[-1] += len(samples)

    def finish(self) -> Transcript:
        return Transcript(f"heard {self.fed[-1]} samples", "en")


@dataclass
class FakeTts:
    """1 s of tone per 10 characters; a text with 'hang' waits for `release` first."""

    name: str = "scripted"
    release: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        self.started.set()
        if "hang" in text:
            self.release.wait(10)
        for _ in range(max(1, len(text) // 10)):
            yield AudioChunk(np.full(16000, 0.1, dtype=np.float32), 16000)


class FakeWake:
    name = "fake_v0.1"

    def process(self, samples: np.ndarray) -> WakeHit | None:
        return WakeHit(self.name, 1.0) if (samples == MARK).any() else None

    def reset(self) -> None:
        return None


@pytest.fixture
def tts() -> FakeTts:
    return FakeTts()


@pytest.fixture
def server(tts: FakeTts) -> Iterator[ServerThread]:
    persona = load_persona(CONFIG.parent / "personas" / "en.yaml")
    engines = Engines(
        persona=persona,
        transcriber=FakeAsr(),
        synthesizer=tts,
        tts_backend="chattts",
        wake=FakeWake(),
        make_wake=FakeWake,
    )
    with ServerThread(engines, LIMITS) as served:
        yield served
    tts.release.set()


async def raw(port: int, data: bytes) -> list[bytes]:
    """Send raw bytes; return the lines the server answers before it closes the connection."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()  # a cut event is cut for good
    lines = []
    while line := await asyncio.wait_for(reader.readline(), 10):
        lines.append(line)
        header = json.loads(line)
        await reader.readexactly(header.get("data_length", 0) + header.get("payload_length", 0))
    writer.close()
    return lines


def frame(header: dict, data: bytes = b"", payload: bytes = b"") -> bytes:
    return json.dumps(header).encode() + b"\n" + data + payload


def chunk(rate: object = 16000, width: object = 2, channels: object = 1, audio: bytes = b"\0\0"):
    header = {"type": "audio-chunk", "data": {"rate": rate, "width": width, "channels": channels}}
    return frame({**header, "payload_length": len(audio)}, payload=audio)


TRANSCRIBE = frame({"type": "transcribe"})
DROPPED = [
    pytest.param(b"this is not json\n", id="not-json"),
    pytest.param(b"[1, 2, 3]\n", id="header-not-an-object"),
    pytest.param(frame({"data": {}}), id="no-type"),
    pytest.param(frame({"type": 7}), id="type-not-text"),
    pytest.param(frame({"type": "describe", "data": [1]}), id="data-not-an-object"),
    pytest.param(frame({"type": "describe", "data_length": -4}), id="negative-length"),
    pytest.param(frame({"type": "describe", "data_length": "9"}), id="length-not-a-number"),
    pytest.param(frame({"type": "audio-chunk", "payload_length": 10**12}), id="huge-payload"),
    pytest.param(b'{"type": "describe", "pad": "' + b"x" * 20000, id="endless-header"),
    pytest.param(frame({"type": "x", "data_length": 5}, b"nope!"), id="data-block-not-json"),
    pytest.param(frame({"type": "x", "data_length": 3}, b"[1]"), id="data-block-not-an-object"),
    pytest.param(frame({"type": "audio-chunk", "payload_length": 100}, payload=b"ab"), id="cut"),
    pytest.param(TRANSCRIBE + chunk(rate="fast"), id="rate-not-a-number"),
    pytest.param(TRANSCRIBE + chunk(rate=3), id="rate-out-of-range"),
    pytest.param(TRANSCRIBE + chunk(width=3), id="odd-width"),
    pytest.param(TRANSCRIBE + chunk(audio=b"\0\0\0"), id="half-a-sample"),
    pytest.param(TRANSCRIBE + frame({"type": "audio-start", "data": {}}), id="start-no-format"),
    pytest.param(frame({"type": "transcribe", "data": {"language": 5}}), id="language-number"),
    pytest.param(frame({"type": "synthesize", "data": {}}), id="synthesize-no-text"),
    pytest.param(frame({"type": "synthesize", "data": {"text": ["a"]}}), id="text-not-text"),
    pytest.param(
        frame({"type": "synthesize", "data": {"text": "a", "voice": {"name": [1]}}}),
        id="voice-name-list",
    ),
    pytest.param(frame({"type": "synthesize", "data": {"text": "a", "voice": 3}}), id="voice-3"),
    pytest.param(frame({"type": "detect", "data": {"names": "abc"}}), id="names-not-a-list"),
    pytest.param(frame({"type": "synthesize", "data": {"text": "a" * 300}}), id="text-too-long"),
]


def still_serving(port: int) -> None:
    samples = np.zeros(1600, dtype=np.int16)
    events = run(_ask(port, [Describe().event(), Transcribe().event(), *audio_events(samples)]))
    assert [e.type for e in events] == ["info", "transcript"]
    assert events[-1].data["text"] == "heard 1600 samples"


async def _ask(port: int, events: list[Event], last: str = "transcript") -> list[Event]:
    async with client(port) as conn:
        for event in events:
            await conn.write_event(event)
        return await read_until(conn, lambda e: e.type == last)


@pytest.mark.parametrize("data", DROPPED)
def test_a_bad_event_drops_only_that_connection(server: ServerThread, data: bytes) -> None:
    answered = run(raw(server.port, data))  # returns only once the server has closed it
    assert all(json.loads(line)["type"] == "error" for line in answered)
    still_serving(server.port)


IGNORED = [
    pytest.param(frame({"type": "no-such-event", "data": {"x": 1}}), id="unknown-type"),
    pytest.param(frame({"type": "select-program", "data": {"name": "x"}}), id="select-program"),
    pytest.param(frame({"type": "synthesize-chunk", "data": {"text": "hi"}}), id="chunk-no-start"),
    pytest.param(frame({"type": "synthesize-stop"}), id="stop-no-start"),
    pytest.param(frame({"type": "audio-stop"}), id="stop-no-audio"),
]


@pytest.mark.parametrize("data", IGNORED)
def test_an_unexpected_event_is_ignored(server: ServerThread, data: bytes) -> None:
    async def then_describe() -> list[bytes]:
        reader, writer = await asyncio.open_connection(HOST, server.port)
        writer.write(data + frame({"type": "describe"}))
        line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        return [line]

    assert json.loads(run(then_describe())[0])["type"] == "info"


def test_too_much_audio_is_refused_with_an_error(server: ServerThread) -> None:
    samples = np.zeros(16000 * 4, dtype=np.int16)
    events = run(_ask(server.port, [Transcribe().event(), *audio_events(samples)], "error"))
    assert events[-1].data["code"] == "audio-too-long"
    still_serving(server.port)


def test_a_stalled_stream_loses_the_model_to_the_next_client(server: ServerThread) -> None:
    async def stall_then_other() -> tuple[list[Event], list[Event]]:
        async with client(server.port) as stalled:
            await stalled.write_event(Transcribe().event())
            await stalled.write_event(AudioStart(16000, 2, 1).event())
            await stalled.write_event(WireChunk(16000, 2, 1, bytes(3200)).event())
            await asyncio.sleep(0.1)  # it holds the model now, and sends nothing more
            samples = np.zeros(1600, dtype=np.int16)
            other = await _ask(server.port, [Transcribe().event(), *audio_events(samples)])
            return await read_until(stalled, lambda e: e.type == "error"), other

    stalled, other = run(stall_then_other())
    assert stalled[-1].data["code"] == "too-slow"
    assert other[-1].data["text"] == "heard 1600 samples"


def test_a_full_queue_answers_busy_at_once(server: ServerThread, tts: FakeTts) -> None:
    async def three() -> list[Event]:
        async with client(server.port) as first, client(server.port) as second:
            await first.write_event(Synthesize(text="hang on").event())
            await asyncio.to_thread(tts.started.wait, 5)
            await second.write_event(Synthesize(text="queued").event())  # queue: 1 waiting
            await asyncio.sleep(0.2)
            third = await _ask(server.port, [Synthesize(text="one too many").event()], "error")
            tts.release.set()
            await read_until(first, lambda e: e.type == "audio-stop")
            await read_until(second, lambda e: e.type == "audio-stop")
            return third

    assert run(three())[-1].data["code"] == "busy"


def test_describe_is_answered_while_the_models_are_busy(server: ServerThread, tts: FakeTts) -> None:
    async def describe_during_synthesis() -> list[Event]:
        async with client(server.port) as busy:
            await busy.write_event(Synthesize(text="hang on").event())
            await asyncio.to_thread(tts.started.wait, 5)
            info = await _ask(server.port, [Describe().event()], "info")
            assert not tts.release.is_set()  # the synthesis is still running
            tts.release.set()
            await read_until(busy, lambda e: e.type == "audio-stop")
            return info

    assert run(describe_during_synthesis())[-1].type == "info"


def test_a_client_that_never_reads_keeps_nobody_from_the_voice(server: ServerThread) -> None:
    async def hoard_then_other() -> list[Event]:
        reader, writer = await asyncio.open_connection(HOST, server.port)
        writer.write(frame({"type": "synthesize", "data": {"text": "x" * 190}}))  # 19 s audio
        await writer.drain()  # ...and never reads a byte of it
        other = await _ask(server.port, [Synthesize(text="short one.").event()], "audio-stop")
        writer.close()
        return other

    assert run(hoard_then_other())[-1].type == "audio-stop"


def test_wake_streams_past_the_pool_are_busy_and_hits_are_reported(server: ServerThread) -> None:
    marked = np.zeros(16000, dtype=np.int16)
    marked[8000] = MARK

    async def streams() -> tuple[list[Event], list[Event]]:
        async with client(server.port) as one, client(server.port) as two:
            for conn in (one, two):  # the pool holds two detectors (wake_streams)
                await conn.write_event(Detect().event())
                await conn.write_event(AudioStart(16000, 2, 1).event())
                await conn.write_event(WireChunk(16000, 2, 1, bytes(2560)).event())
            start = [Detect().event(), AudioStart(16000, 2, 1).event()]
            third = await _ask(server.port, start, "error")
            for event in audio_events(marked)[1:]:
                await one.write_event(event)
            return third, await read_until(one, lambda e: e.type == "detection")

    third, hit = run(streams())
    assert third[-1].data["code"] == "busy"
    assert hit[-1].data["name"] == "fake_v0.1" and hit[-1].data["timestamp"] == 640
