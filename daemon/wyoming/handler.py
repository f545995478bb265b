"""One Wyoming connection to `voiced wyoming`: read an event, act, answer; drop on abuse.

All services share one port: the request event says what the connection is for (`transcribe`
-> ASR, `synthesize*` -> TTS, `detect` -> wake; audio with no request is for ASR, as clients
that skip `transcribe` expect). Per connection:

- a frame that is not a Wyoming event, or is over `max_event_bytes`, or an event whose fields
  are the wrong type, drops this connection (one log line); unknown event types are ignored;
- more audio than `max_audio_seconds` or text than `max_text_chars` is refused with an `error`
  event and the connection is dropped;
- while it holds a model (an utterance, a wake stream) it must keep pace with real time within
  `pace_seconds`, else it is dropped and the model goes to the next client; otherwise a
  connection silent for `idle_seconds` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, TypeVar

from wyoming.asr import Transcribe
from wyoming.error import Error
from wyoming.event import Event, Eventable, async_write_event
from wyoming.ping import Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeVoice
from wyoming.wake import Detect

from daemon.config import WyomingSettings
from daemon.errors import StageError
from daemon.wake.base import WakeDetector
from daemon.wyoming.asr import AsrJob
from daemon.wyoming.audio import BadAudio
from daemon.wyoming.engines import Engines
from daemon.wyoming.framing import BadFrame, read_event
from daemon.wyoming.info import build_info
from daemon.wyoming.lanes import Busy, Lane, Pool
from daemon.wyoming.tts import TtsJob
from daemon.wyoming.wake import WakeJob

__all__ = ["Connection", "Dropped", "Services"]

log = logging.getLogger("daemon.wyoming")
E = TypeVar("E", bound=Eventable)
LINGER_SECONDS = 1.0  # after an error, what the client still sends is read and dropped
LINGER_BYTES = 4_000_000
Job = AsrJob | TtsJob | WakeJob


class Dropped(Exception):
    """End this connection, telling the client why (an `error` event) when it can be told."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class Services:
    """What every connection shares: the models, their lanes and the `info` answer."""

    def __init__(self, engines: Engines, settings: WyomingSettings) -> None:
        self.engines, self.settings = engines, settings
        self.info = build_info(engines).event()
        self.asr = Lane("asr", settings.queue) if engines.transcriber else None
        self.tts = Lane("tts", settings.queue) if engines.synthesizer else None
        self.wake: Pool[WakeDetector] | None = None
        if engines.wake is not None and engines.make_wake is not None:
            self.wake = Pool("wake", settings.wake_streams, engines.make_wake, engines.wake)

    def close(self) -> None:
        for worker in (self.asr, self.tts, self.wake):
            if worker is not None:
                worker.close()


def _parse(kind: type[E], event: Event) -> E:
    try:
        parsed = kind.from_event(event)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadFrame(f"{event.type} is malformed ({type(exc).__name__}: {exc})") from None
    return parsed  # type: ignore[return-value]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadFrame(f"{what} must be text")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _voice(voice: SynthesizeVoice | None) -> SynthesizeVoice | None:
    if voice is not None:
        for field in (voice.name, voice.language, voice.speaker):
            _optional_text(field, "voice fields")
    return voice


