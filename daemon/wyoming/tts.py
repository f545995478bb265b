"""Synthesis over Wyoming: `synthesize` (one audio stream) and the streaming form
(`synthesize-start`, text chunks, `synthesize-stop`), which is spoken sentence by sentence as
the text arrives, one audio-start/audio-stop pair per sentence, then `synthesize-stopped`.

A sentence takes the TTS model's lease only while it is being generated: the audio goes to a
queue that the connection empties at the client's own pace, so a client that reads slowly keeps
nobody else from the model (the text limit bounds what one sentence can queue).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from wyoming.audio import AudioStart, AudioStop
from wyoming.tts import SynthesizeStopped, SynthesizeVoice

from daemon.audio.frames import AudioChunk
from daemon.config import Persona
from daemon.errors import ErrorCode, StageError
from daemon.tts.base import Synthesizer
from daemon.tts.chunker import SentenceChunker
from daemon.wyoming.audio import wire_chunks
from daemon.wyoming.info import persona_for_voice
from daemon.wyoming.lanes import Lane

if TYPE_CHECKING:
    from daemon.wyoming.handler import Connection

__all__ = ["TtsJob"]

_DONE = object()


def _produce(
    synthesizer: Synthesizer,
    text: str,
    persona: Persona,
    stop: threading.Event,
    put: Callable[[object], None],
) -> None:
    """On the model's thread: every chunk of one sentence, then _DONE (or the error)."""
    chunks = synthesizer.synthesize(text, persona)
    try:
        for chunk in chunks:
            if stop.is_set():
                break
            put(chunk)
        put(_DONE)
    except Exception as exc:  # handed to the connection, which reports it to its client
        put(exc)
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()


class TtsJob:
    def __init__(self, conn: Connection, lane: Lane) -> None:
        assert conn.engines.synthesizer is not None
        self.conn, self.lane = conn, lane
        self.synthesizer = conn.engines.synthesizer
        self.chars = 0
        self.chunker: SentenceChunker | None = None
        self.persona = conn.engines.persona

    def _persona(self, voice: SynthesizeVoice | None) -> Persona:
        engines = self.conn.engines
        return persona_for_voice(engines.persona, voice, engines.tts_backend)

    def _count(self, text: str) -> None:
        self.chars += len(text)
        self.conn.check_text(self.chars)

    @property
    def streaming(self) -> bool:
        return self.chunker is not None

    async def synthesize(self, text: str, voice: SynthesizeVoice | None) -> None:
        """One-shot: the whole text in one call, exactly as `voiced say` speaks it."""
        self._count(text)
        if text.strip():
            await self._speak(text.strip(), self._persona(voice))
        else:
            await self._silence()

    async def start(self, voice: SynthesizeVoice | None) -> None:
        self.chunker = SentenceChunker()
        self.persona = self._persona(voice)

    async def chunk(self, text: str) -> None:
        assert self.chunker is not None
        self._count(text)
        for sentence in self.chunker.push(text):
            await self._speak(sentence, self.persona)

    async def stop(self) -> None:
        assert self.chunker is not None
        for sentence in self.chunker.flush():
            await self._speak(sentence, self.persona)
        self.chunker = None
        await self.conn.write(SynthesizeStopped().event())

    async def _silence(self) -> None:
        await self.conn.write(AudioStart(rate=16000, width=2, channels=1).event())
        await self.conn.write(AudioStop().event())

    async def _speak(self, text: str, persona: Persona) -> None:
        await self.lane.acquire()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        work = self.lane.submit(_produce, self.synthesizer, text, persona, stop, put)
        work.add_done_callback(lambda _: self.lane.release())
        try:
            seconds = await self._send(queue)
        finally:
            stop.set()
        self.conn.log_done("tts", f"chars={len(text)} audio={seconds:.2f}s")

    async def _send(self, queue: asyncio.Queue[object]) -> float:
        rate, seconds = 0, 0.0
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, StageError):
                raise item
            if isinstance(item, Exception):
                raise StageError(ErrorCode.TTS_FAILED, f"{type(item).__name__}: {item}")
            assert isinstance(item, AudioChunk)
            if not rate:
                rate = item.sample_rate
                await self.conn.write(AudioStart(rate=rate, width=2, channels=1).event())
            seconds += item.duration
            for piece in wire_chunks(item, rate):
                await self.conn.write(piece.event())
        if not rate:
            raise StageError(ErrorCode.TTS_FAILED, "the voice produced no audio")
        await self.conn.write(AudioStop().event())
        return seconds
