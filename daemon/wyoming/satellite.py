"""mode ha-satellite: the box as a Home Assistant voice satellite over Wyoming.

Home Assistant connects to the box (default port 10700), sends `run-satellite` and `describe`,
and pings every few seconds. The box keeps its own wake word: on a wake it sends `detection`
and `run-pipeline` (ASR to TTS) and streams its microphone until Home Assistant has heard the
end of the request (`voice-stopped`, `transcript` or `error`), or max_stream_seconds. Home
Assistant's reply (and any announcement) arrives as audio-start/chunk/stop; it is played, and
`played` is sent once the speaker has drained, which also opens the follow-up window (speech in
it starts a new request without the wake word). Timer events go to the box's timers;
`pause-satellite` stops everything until the next `run-satellite`.

One controller at a time: the first connection that sends `run-satellite` drives the box until
it disconnects; any other connection is answered `info` and `pong` and otherwise ignored.
Playback and the microphone stream run in their own tasks, so pings are answered at once even
while a long reply plays. Wire format is read with the bounded reader of `voiced wyoming`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import numpy as np
from wyoming.audio import AudioChunk as WireChunk
from wyoming.audio import AudioStop
from wyoming.event import Event, async_write_event
from wyoming.info import Info
from wyoming.info import Satellite as SatelliteInfo
from wyoming.ping import Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.snd import Played
from wyoming.wake import Detection

from daemon.audio.frames import SAMPLE_RATE, AudioChunk, AudioFrame, int16_to_float
from daemon.config import SatelliteSettings
from daemon.wyoming.audio import BadAudio, Incoming, check_format
from daemon.wyoming.box import Earcon, SatelliteBox, TimerEvent
from daemon.wyoming.framing import BadFrame, read_event
from daemon.wyoming.info import VOICED, about, wake_program
from daemon.wyoming.listener import Listener

__all__ = ["Satellite", "SatelliteServer"]

log = logging.getLogger("daemon.wyoming.satellite")
MAX_EVENT_BYTES = 1_000_000
WRITE_SECONDS = 5.0  # Home Assistant gives up on a silent satellite after 5 s
MIC_QUEUE_FRAMES = 50  # 4 s of 80 ms frames
MAX_QUEUED_SECONDS = 600.0  # of Home Assistant audio waiting for the speaker
ENDS_REQUEST = ("voice-stopped", "transcript", "error")
TIMER_KINDS = {"timer-started", "timer-updated", "timer-cancelled", "timer-finished"}
_DRAINED = object()


class Peer:
    """One connection from Home Assistant; writes are serialized and bounded in time."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self._lock = asyncio.Lock()
        peer = writer.get_extra_info("peername")
        self.name = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "-"

    async def write(self, event: Event) -> None:
        async with self._lock:
            await asyncio.wait_for(async_write_event(event, self.writer), WRITE_SECONDS)


def satellite_info(settings: SatelliteSettings, wake_names: Sequence[str]) -> Info:
    satellite = SatelliteInfo(
        **about(settings.name, VOICED, VOICED.description, ours=True),
        area=settings.area,
        has_vad=False,  # Home Assistant finds the end of speech
        active_wake_words=list(wake_names),
        max_active_wake_words=len(wake_names),
        supports_trigger=False,
    )
    return Info(wake=[wake_program(list(wake_names), [])], satellite=satellite)