class Connection(AsyncEventHandler):
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, services: Services
    ) -> None:
        super().__init__(reader, writer)
        self.services = services
        self.engines = services.engines
        self.limits = services.settings
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "-"
        self.job: Job | None = None
        self._held_since: float | None = None
        self._audio_seconds = 0.0

    # --- what jobs call -------------------------------------------------------------------

    async def write(self, event: Event) -> None:
        """Send one event; a client that stops reading for idle_seconds is dropped."""
        try:
            await asyncio.wait_for(async_write_event(event, self.writer), self.limits.idle_seconds)
        except TimeoutError:
            raise Dropped("too-slow", "the client does not read what it asked for") from None

    def hold_model(self) -> None:
        self._held_since, self._audio_seconds = time.monotonic(), 0.0

    def release_model(self) -> None:
        self._held_since = None

    def audio_received(self, seconds: float) -> None:
        self._audio_seconds = seconds
        if seconds > self.limits.max_audio_seconds:
            limit = self.limits.max_audio_seconds
            raise Dropped("audio-too-long", f"more than {limit:g} s of audio")

    def check_text(self, chars: int) -> None:
        if chars > self.limits.max_text_chars:
            raise Dropped("text-too-long", f"more than {self.limits.max_text_chars} characters")

    def log_done(self, service: str, detail: str) -> None:
        log.info("wyoming %s from=%s %s", service, self.peer, detail)

    # --- the read loop --------------------------------------------------------------------

    def _read_timeout(self) -> float:
        if self._held_since is None:
            return self.limits.idle_seconds
        deadline = self._held_since + self._audio_seconds + self.limits.pace_seconds
        return max(0.01, deadline - time.monotonic())

    async def _next(self) -> Event | None:
        read = read_event(self.reader, self.limits.max_event_bytes)
        try:
            return await asyncio.wait_for(read, self._read_timeout())
        except TimeoutError:
            if self._held_since is None:
                log.debug("wyoming connection from %s idle: closed", self.peer)
                return None
            raise Dropped("too-slow", "the audio does not keep pace with real time") from None

    async def run(self) -> None:
        try:
            while (event := await self._next()) is not None:
                if not await self.handle_event(event):
                    break
        except Dropped as drop:
            log.warning("wyoming connection from %s dropped: %s", self.peer, drop.text)
            await self._tell(Error(text=drop.text, code=drop.code))
        except (BadFrame, BadAudio) as bad:
            log.warning("wyoming connection from %s dropped: %s", self.peer, bad)
        except Busy as busy:
            log.warning("wyoming connection from %s refused: %s", self.peer, busy)
            await self._tell(Error(text=str(busy), code="busy"))
        except StageError as err:
            log.warning("wyoming request from %s failed: %s", self.peer, err)
            await self._tell(Error(text=err.detail, code=str(err.code)))
        except (ConnectionError, asyncio.IncompleteReadError):
            log.debug("wyoming connection from %s lost", self.peer)
        except Exception as exc:  # a library's own error: one client's problem, not the server's
            log.warning(
                "wyoming request from %s failed: %s: %s", self.peer, type(exc).__name__, exc
            )
            await self._tell(Error(text=f"{type(exc).__name__}: {exc}", code="internal"))
        finally:
            await self._end_job()
            self.writer.close()

    async def _tell(self, error: Error) -> None:
        """Send the error, then close gently: a client still sending would otherwise get a
        reset instead of the error (the kernel resets a socket closed with unread data)."""
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError, OSError):
            await asyncio.wait_for(async_write_event(error.event(), self.writer), 1.0)
            self.writer.write_eof()
            await asyncio.wait_for(self._discard(LINGER_BYTES), LINGER_SECONDS)

    async def _discard(self, limit: int) -> None:
        while limit > 0 and (data := await self.reader.read(min(limit, 65536))):
            limit -= len(data)

    async def _end_job(self) -> None:
        job, self.job = self.job, None
        if isinstance(job, AsrJob | WakeJob):
            await job.close()

    # --- events ---------------------------------------------------------------------------

    async def handle_event(self, event: Event) -> bool:
        kind = event.type
        if kind == "describe":
            await self.write(self.services.info)
        elif kind == "ping":
            await self.write(Pong(text=_optional_text(event.data.get("text"), "text")).event())
        elif kind == "transcribe":
            await self._transcribe(_parse(Transcribe, event))
        elif kind == "detect":
            await self._detect(_parse(Detect, event))
        elif kind in ("audio-start", "audio-chunk", "audio-stop"):
            await self._audio(event)
        elif kind.startswith("synthesize"):
            await self._synthesis(event)
        else:
            log.debug("wyoming: ignored %s from %s", kind, self.peer)
        return True

    async def _transcribe(self, request: Transcribe) -> None:
        if self.services.asr is None:
            raise Dropped("not-served", "this server does not serve speech recognition")
        await self._end_job()
        self.job = AsrJob(self, self.services.asr, _optional_text(request.language, "language"))

    async def _detect(self, request: Detect) -> None:
        if self.services.wake is None:
            raise Dropped("not-served", "this server does not serve wake word detection")
        names = request.names
        if names is not None and not (
            isinstance(names, list) and all(isinstance(n, str) for n in names)
        ):
            raise BadFrame("detect names must be a list of text")
        await self._end_job()
        self.job = WakeJob(self, self.services.wake, names)

    async def _audio(self, event: Event) -> None:
        if self.job is None and self.services.asr is not None and event.type != "audio-stop":
            self.job = AsrJob(self, self.services.asr, None)
        job = self.job
        if not isinstance(job, AsrJob | WakeJob):
            log.debug("wyoming: %s with no request from %s ignored", event.type, self.peer)
            return
        if event.type == "audio-start":
            await job.audio_start(event.data)
        elif event.type == "audio-chunk":
            await job.audio_chunk(event.data, event.payload)
        else:
            await job.audio_stop()
            if isinstance(job, AsrJob):
                self.job = None

    async def _synthesis(self, event: Event) -> None:
        lane = self.services.tts
        if lane is None:
            raise Dropped("not-served", "this server does not serve speech synthesis")
        job = self.job if isinstance(self.job, TtsJob) else None
        streaming = job is not None and job.streaming
        if event.type == "synthesize" and not streaming:  # inside a stream: the compat copy
            request = _parse(Synthesize, event)
            await TtsJob(self, lane).synthesize(_text(request.text, "text"), _voice(request.voice))
        elif event.type == "synthesize-start":
            await self._end_job()
            self.job = TtsJob(self, lane)
            await self.job.start(_voice(_parse(SynthesizeStart, event).voice))
        elif event.type == "synthesize-chunk" and job is not None and streaming:
            await job.chunk(_text(_parse(SynthesizeChunk, event).text, "text"))
        elif event.type == "synthesize-stop" and job is not None and streaming:
            await job.stop()
            self.job = None
        elif event.type != "synthesize":
            log.debug("wyoming: %s outside a stream from %s ignored", event.type, self.peer)
