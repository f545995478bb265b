"""The box as a Home Assistant satellite, driven by a fake Home Assistant built from the wyoming
package's client: a whole turn (wake, streamed microphone, HA's reply played, `played` only
once the speaker has drained, follow-up), timers, pause, errors, barge-in, one controller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import pytest
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk as WireChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.timer import TimerFinished, TimerStarted
from wyoming.tts import Synthesize
from wyoming.vad import VoiceStarted, VoiceStopped

from daemon.audio.frames import FRAME_SAMPLES, AudioChunk, AudioFrame
from daemon.config import SatelliteSettings
from daemon.wyoming.box import Earcon, TimerEvent
from daemon.wyoming.satellite import Satellite, SatelliteServer
from tests.fixtures.wyoming import client, read_until

WAKE = "hey_jarvis_v0.1"


class FakeBox:
    """Records what the satellite asks of the box; its speaker drains when told to."""

    def __init__(self) -> None:
        self.played: list[AudioChunk] = []
        self.earcons: list[Earcon] = []
        self.timers: list[TimerEvent] = []
        self.drained = asyncio.Event()
        self.stopped = 0
        self.speaker_stuck = False  # play() blocks until cancelled, like a long reply
        self.cut = 0

    async def play(self, chunk: AudioChunk) -> None:
        self.played.append(chunk)
        if self.speaker_stuck:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cut += 1
                raise

    async def drain(self) -> None:
        await self.drained.wait()

    async def stop_playback(self) -> None:
        self.stopped += 1

    async def earcon(self, kind: Earcon) -> None:
        self.earcons.append(kind)

    def timer(self, event: TimerEvent) -> None:
        self.timers.append(event)


def frames(count: int, start: float = 0.0) -> list[AudioFrame]:
    return [
        AudioFrame(np.full(FRAME_SAMPLES, i + 1, dtype=np.int16), start + i * 0.08)
        for i in range(count)
    ]


@asynccontextmanager
async def satellite(follow_up: float = 4.0) -> AsyncIterator[tuple[Satellite, FakeBox, int]]:
    box = FakeBox()
    settings = SatelliteSettings(host="127.0.0.1", port=0, area="kitchen", max_stream_seconds=2)
    sat = Satellite(box, settings, [WAKE], follow_up_seconds=follow_up)
    async with SatelliteServer(sat) as server:
        yield sat, box, server.port


async def controller(port: int) -> AsyncTcpClient:
    """Connect as Home Assistant does: run-satellite, then describe; returns after `info`."""
    ha = client(port)
    await ha.connect()
    await ha.write_event(RunSatellite().event())
    await ha.write_event(Describe().event())
    await read_until(ha, lambda e: e.type == "info")
    return ha


async def sync(ha: AsyncTcpClient) -> list[Event]:
    """Ping and read up to the pong: everything sent before it has been handled."""
    await ha.write_event(Ping(text="sync").event())
    return (await read_until(ha, lambda e: e.type == "pong"))[:-1]


async def nothing_more(ha: AsyncTcpClient) -> bool:
    try:
        await asyncio.wait_for(ha.read_event(), 0.3)
    except TimeoutError:
        return True
    return False


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def run(coroutine: object) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 30))  # type: ignore[arg-type]


def test_describe_tells_home_assistant_it_is_a_satellite() -> None:
    async def scenario() -> None:
        async with satellite() as (_, _, port), client(port) as ha:
            await ha.write_event(Describe().event())
            info = Info.from_event((await read_until(ha, lambda e: e.type == "info"))[-1])
            assert info.satellite is not None and info.satellite.area == "kitchen"
            assert info.satellite.active_wake_words == [WAKE]
            assert info.wake[0].models[0].phrase == "hey jarvis"
            await ha.write_event(Ping(text="hi").event())
            pong = await read_until(ha, lambda e: e.type == "pong")
            assert pong[-1].data["text"] == "hi"

    run(scenario())


def test_a_whole_turn_through_home_assistant() -> None:
    async def scenario() -> None:
        async with satellite() as (sat, box, port):
            ha = await controller(port)
            assert await sat.wake(WAKE, preroll=frames(2))
            for frame in frames(5, start=0.16):
                sat.hear(frame)
            start = await read_until(ha, lambda e: e.type == "run-pipeline")
            assert types(start) == ["detection", "run-pipeline"]
            assert start[0].data["name"] == WAKE
            assert start[1].data["start_stage"] == "asr" and start[1].data["end_stage"] == "tts"
            assert start[1].data["wake_word_name"] == WAKE
            mic = [await ha.read_event() for _ in range(7)]  # pre-roll and what followed
            assert all(e is not None and e.type == "audio-chunk" for e in mic)
            levels = [int(np.frombuffer(e.payload, "<i2")[0]) for e in mic if e and e.payload]
            assert levels == [1, 2, 1, 2, 3, 4, 5]
            assert mic[0] is not None and mic[0].data["rate"] == 16000

            for event in (VoiceStarted(), VoiceStopped(), Transcript(text="what time is it")):
                await ha.write_event(event.event())
            await sync(ha)
            assert not sat.streaming
            sat.hear(frames(1)[0])  # no longer streamed
            assert box.earcons == [Earcon.WAKE, Earcon.END]

            reply = np.arange(2048 * 3, dtype="<i2").tobytes()
            await ha.write_event(Synthesize(text="It is noon.").event())
            await ha.write_event(AudioStart(22050, 2, 1).event())
            for at in range(0, len(reply), 4096):
                await ha.write_event(WireChunk(22050, 2, 1, reply[at : at + 4096]).event())
            await ha.write_event(AudioStop().event())
            assert await sync(ha) == []  # not `played`: the speaker has not drained yet
            assert len(box.played) == 3 and box.played[0].sample_rate == 22050
            box.drained.set()
            assert types(await read_until(ha, lambda e: e.type == "played")) == ["played"]

            assert await sat.speech_started(preroll=frames(1))  # follow-up, no wake word
            follow = await read_until(ha, lambda e: e.type == "run-pipeline")
            assert "wake_word_name" not in follow[-1].data
            await ha.write_event(Error(text="no intent", code="intent-failed").event())
            await sync(ha)
            assert not sat.streaming and box.earcons[-1] == Earcon.ERROR
            await ha.disconnect()

    run(scenario())


def test_the_follow_up_window_closes() -> None:
    async def scenario() -> None:
        async with satellite(follow_up=0.0) as (sat, box, port):
            ha = await controller(port)
            await ha.write_event(AudioStart(16000, 2, 1).event())  # an announcement
            await ha.write_event(WireChunk(16000, 2, 1, bytes(3200)).event())
            await ha.write_event(AudioStop().event())
            box.drained.set()
            await read_until(ha, lambda e: e.type == "played")
            assert not await sat.speech_started()
            assert await nothing_more(ha)
            await ha.disconnect()

    run(scenario())


def test_timers_pause_and_a_wake_with_no_home_assistant() -> None:
    async def scenario() -> None:
        async with satellite() as (sat, box, port):
            assert not await sat.wake(WAKE)  # nobody drives the box yet
            assert box.earcons == [Earcon.ERROR]
            ha = await controller(port)
            await ha.write_event(TimerStarted(id="t1", total_seconds=60, name="tea").event())
            await ha.write_event(TimerFinished(id="t1").event())
            await sync(ha)
            assert [(t.kind, t.id, t.seconds, t.name) for t in box.timers] == [
                ("started", "t1", 60, "tea"),
                ("finished", "t1", None, None),
            ]
            assert box.earcons[-1] == Earcon.TIMER
            await ha.write_event(PauseSatellite().event())
            await sync(ha)
            assert not await sat.wake(WAKE)
            assert await nothing_more(ha)
            await ha.write_event(RunSatellite().event())
            await sync(ha)
            assert await sat.wake(WAKE)
            await ha.disconnect()

    run(scenario())


def test_barge_in_stops_the_reply_and_starts_a_new_request() -> None:
    async def scenario() -> None:
        async with satellite() as (sat, box, port):
            ha = await controller(port)
            box.speaker_stuck = True
            await ha.write_event(AudioStart(22050, 2, 1).event())
            for _ in range(3):
                await ha.write_event(WireChunk(22050, 2, 1, bytes(4096)).event())
            await sync(ha)
            assert sat.playing and len(box.played) == 1  # the rest waits for the speaker
            assert await sat.wake(WAKE)
            events = await read_until(ha, lambda e: e.type == "run-pipeline")
            assert types(events) == ["played", "detection", "run-pipeline"]
            assert box.stopped == 1 and box.cut == 1 and not sat.playing
            box.speaker_stuck = False
            await ha.write_event(WireChunk(22050, 2, 1, bytes(4096)).event())  # old reply's rest
            await ha.write_event(AudioStop().event())  # ...is not played
            await ha.write_event(AudioStart(22050, 2, 1).event())  # the next reply plays
            await ha.write_event(WireChunk(22050, 2, 1, bytes(4096)).event())
            await ha.write_event(AudioStop().event())
            box.drained.set()
            assert types(await read_until(ha, lambda e: e.type == "played")) == ["played"]
            assert len(box.played) == 2
            await ha.disconnect()

    run(scenario())


def test_one_controller_at_a_time() -> None:
    async def scenario() -> None:
        async with satellite() as (sat, _, port):
            first = await controller(port)
            second = await controller(port)  # answered `info`, but does not drive the box
            assert await sat.wake(WAKE)
            assert types(await read_until(first, lambda e: e.type == "run-pipeline"))[0] == (
                "detection"
            )
            assert await nothing_more(second)
            await first.disconnect()
            await sync(second)
            assert not sat.connected
            await second.write_event(RunSatellite().event())
            await sync(second)
            assert await sat.wake(WAKE)
            assert (await read_until(second, lambda e: e.type == "detection"))[-1].data["name"]
            await second.disconnect()

    run(scenario())


@pytest.mark.parametrize(
    "garbage",
    [b"not json\n", b'{"type": "audio-chunk", "payload_length": 99999999999}\n'],
    ids=["not-json", "huge-payload"],
)
def test_a_bad_frame_drops_the_controller_and_frees_the_box(garbage: bytes) -> None:
    async def scenario() -> None:
        async with satellite() as (sat, _, port):
            ha = await controller(port)
            assert sat.connected
            assert ha._writer is not None
            ha._writer.write(garbage)
            assert await ha.read_event() is None  # dropped
            await asyncio.sleep(0.05)
            assert not sat.connected
            other = await controller(port)
            await other.write_event(RunSatellite().event())
            await sync(other)
            assert sat.connected
            await other.disconnect()

    run(scenario())


def test_the_microphone_stream_ends_at_its_cap() -> None:
    async def scenario() -> None:
        async with satellite() as (sat, _, port):
            ha = await controller(port)
            assert await sat.wake(WAKE)
            for frame in frames(30):  # 2.4 s; the cap is 2 s
                sat.hear(frame)
            events = await read_until(ha, lambda e: e.type == "audio-stop")
            assert types(events).count("audio-chunk") == 25  # 25 x 80 ms
            assert not sat.streaming
            await ha.disconnect()

    run(scenario())


class RecordingSink:
    def __init__(self) -> None:
        self.chunks: list[AudioChunk] = []

    async def play(self, chunk: AudioChunk) -> None:
        self.chunks.append(chunk)

    async def drain(self) -> None:
        return None

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("enabled", [True, False])
def test_the_sink_box_plays_earcons_as_configured_and_always_rings(enabled: bool) -> None:
    from daemon.config import EarconSettings
    from daemon.wyoming.box import SinkBox

    sink, heard, timers = RecordingSink(), [], []
    settings = EarconSettings(wake=enabled, end_of_recording=enabled, error=enabled)
    box = SinkBox(sink, settings, on_play=heard.append, on_timer=timers.append)

    async def scenario() -> None:
        for kind in (Earcon.WAKE, Earcon.END, Earcon.ERROR):
            await box.earcon(kind)
        played = len(sink.chunks)
        await box.earcon(Earcon.TIMER)
        assert (played > 0) == enabled and len(sink.chunks) > played
        await box.play(AudioChunk(np.zeros(16000, dtype=np.float32), 16000))
        box.timer(TimerEvent(kind="finished", id="t1"))

    run(scenario())
    assert heard == sink.chunks and max(c.duration for c in sink.chunks) < 0.2  # sliced
    assert timers == [TimerEvent(kind="finished", id="t1")]


# --- the turn machine hands requests to the satellite (mode ha-satellite) ----------------------


class RecordingRemote:
    """What the turn machine gives a remote pipeline: wake words with their lead-in, frames."""

    def __init__(self) -> None:
        self.wakes: list[tuple[str, float]] = []
        self.frames = 0
        self.follow_ups = 0
        self.follow_up_open = False  # set as if Home Assistant's reply had just been played

    def hear(self, frame) -> None:  # type: ignore[no-untyped-def]
        self.frames += 1

    async def wake(self, name: str, preroll=()) -> bool:  # type: ignore[no-untyped-def]
        self.wakes.append((name, sum(f.duration for f in preroll)))
        self.follow_up_open = True  # (the reply "plays" at once)
        return True

    async def speech_started(self, preroll=()) -> bool:  # type: ignore[no-untyped-def]
        self.follow_ups += 1
        self.follow_up_open = False
        return True


def satellite_rig():  # type: ignore[no-untyped-def]
    """A Rig whose Assistant hands requests to a RecordingRemote (mode ha-satellite)."""
    from tests.fixtures.fakes import Rig

    rig, remote = Rig(), RecordingRemote()
    original = rig.assistant

    def with_remote():  # type: ignore[no-untyped-def]
        assistant = original()
        assistant.remote = remote
        return assistant

    rig.assistant = with_remote  # type: ignore[method-assign]
    return rig, remote


def test_in_satellite_mode_a_wake_word_goes_to_home_assistant_not_the_local_pipeline() -> None:
    from tests.fixtures.fakes import request

    rig, remote = satellite_rig()
    timeline = request().silence(3)
    rig.run(timeline)
    assert [name for name, _ in remote.wakes] == ["fake_wake"]
    assert remote.frames == len(timeline.frames())  # every frame offered to the stream
    assert rig.turns == [] and rig.asr.fed_samples == 0 and rig.tts.texts == []


def test_in_satellite_mode_speech_after_home_assistants_reply_is_a_follow_up() -> None:
    from tests.fixtures.fakes import Timeline

    rig, remote = satellite_rig()
    rig.run(Timeline().silence(1).wake().silence(1.5).speech(1.0).silence(2))
    assert len(remote.wakes) == 1 and remote.follow_ups == 1
    assert rig.turns == [] and rig.asr.fed_samples == 0