class Satellite:
    """The satellite's state. The box calls wake(), hear() and speech_started() from the event
    loop thread; SatelliteServer hands it each Home Assistant connection."""

    def __init__(
        self,
        box: SatelliteBox,
        settings: SatelliteSettings,
        wake_names: Sequence[str],
        follow_up_seconds: float = 0.0,
    ) -> None:
        self.box, self.settings = box, settings
        self.info = satellite_info(settings, wake_names).event()
        self.follow_up_seconds = follow_up_seconds
        self.controller: Peer | None = None
        self.running = False  # run-satellite received and not paused
        self._mic: asyncio.Queue[AudioFrame] = asyncio.Queue(MIC_QUEUE_FRAMES)
        self._streamer: asyncio.Task[None] | None = None
        self._speaker: asyncio.Queue[object] = asyncio.Queue()
        self._player: asyncio.Task[None] | None = None
        self._incoming: Incoming | None = None
        self._queued_seconds = 0.0
        self._follow_up_until = 0.0
        self.playing = False

    # --- what the box calls ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.controller is not None and self.running

    @property
    def streaming(self) -> bool:
        return self._streamer is not None and not self._streamer.done()

    @property
    def follow_up_open(self) -> bool:
        """Home Assistant's reply has been heard and speech now would be a new request."""
        loop = asyncio.get_running_loop()
        return self.connected and not self.streaming and loop.time() <= self._follow_up_until

    async def wake(self, name: str, preroll: Sequence[AudioFrame] = ()) -> bool:
        """The box heard its wake word: hand the request to Home Assistant. False (and the
        error earcon) when no Home Assistant drives the box."""
        if not self.connected:
            log.info("satellite: wake word %s but Home Assistant is not connected", name)
            await self.box.earcon(Earcon.ERROR)
            return False
        if self.playing:  # barge-in: the reply stops, a new request starts
            await self._stop_playback()
        await self._send(Detection(name=name).event())
        await self._start_request(name, preroll)
        return True

    def hear(self, frame: AudioFrame) -> None:
        """A microphone frame; streamed while a request runs, else dropped. Never blocks."""
        if not self.streaming:
            return
        if self._mic.full():
            self._mic.get_nowait()
        self._mic.put_nowait(frame)

    async def speech_started(self, preroll: Sequence[AudioFrame] = ()) -> bool:
        """The box's VAD heard speech: inside the follow-up window it is a new request."""
        loop = asyncio.get_running_loop()
        if not self.connected or self.streaming or loop.time() > self._follow_up_until:
            return False
        self._follow_up_until = 0.0
        await self._start_request(None, preroll)
        return True

    # --- requests ----------------------------------------------------------------------------

    async def _start_request(self, wake_name: str | None, preroll: Sequence[AudioFrame]) -> None:
        await self._stop_stream(tell=False)
        run = RunPipeline(
            start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS, wake_word_name=wake_name
        )
        await self._send(run.event())
        await self.box.earcon(Earcon.WAKE)
        self._mic = asyncio.Queue(MIC_QUEUE_FRAMES)
        for frame in list(preroll)[-MIC_QUEUE_FRAMES:]:
            self._mic.put_nowait(frame)
        self._streamer = asyncio.create_task(self._stream(), name="satellite-mic")
        log.info("satellite: request started (%s)", wake_name or "follow-up")

    async def _stream(self) -> None:
        """Microphone frames to Home Assistant until it has heard enough (or the cap)."""
        sent = 0.0
        while sent < self.settings.max_stream_seconds:
            frame = await self._mic.get()
            pcm = frame.samples.astype("<i2").tobytes()
            chunk = WireChunk(SAMPLE_RATE, 2, 1, pcm, timestamp=round(sent * 1000))
            await self._send(chunk.event())
            sent += frame.duration
        log.info("satellite: microphone stream hit its %.0f s cap", sent)
        await self._send(AudioStop(timestamp=round(sent * 1000)).event())

    async def _stop_stream(self, tell: bool) -> None:
        streamer, self._streamer = self._streamer, None
        if streamer is not None and not streamer.done():
            streamer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, TimeoutError):
                await streamer
            if tell:
                await self._send(AudioStop().event())

    async def _send(self, event: Event) -> None:
        controller = self.controller
        if controller is None:
            return
        try:
            await controller.write(event)
        except (ConnectionError, TimeoutError, RuntimeError):
            log.warning("satellite: Home Assistant at %s stopped reading", controller.name)
            controller.writer.close()

    # --- playback ------------------------------------------------------------------------------

    async def _play(self) -> None:
        """The speaker task: Home Assistant's audio in order; `played` once drained."""
        while True:
            item = await self._speaker.get()
            if item is _DRAINED:
                await self.box.drain()
                self.playing = False
                self._queued_seconds = 0.0
                await self._send(Played().event())
                self._open_follow_up()
                continue
            assert isinstance(item, AudioChunk)
            self._queued_seconds -= item.duration
            await self.box.play(item)

    def _open_follow_up(self) -> None:
        if self.follow_up_seconds > 0:
            self._follow_up_until = asyncio.get_running_loop().time() + self.follow_up_seconds

    async def _stop_playback(self) -> None:
        """Barge-in: what is queued is dropped and what is being played is cut (a cancelled
        sink.play stops writing at once)."""
        while not self._speaker.empty():
            self._speaker.get_nowait()
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
            self.start()
        self._incoming, self._queued_seconds = None, 0.0
        await self.box.stop_playback()
        if self.playing:
            self.playing = False
            await self._send(Played().event())

    def _audio_start(self, data: dict) -> None:
        check_format(data)
        self._incoming = Incoming()
        self.playing = True

    def _audio_chunk(self, data: dict, payload: bytes | None) -> None:
        if self._incoming is None:  # no audio-start, or the rest of a reply cut by a barge-in
            return
        form, audio = check_format(data), payload or b""
        if form.width == 2 and form.channels == 1 and len(audio) % 2 == 0:  # played as sent
            chunk = AudioChunk(int16_to_float(np.frombuffer(audio, dtype="<i2")), form.rate)
        else:
            chunk = AudioChunk(int16_to_float(self._incoming.convert(data, payload)), SAMPLE_RATE)
        if self._queued_seconds + chunk.duration > MAX_QUEUED_SECONDS:
            raise BadAudio("more audio queued for the speaker than it can play")
        self._queued_seconds += chunk.duration
        self._speaker.put_nowait(chunk)

    def _audio_stop(self) -> None:
        if self._incoming is not None:
            self._incoming = None
            self._speaker.put_nowait(_DRAINED)

    # --- Home Assistant's events -----------------------------------------------------------

    async def handle(self, peer: Peer, event: Event) -> None:
        kind = event.type
        if kind == "describe":
            await peer.write(self.info)
        elif kind == "ping":
            text = event.data.get("text")
            await peer.write(Pong(text=text if isinstance(text, str) else None).event())
        elif kind == "run-satellite":
            await self._run_satellite(peer)
        elif peer is self.controller:
            await self._from_controller(kind, event)
        else:
            log.debug("satellite: %s from %s (not the controller) ignored", kind, peer.name)

    async def _run_satellite(self, peer: Peer) -> None:
        if self.controller not in (None, peer):
            log.warning(
                "satellite: %s wants to drive the box; %s already does",
                peer.name,
                self.controller.name if self.controller else "-",
            )
            return
        self.controller, self.running = peer, True
        log.info("satellite: Home Assistant at %s drives the box", peer.name)

    async def _from_controller(self, kind: str, event: Event) -> None:
        if kind in ENDS_REQUEST:
            await self._request_heard(kind, event)
        elif kind == "audio-start":
            self._audio_start(event.data)
        elif kind == "audio-chunk":
            self._audio_chunk(event.data, event.payload)
        elif kind == "audio-stop":
            self._audio_stop()
        elif kind in TIMER_KINDS:
            await self._timer(kind, event.data)
        elif kind == "pause-satellite":
            await self._pause()
        elif kind == "detection":  # Home Assistant heard a wake word itself
            await self.box.earcon(Earcon.WAKE)
        elif kind == "synthesize":
            text = event.data.get("text")
            log.info("satellite: reply %r", text[:200] if isinstance(text, str) else "")
        else:
            log.debug("satellite: %s from Home Assistant", kind)

    async def _request_heard(self, kind: str, event: Event) -> None:
        was_streaming = self.streaming
        await self._stop_stream(tell=False)
        if kind == "error":
            log.warning(
                "satellite: Home Assistant error %s: %s",
                event.data.get("code"),
                event.data.get("text"),
            )
            await self.box.earcon(Earcon.ERROR)
        elif kind == "transcript":
            text = event.data.get("text")
            log.info("satellite: heard %r", text[:200] if isinstance(text, str) else "")
        if was_streaming and kind != "error":
            await self.box.earcon(Earcon.END)

    async def _timer(self, kind: str, data: dict) -> None:
        timer_id = data.get("id")
        if not isinstance(timer_id, str):
            raise BadFrame(f"{kind} has no timer id")
        seconds = data.get("total_seconds")
        name = data.get("name")
        active = data.get("is_active")
        self.box.timer(
            TimerEvent(
                kind=kind.removeprefix("timer-"),
                id=timer_id,
                seconds=seconds if isinstance(seconds, int) else None,
                name=name if isinstance(name, str) else None,
                active=active if isinstance(active, bool) else None,
            )
        )
        if kind == "timer-finished":
            await self.box.earcon(Earcon.TIMER)

    async def _pause(self) -> None:
        log.info("satellite: paused by Home Assistant")
        self.running = False
        await self._stop_stream(tell=False)
        self._follow_up_until = 0.0

    async def disconnected(self, peer: Peer) -> None:
        if peer is not self.controller:
            return
        log.info("satellite: Home Assistant at %s disconnected", peer.name)
        await self._stop_stream(tell=False)
        self.controller, self.running = None, False
        self._audio_stop()

    def start(self) -> None:
        self._player = asyncio.create_task(self._play(), name="satellite-speaker")

    async def close(self) -> None:
        for task in (self._player, self._streamer):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._player, self._streamer) if t is not None), return_exceptions=True
        )


class SatelliteServer:
    """`async with SatelliteServer(satellite) as server:` listens on settings host:port."""

    def __init__(self, satellite: Satellite) -> None:
        self.satellite = satellite
        settings = satellite.settings
        self._listener = Listener(settings.host, settings.port, MAX_EVENT_BYTES, self._serve)

    @property
    def port(self) -> int:
        return self._listener.port

    async def __aenter__(self) -> SatelliteServer:
        self.satellite.start()
        await self._listener.__aenter__()
        log.info("satellite listening on tcp://%s:%s", self._listener.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._listener.__aexit__(*exc)
        await self.satellite.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(writer)
        try:
            while (event := await read_event(reader, MAX_EVENT_BYTES)) is not None:
                await self.satellite.handle(peer, event)
        except (BadFrame, BadAudio) as bad:
            log.warning("satellite: connection from %s dropped: %s", peer.name, bad)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            log.debug("satellite: connection from %s lost", peer.name)
        finally:
            await self.satellite.disconnected(peer)
